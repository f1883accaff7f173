"""Personal data rights: a person downloads everything we hold about them, and closes their account.

Both reach every area through the registry of engage.core.personal_data: each area's privacy.py says how its rows
are exported and what closing does to them. Closing keeps what compliance must retain (transfer of value, audit,
check-in evidence), under a pseudonym: the user row itself becomes `closed-<id>` with every identifier erased, and
the retained rows, which still point at it, lose the names, numbers and free text they held.
"""

import io
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from engage.core.personal_data import ClosingAccount, iso, personal_data_registry
from members.accounts.models import User
from members.profiles.models import DoctorProfile

# What the doctor types to confirm; both are accepted whatever the page language.
CLOSE_PHRASES = ("确认注销", "CLOSE MY ACCOUNT")


def personal_data_export(*, user: User) -> dict:
    """Everything held about `user`: the account, then one part per registered section (profile, consents,
    points, registrations, check-ins …). A read; the download itself is audited by `personal_data_exported`."""
    data = {
        "exported_at": iso(timezone.now()),
        "account": {
            "id": user.pk, "username": user.username, "display_name": user.display_name,
            "first_name": user.first_name, "last_name": user.last_name, "mobile": user.mobile,
            "mobile_verified": user.mobile_verified, "email": user.email, "language": user.language,
            "date_joined": iso(user.date_joined), "last_login": iso(user.last_login),
        },
    }
    for entry in personal_data_registry():
        data[entry.section] = entry.export(user)
    return data


def personal_data_json(data: dict) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def personal_data_xlsx(data: dict) -> bytes:
    """One sheet per part of the export (field/value for a record, a table for rows); values written as plain
    cells (never formulas)."""
    from openpyxl import Workbook

    def cell(value):
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
        if isinstance(value, str) and value.startswith("="):
            value = "'" + value  # openpyxl would write it as a formula; the doctor's text stays text
        return value

    book = Workbook()
    book.remove(book.active)
    for name, part in data.items():
        if name == "exported_at":
            continue
        sheet = book.create_sheet(name[:31])
        if part is None or isinstance(part, dict):
            sheet.append(["field", "value"])
            for key, value in (part or {}).items():
                sheet.append([key, cell(value)])
        elif not part:
            sheet.append(["(none)"])
        else:
            headers = list(part[0])
            sheet.append(headers)
            for row in part:
                sheet.append([cell(row.get(h)) for h in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def personal_data_exported(*, user: User, fmt: str) -> None:
    """Audits a download of the personal data (who, when, which format)."""
    audit_log(actor=user, action="privacy.export", obj=user, after={"format": fmt})


def _identifiers(user: User) -> tuple[str, ...]:
    """What identifies `user` in free text: names, mobile number, email, username, licence, WeChat ids."""
    from allauth.socialaccount.models import SocialAccount  # allauth's models load after the apps registry

    profile = DoctorProfile.objects.filter(user=user).values_list("real_name", "licence_number").first() or ()
    values = [user.display_name, user.first_name, user.last_name, user.get_full_name(), user.mobile, user.email,
              user.username, *profile, *SocialAccount.objects.filter(user=user).values_list("uid", flat=True)]
    if user.mobile and user.mobile.startswith("+86"):
        values.append(user.mobile[3:])  # the national form people type
    return tuple(v for v in {str(v).strip() for v in values if v} if len(v) >= 2)


@transaction.atomic
def account_close(*, user: User, confirmation: str) -> User:
    """Closes `user`'s account for good, after they typed one of CLOSE_PHRASES.

    Every registered section is closed as it declares (deleted, pseudonymised or retained). The user row is
    pseudonymised: username `closed-<id>`, email `closed-<id>@invalid` (a user needs a mobile or an email);
    names, mobile, password and roles erased. Retained rows (ledger, redemptions, audit, check-ins, consents …)
    point at that row.
    """
    if (confirmation or "").strip().upper() not in {p.upper() for p in CLOSE_PHRASES}:
        raise DomainError("confirmation_mismatch",
                          _("Type the confirmation phrase exactly as shown to close your account."),
                          field="confirmation")
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise PermissionDenied("user_inactive", _("This account is already closed."))
    if user.is_superuser or user.is_staff:
        raise PermissionDenied("staff_account", _("Staff accounts are closed by an administrator."))
    pseudonym = f"closed-{user.pk}"
    account = ClosingAccount(user=user, pseudonym=pseudonym, identifiers=_identifiers(user))
    # The user row first: what the areas' closing writes (audit entries, decisions) then names the pseudonym.
    user.groups.clear()
    user.user_permissions.clear()
    user.username = pseudonym
    user.first_name = ""
    user.last_name = ""
    user.display_name = ""
    user.mobile = None
    user.mobile_verified = False
    user.email = f"{pseudonym}@invalid"
    user.is_active = False
    user.set_unusable_password()
    user.save()
    for entry in personal_data_registry():
        entry.run_close(account)
    audit_log(actor=user, action="account.close", obj=user, after={"username": pseudonym},
              reason="closed by the account holder")
    return user
