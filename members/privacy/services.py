"""Personal data rights: a doctor downloads everything we hold about them, and closes their account.

Closing erases or pseudonymises personal fields. Compliance records stay: the points ledger, the audit log,
transfer-of-value records (Redemption keeps its own snapshot), engagement history, consent rows and
verification decisions, all now pointing at a pseudonymous, deactivated user row.
"""

import io
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from members.accounts.models import User
from members.consents.models import Consent
from members.engagement.models import EngagementEvent
from members.points.models import PointsTransaction
from members.profiles.models import DoctorProfile, VerificationDecision
from members.profiles.services import _status_change

# What the doctor types to confirm; both are accepted whatever the page language.
CLOSE_PHRASES = ("确认注销", "CLOSE MY ACCOUNT")


def _iso(value):
    return value.isoformat() if value else None


def personal_data_export(*, user: User) -> dict:
    """Everything about `user` that is personal: account, profile, verification history, consents, engagement
    history and points transactions. A read; the download itself is audited by `personal_data_exported`."""
    profile = (
        DoctorProfile.objects.filter(user=user).select_related("hospital", "department")
        .prefetch_related("specialties").first()
    )
    data = {
        "exported_at": _iso(timezone.now()),
        "account": {
            "id": user.pk, "username": user.username, "display_name": user.display_name,
            "first_name": user.first_name, "last_name": user.last_name, "mobile": user.mobile,
            "mobile_verified": user.mobile_verified, "email": user.email, "language": user.language,
            "date_joined": _iso(user.date_joined), "last_login": _iso(user.last_login),
        },
        "profile": None,
        "verification_history": [],
        "consents": [
            {
                "kind": c.kind, "policy_title": c.policy.title, "policy_version": c.policy.version,
                "method": c.method, "granted_at": _iso(c.granted_at), "ip_address": c.ip_address,
                "user_agent": c.user_agent, "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in Consent.objects.filter(user=user).select_related("policy").order_by("granted_at", "id")
        ],
        "engagement_events": [
            {"kind": e.kind, "object": e.object_repr, "occurred_at": _iso(e.occurred_at), "details": e.metadata}
            for e in EngagementEvent.objects.filter(doctor=user).order_by("occurred_at", "id")
        ],
        "points_transactions": [],
    }
    if profile is not None:
        data["profile"] = {
            "real_name": profile.real_name, "gender": profile.gender, "hospital": profile.hospital.name,
            "hospital_city": profile.hospital.city, "department": profile.department.name,
            "title": profile.title, "specialties": [a.name for a in profile.specialties.all()],
            "licence_number": profile.licence_number, "certificate_uploaded": bool(profile.certificate),
            "status": profile.status, "status_reason": profile.status_reason,
            "verified_at": _iso(profile.verified_at), "is_speaker": profile.is_speaker,
            "created_at": _iso(profile.created_at), "updated_at": _iso(profile.updated_at),
        }
        data["verification_history"] = [
            {"from": d.from_status, "to": d.to_status, "reason": d.reason, "at": _iso(d.created_at)}
            for d in VerificationDecision.objects.filter(profile=profile).order_by("created_at", "id")
        ]

    data["points_transactions"] = [
        {"kind": t.kind, "amount": t.amount, "balance_after": t.balance_after, "source": t.source_repr,
         "reason": t.reason, "expires_on": _iso(t.expires_on), "at": _iso(t.created_at)}
        for t in PointsTransaction.objects.filter(account__user=user).order_by("created_at", "id")
    ]
    return data


def personal_data_json(data: dict) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def personal_data_xlsx(data: dict) -> bytes:
    """One sheet per part of the export; values written as plain cells (never formulas)."""
    from openpyxl import Workbook

    def cell(value):
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
        if isinstance(value, str) and value.startswith("="):
            value = "'" + value  # openpyxl would write it as a formula; the doctor's text stays text
        return value

    book = Workbook()
    sheet = book.active
    sheet.title = "account"
    sheet.append(["field", "value"])
    for key, value in data["account"].items():
        sheet.append([key, cell(value)])
    profile = book.create_sheet("profile")
    profile.append(["field", "value"])
    for key, value in (data["profile"] or {}).items():
        profile.append([key, cell(value)])
    for name in ("verification_history", "consents", "engagement_events", "points_transactions"):
        rows = data[name]
        sheet = book.create_sheet(name[:31])
        if not rows:
            sheet.append(["(none)"])
            continue
        headers = list(rows[0])
        sheet.append(headers)
        for row in rows:
            sheet.append([cell(row.get(h)) for h in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def personal_data_exported(*, user: User, fmt: str) -> None:
    """Audits a download of the personal data (who, when, which format)."""
    audit_log(actor=user, action="privacy.export", obj=user, after={"format": fmt})


@transaction.atomic
def account_close(*, user: User, confirmation: str) -> User:
    """Closes `user`'s account for good, after they typed one of CLOSE_PHRASES.

    Erased: names, mobile, email, password, sign-in addresses, WeChat links, API tokens, the certificate file
    and the licence number (transfer-of-value records keep their own snapshot). Pseudonymised: username
    `closed-<id>`, email `closed-<id>@invalid` (a user needs a mobile or an email). Kept, pointing at that row:
    ledger, redemptions, audit, engagement history, consents (withdrawn now) and verification decisions.
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
    now = timezone.now()
    pseudonym = f"closed-{user.pk}"

    profile = DoctorProfile.objects.select_for_update().filter(user=user).first()
    certificate_name = ""
    if profile is not None:
        if profile.certificate:
            certificate_name = profile.certificate.name
            storage = profile.certificate.storage
        if profile.status != DoctorProfile.Status.REJECTED:
            _status_change(profile, to=DoctorProfile.Status.REJECTED, actor=user, reason="account closed")
        profile.real_name = pseudonym
        profile.gender = DoctorProfile.Gender.UNDISCLOSED
        profile.licence_number = ""
        profile.certificate = ""
        profile.certificate_content_type = ""
        profile.is_speaker = False
        profile.status_reason = "account closed"
        profile.save()
        profile.specialties.clear()

    Consent.objects.filter(user=user, withdrawn_at__isnull=True).update(withdrawn_at=now)

    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount
    from wagtail.models import APIToken

    EmailAddress.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()
    APIToken.objects.filter(user=user).delete()
    user.groups.clear()

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
    audit_log(actor=user, action="account.close", obj=user, after={"username": pseudonym},
              reason="closed by the account holder")
    if certificate_name:
        transaction.on_commit(lambda: storage.delete(certificate_name))
    return user
