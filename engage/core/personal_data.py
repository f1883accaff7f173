"""Which rows hold a person's data, how they are exported, and what closing the account does to them.

Each area declares its models in its `privacy.py` with `@personal_data(...)` on the function that exports the
rows of one person (found like the demo seeders, engage.core.discovery): the platform and members never import a
higher app, yet the export and the account closing reach every area. A test walks every model with a foreign key
to the user and fails when a key is neither covered here nor listed in EXEMPT with a reason.

Closing does one of three things to a registration's rows:
- DELETE: the rows go (the default deletes the rows whose covered keys point at the person);
- PSEUDONYMISE: the rows stay, the identifiers in their `scrub` fields become the pseudonym, and `close` erases
  or replaces what else is personal;
- RETAIN: the rows stay as they are, keyed to the pseudonymised user row (`close` may still end what is running,
  e.g. withdraw a consent); `reason` says why they are kept. The points ledger, content approvals and the audit
  log are append-only: they are retained and never rewritten.
"""

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Q

from engage.core.discovery import area_modules


class Closing(StrEnum):
    DELETE = "delete"
    PSEUDONYMISE = "pseudonymise"
    RETAIN = "retain"


@dataclass(frozen=True)
class PersonalData:
    section: str  # key of the export (JSON) and name of its Excel sheet
    model: str  # "events.Registration"
    user_fields: tuple[str, ...]  # the keys to the user this covers; empty: rows reached through another row
    export: Callable  # export(user) -> list of dicts (one per row) or a dict (one record) or None
    closing: Closing
    close: Callable | None  # close(account: ClosingAccount), inside the closing transaction
    scrub: tuple[str, ...]  # text or JSON fields of the covered rows whose identifiers become the pseudonym
    reason: str
    order: int

    def rows(self, user):
        """The rows of `user` this registration covers."""
        match = Q()
        for name in self.user_fields:
            match |= Q(**{name: user})
        return apps.get_model(self.model)._default_manager.filter(match)

    def run_close(self, account: "ClosingAccount") -> None:
        if self.close is not None:
            self.close(account)
        elif self.closing == Closing.DELETE and self.user_fields:
            self.rows(account.user).delete()
        if self.scrub:
            account.scrub_rows(self.rows(account.user), *self.scrub)


