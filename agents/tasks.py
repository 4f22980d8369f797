from agents import services
from config.celery import app


@app.task(acks_late=True, ignore_result=True)
def statistics_roll_up() -> int:
    return services.statistics_roll_up()


@app.task(acks_late=True, ignore_result=True)
def sessions_clear() -> None:
    """Deletes expired staff sessions from the session store (they are refused anyway, but would
    otherwise stay in the database); idempotent."""
    from importlib import import_module

    from django.conf import settings

    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
