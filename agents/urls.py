from django.urls import path

from agents import signin, views

urlpatterns = [
    path(
        "accounts/login/",
        signin.SignInView.as_view(),
        name="login",
    ),
    path("accounts/two-factor/", views.two_factor, name="two_factor"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("console/", views.advisor_console, name="advisor_console"),
    path("console/supervisor/", views.supervisor_console, name="supervisor_console"),
    path("console/reports/", views.reports_page, name="reports"),
]
