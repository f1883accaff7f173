"""Runs the sending task once in a separate process, which the test hook may kill mid-way (os._exit).

Usage: python -m tests.engage.messaging.crash_worker <message_id> [<message_id> …] (several: one batch);
env: DATABASE_URL, REDIS_URL, ENGAGE_MESSAGING_CRASH_AT, ENGAGE_TEST_SETTINGS (JSON of settings to override, e.g.
the fake server URLs).
"""

import json
import os
import sys

import django


def main(message_ids: list[int]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings.test")
    django.setup()
    from django.conf import settings

    for name, value in json.loads(os.environ.get("ENGAGE_TEST_SETTINGS", "{}")).items():
        setattr(settings, name, value)
    from engage.messaging.services import messages_deliver_now
    from tests.engage.messaging import fixtures_templates  # noqa: F401  (the test template)

    messages_deliver_now(message_ids=message_ids)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
