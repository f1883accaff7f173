"""The Celery app. Tasks live in each area's tasks.py (`members/points/tasks.py`, `engage/reminders/tasks.py` …),
found by walking the installed apps' packages, so a new area needs no registration here."""

import os

from celery import Celery

from engage.core.discovery import area_modules

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings.dev")

app = Celery("engage")
app.config_from_object("django.conf:settings", namespace="CELERY")


def task_packages() -> list[str]:
    """Every project app and area package that has a tasks.py."""
    return [module.rpartition(".")[0] for module in area_modules("tasks")]


app.autodiscover_tasks()
app.autodiscover_tasks(task_packages)
