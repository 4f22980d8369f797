"""Creates the benchmark's advisors with verified console sessions, printed as JSON, and the
writing relay's table (bench/relay.py).
Run with the server's environment: `python -m bench.prepare --advisors 20 --capacity 60`."""

import argparse
import json
import os

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--advisors", type=int, required=True)
    parser.add_argument("--capacity", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from agents.models import StaffProfile
    from bench.relay import TABLE_DDL
    from chat.models import Queue

    with connection.cursor() as cursor:  # the writing relay's table
        cursor.execute(TABLE_DDL)

    queues = list(Queue.objects.all())
    cookies = []
    for n in range(args.advisors):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-advisor-{n}")
        profile, _ = StaffProfile.objects.update_or_create(
            user=user,
            defaults={"display_name": f"Bench{n}", "capacity": args.capacity, "availability": "on_shift"},
        )
        profile.queues.set(queues)
        device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "bench"})
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    print(json.dumps(cookies))  # noqa: T201


if __name__ == "__main__":
    main()
