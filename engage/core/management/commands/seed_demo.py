"""`manage.py seed_demo`: the demo portal — people and hospitals, content, meetings, points, reminders — for a
first look. Every area registers its seeder in its demo.py (engage.core.demo); this command runs them in order in
one transaction and writes one audit entry.

Idempotent: every demo row has a natural key (department code, hospital name + city, username, …); the seeders
create the rows that are missing and never change or delete a row, so `make run` can call it on every start.
"""

import logging
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from engage.audit.services import audit_log
from engage.core.demo import DemoRun, demo_seed_all


class Command(BaseCommand):
    help = "Creates demo hospitals, 200 doctors, 10 reps, one log-in per staff role and their activity; idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true",
            help="Run even when DEBUG is off. Demo log-ins have a published password: never on production.",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create demo log-ins with DEBUG off (they have a published password). "
                "Pass --force to seed anyway."
            )
        try:
            with _quiet(options["verbosity"]), transaction.atomic():
                run = demo_seed_all()
                if sum(run.created.values()):
                    audit_log(actor=None, action="demo.seed", reason="manage.py seed_demo",
                              after={"created": dict(run.created), "found": dict(run.found)})
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        for warning in run.warnings:
            self.stderr.write(warning)
        if options["verbosity"] >= 1:
            self._report(run)

    def _report(self, run: DemoRun) -> None:
        """A short summary: what was created (or found) and, last, the demo log-ins."""
        def line(counts) -> str:
            return ", ".join(f"{counts[kind]} {kind}" for kind in run.report_kinds)

        if sum(run.created.values()):
            self.stdout.write(self.style.SUCCESS(f"Demo data created: {line(run.created)}."))
            if sum(run.found.values()):
                self.stdout.write(f"Demo data already present: {line(run.found)}.")
        else:
            self.stdout.write(f"Demo data already present, nothing created: {line(run.found)}.")
        for note in sorted(run.notes, key=lambda note: note.startswith("Demo log-ins:")):  # the log-ins last
            self.stdout.write(note)


@contextmanager
def _quiet(verbosity: int):
    """Seeding walks pages through the review workflow: Wagtail e-mails every reviewer at every step and logs every
    page and task. Below verbosity 2 those thousands of lines are dropped, so the summary and log-ins stay visible;
    warnings still show."""
    if verbosity >= 2:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            yield
    finally:
        logging.disable(previous)
