from agents import services
from config.celery import app


@app.task(acks_late=True, ignore_result=True)
def statistics_roll_up() -> int:
    return services.statistics_roll_up()
