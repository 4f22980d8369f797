from django.urls import path

from chat import figures_views

urlpatterns = [
    path("console/reports/figures/", figures_views.figures_page, name="figures"),
    path("console/reports/figures/print/", figures_views.figures_print, name="figures_print"),
    path("console/api/record-options/", figures_views.record_options_api, name="record_options"),
    path(
        "console/api/conversations/<uuid:conversation_id>/record/",
        figures_views.contact_record_api,
        name="contact_record",
    ),
]
