from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = "Risk and referrals"

    def ready(self) -> None:
        from risk import checks  # noqa: F401  (registers the signing-key deployment checks)