@dataclass(frozen=True)
class ClosingAccount:
    """The account being closed: its user row (not yet pseudonymised), the pseudonym that replaces the person,
    and what identified them (names, numbers, addresses, WeChat ids), gathered before anything was erased."""

    user: Any
    pseudonym: str
    identifiers: tuple[str, ...]

    def scrub(self, text: str) -> str:
        """`text` with every identifier replaced by the pseudonym."""
        if not text or not self.identifiers:
            return text
        words = sorted({i for i in self.identifiers if i}, key=len, reverse=True)
        return re.sub("|".join(re.escape(w) for w in words), self.pseudonym, text, flags=re.IGNORECASE)

    def scrub_rows(self, rows, *fields: str) -> None:
        """Replaces the identifiers in `fields` (text or JSON) of each of `rows`; saves the rows that change."""
        for row in rows.only(*fields):
            changed = []
            for name in fields:
                value = self.scrub_json(getattr(row, name))
                if value != getattr(row, name):
                    setattr(row, name, value)
                    changed.append(name)
            if changed:
                row.save(update_fields=changed)

    def scrub_json(self, value):
        """A JSON value with every identifier in its strings replaced by the pseudonym."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub(str(k)): self.scrub_json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_json(v) for v in value]
        return value


_REGISTRY: dict[str, PersonalData] = {}

# Keys to the user that hold nothing to export about the person and need nothing on closing, with the reason.
# "app.Model" exempts every key of the model, "app.Model.field" one key.
EXEMPT: dict[str, str] = {
    "messaging.FrequencyCap.updated_by": "the compliance officer who last set the message frequency cap (staff)",
    # Staff acting in their role: the row is evidence about the object, not about the staff member, and a staff
    # account is closed by an administrator (account_close refuses it); the key stays on the pseudonymised row.
    "members.VerificationDecision.actor": "who decided a verification; the decision is exported to the doctor "
                                          "it concerns (verification_history)",
    "members.PointsTransaction.actor": "who wrote a ledger row; the ledger is exported to the account holder",
    "members.Reward.approved_by": "compliance approval of a reward catalogue item",
    "members.HospitalImport.created_by": "staff import of hospital master data",
    "members.Territory.reps": "sales territory assignment of a staff account",
    "events.Registration.invited_by": "the rep or staff member who invited; exported with the doctor's "
                                      "registration",
    "events.Registration.decided_by": "the staff member who approved or rejected the registration",
    "events.Registration.referrer": "another doctor's registration credited to the person's shared link: the "
                                    "registrant's row, not the sharer's",
    "events.CheckIn.annulled_by": "the staff member who annulled a check-in (evidence)",
    "events.Quota.rep": "meeting seats allocated to a rep (staff planning)",
    "events.Survey.created_by": "staff author of a survey",
    "events.ChatMessage.deleted_by": "the moderator who hid a chat message (evidence)",
    "events.RoomSanction.created_by": "the moderator who muted or banned someone (evidence)",
    "events.Question.moderated_by": "the moderator who approved, dismissed or answered a question",
    "events.Poll.created_by": "staff author of a live poll",
    "cms.ReadingRecord.referrer": "another doctor's reading credited to the person's share link: the reader's "
                                  "record, not the sharer's",
    "cms.ContentApproval.reviewer": "append-only approval evidence of a reviewer (staff)",
    "learning.Certificate.revoked_by": "the compliance officer who revoked a certificate (evidence)",
    "learning.Assignment.created_by": "staff author of a learning assignment",
    "learning.Assignment.people": "reps named as an assignment's audience (staff planning); the person's own "
                                  "rounds are exported (learning_assignments)",
    "reminders.Programme.staff": "staff members of a patient programme",
    "reminders.PatientConsent.recorded_by": "who recorded a patient's consent: evidence of the patient's consent",
    "reminders.MedicationPlan.created_by": "who entered a patient's medication plan (the patient's record)",
    "reminders.FollowUpPlan.created_by": "who set up a patient's follow-up check (the patient's record)",
    "reminders.PharmacovigilanceCase.reviewed_by": "pharmacovigilance reviewer (staff); retained by law",
    "learning.QuestionVersion.created_by": "staff author of a question-bank version",
    "learning.ExamOverride.granted_by": "the staff member who granted an exam override (audited)",
    # Wagtail authoring and administration: only staff accounts edit content.
    "wagtailcore.Page": "page owner/lock of staff authors",
    "wagtailcore.Revision": "content revision authors (staff); part of the approval evidence",
    "wagtailcore.PageLogEntry": "Wagtail's append-only page history (staff)",
    "wagtailcore.ModelLogEntry": "Wagtail's append-only snippet history (staff)",
    "wagtailcore.WorkflowState": "review workflow requests (staff)",
    "wagtailcore.TaskState": "review workflow decisions (staff)",
    "wagtailcore.Comment": "editor comments on pages (staff)",
    "wagtailcore.CommentReply": "editor comment replies (staff)",
    "wagtailcore.PageSubscription": "editor notification subscriptions (staff)",
    "wagtailcore.UploadedFile": "admin upload scratch files (staff)",
    "wagtailadmin.EditingSession": "concurrent editing notices in the admin (staff)",
    "wagtailadmin.FormState": "admin form state (staff)",
    "wagtailimages.Image": "images uploaded by staff authors",
    "wagtaildocs.Document": "documents uploaded by staff authors",
    "wagtailusers.UserProfile": "admin preferences (staff)",
}


def personal_data(*, section: str, model: str, user_fields: tuple[str, ...], closing: Closing,
                  close: Callable | None = None, scrub: tuple[str, ...] = (), reason: str = "", order: int = 100):
    """Registers the decorated `export(user)` for `model`'s rows of one person (see the module docstring)."""
    if closing == Closing.PSEUDONYMISE and close is None and not scrub:
        raise ValueError(f"{section}: pseudonymising needs a close function or fields to scrub")
    if scrub and not user_fields:
        raise ValueError(f"{section}: rows reached through another row are scrubbed by a close function")
    if closing != Closing.DELETE and not reason:
        raise ValueError(f"{section}: say why the rows are kept")

    def register(fn):
        _REGISTRY[section] = PersonalData(section=section, model=model, user_fields=tuple(user_fields), export=fn,
                                          closing=closing, close=close, scrub=tuple(scrub), reason=reason,
                                          order=order)
        return fn

    return register


def personal_data_registry() -> list[PersonalData]:
    """Every registration, in export order (the areas' privacy modules are imported first)."""
    for module in area_modules("privacy"):
        importlib.import_module(module)
    return sorted(_REGISTRY.values(), key=lambda entry: (entry.order, entry.section))


def user_keys(models=None) -> list[tuple[str, str]]:
    """(model label, field name) of every foreign key, one-to-one and many-to-many to the user model, in
    `models` (default: every installed model)."""
    user_model = get_user_model()
    keys = []
    for model in apps.get_models() if models is None else models:
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and field.related_model is user_model \
                    and (field.many_to_one or field.one_to_one or field.many_to_many):
                if field.model is model:  # inherited keys are checked once, on the model that declares them
                    keys.append((model._meta.label, field.name))
    return keys


def uncovered_user_keys(models=None) -> list[str]:
    """Keys to the user that no registration covers and EXEMPT does not list."""
    covered = {(entry.model, name) for entry in personal_data_registry() for name in entry.user_fields}
    return [f"{label}.{name}" for label, name in user_keys(models)
            if (label, name) not in covered and label not in EXEMPT and f"{label}.{name}" not in EXEMPT]


def iso(value) -> str | None:
    """A date or time as the export writes it (ISO 8601; Excel takes no time zones)."""
    return value.isoformat() if value else None
