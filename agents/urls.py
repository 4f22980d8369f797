from django.contrib.auth import views as auth_views
from django.urls import path

from agents import status_views, views

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=False),
        name="login",
    ),
    path("accounts/two-factor/", views.two_factor, name="two_factor"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("console/", views.advisor_console, name="advisor_console"),
    path("console/supervisor/", views.supervisor_console, name="supervisor_console"),
    path("console/reports/", views.reports_page, name="reports"),
    path("console/status/", status_views.staff_status, name="staff_status"),
]
