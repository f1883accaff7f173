"""A worker process that dies with os._exit in the middle of dispatching (tests/reminders/test_exactly_once.py).

    python -m tests.engage.reminders.crash_worker in_transaction|after_commit <iso now>

in_transaction: dies after claiming due doses, before the transaction that claimed them commits.
after_commit: dies right after that transaction committed, before any reminder was written to the outbox.
"""

import os
import sys
from datetime import datetime

import django


def main() -> None:
    mode, now = sys.argv[1], datetime.fromisoformat(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings.test")
    django.setup()
    from django.db import transaction

    from engage.reminders.services import doses_dispatch

    def hook(ids):
        print(f"claimed {len(ids)}", flush=True)
        if mode == "in_transaction":
            os._exit(9)
        transaction.on_commit(lambda: os._exit(9))  # runs before the gateway's own on-commit dispatches

    doses_dispatch(now=now, after_claim=hook, max_batches=1)
    print("survived", flush=True)


if __name__ == "__main__":
    main()
