"""Runs the sending task once in a separate process, which the test hook may kill mid-way (os._exit).

Usage: python -m tests.engage.messaging.crash_worker <message_id> [<message_id> …] (several: one batch), or
`--send-now <idempotency key>`: a one-time SMS to +8613800138000 through message_enqueue(send_now=True);
env: DATABASE_URL, REDIS_URL, ENGAGE_MESSAGING_CRASH_AT, ENGAGE_TEST_SETTINGS (JSON of settings to override, e.g.
the fake server URLs).
"""

import json
import os
import sys

import django


def main(args: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings.test")
    django.setup()
    from django.conf import settings

    for name, value in json.loads(os.environ.get("ENGAGE_TEST_SETTINGS", "{}")).items():
        setattr(settings, name, value)
    from engage.messaging.services import message_enqueue, messages_deliver_now
    from tests.engage.messaging import fixtures_templates  # registers the test template

    if args[0] == "--send-now":
        message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder",
                        params=fixtures_templates.PARAMS, idempotency_key=args[1], send_now=True)
    else:
        messages_deliver_now(message_ids=[int(arg) for arg in args])


if __name__ == "__main__":
    main(sys.argv[1:])
