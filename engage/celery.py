"""The Celery app. Tasks live in each area's tasks.py (`members/points/tasks.py`, `engage/reminders/tasks.py` …),
found by walking the installed apps' packages, so a new area needs no registration here."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

from engage.core.discovery import area_modules

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings.dev")

app = Celery("engage")
app.config_from_object("django.conf:settings", namespace="CELERY")


def task_packages() -> list[str]:
    """Every project app and area package that has a tasks.py."""
    return [module.rpartition(".")[0] for module in area_modules("tasks")]


app.autodiscover_tasks()
app.autodiscover_tasks(task_packages)


# Database connections in a worker process: Celery's Django fix-up (5.5 and later, prefork pool) closes the whole
# connection pool before and after every task unless CELERY_DB_REUSE_MAX is set, so each task opened two new
# PostgreSQL connections (a backend forked, authenticated and its caches warmed: more database CPU than a reminder
# task's statements) and lost its prepared statements. The fix-up still closes the pool a forked child inherits
# (worker_process_init); between tasks the connections go back to the pool as after a web request: Django's
# `close_old_connections` returns a healthy one (CONN_MAX_AGE=0) and discards a broken one.
app.conf.CELERY_DB_REUSE_MAX = 1 << 62


@task_prerun.connect
@task_postrun.connect
def _connections_back_to_the_pool(task=None, **kwargs) -> None:
    from django.db import close_old_connections

    # An eager task runs inside its caller, on the caller's connection and transaction: left alone.
    if task is not None and not getattr(task.request, "is_eager", False):
        close_old_connections()
