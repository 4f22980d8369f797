"""The project's settings, URLs and entry points.

The Celery application (config/celery.py) is not imported here, unlike in Celery's Django guide:
a daphne process would then load Celery (megabytes of its memory) without sending a task. Each tasks
module binds its tasks to it, so a process that sends one (or `celery -A config`) has it.
"""
