"""The project's settings, URLs and entry points.

The Celery application (config/celery.py) is not imported here, unlike in Celery's Django guide:
a process that never sends a task need not load Celery. The apps' tasks are `shared_task`s, so
no app imports config; they are bound to the application by whichever process loads it: the
worker and beat (`celery -A config`), and a web process with its URLs (config/health.py asks the
workers how they are).
"""
