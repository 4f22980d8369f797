from celery import shared_task

from agents import services


@shared_task(acks_late=True, ignore_result=True)
def statistics_roll_up() -> int:
    return services.statistics_roll_up()
