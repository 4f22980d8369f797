from django.urls import path

from agents import passkeys, signin, views

urlpatterns = [
    path(
        "accounts/login/",
        signin.SignInView.as_view(),
        name="login",
    ),
    path("accounts/two-factor/", views.two_factor, name="two_factor"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("accounts/passkeys/", passkeys.passkeys_page, name="passkeys"),
    path("accounts/passkeys/<int:passkey_id>/remove/", passkeys.passkey_remove, name="passkey_remove"),
    path("console/", views.advisor_console, name="advisor_console"),
    path("console/supervisor/", views.supervisor_console, name="supervisor_console"),
]
