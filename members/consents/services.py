"""Writes for consents: each agreement is a row naming the exact policy version shown; withdrawal sets
`withdrawn_at` at once and keeps the row as evidence."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.core.errors import DomainError, NotFound
from members.accounts.models import User
from members.consents.models import Consent, ConsentKind, PolicyVersion
from members.consents.selectors import policy_current
from members.engagement.models import EngagementKind
from members.engagement.services import engagement_record

MARKETING_KINDS = (ConsentKind.MARKETING_WECHAT, ConsentKind.MARKETING_SMS, ConsentKind.MARKETING_EMAIL)


def _kind(kind: str) -> ConsentKind:
    try:
        return ConsentKind(kind)
    except ValueError:
        raise NotFound("unknown_consent_kind", _("Unknown kind of consent.")) from None


@transaction.atomic
def consent_give(*, user: User, kind: str, policy: PolicyVersion | None = None, method: str = Consent.Method.WEB_FORM,
                 ip_address: str | None = None, user_agent: str = "") -> Consent:
    """Records that `user` agrees to `policy` (default: the current one of `kind`). Agreeing again to the
    same version changes nothing; agreeing to a newer version replaces the older standing consent."""
    kind = _kind(kind)
    current = policy_current(kind, user.language)
    if current is None:
        raise DomainError("no_policy", _("There is no policy to agree to yet."))
    policy = policy or current
    if policy.kind != kind or policy.version != current.version:
        raise DomainError("policy_outdated", _("This version of the policy is no longer current. Reload the page."),
                          current_version=current.version)
    User.objects.select_for_update().only("pk").get(pk=user.pk)  # serialise a user's consent changes
    active = Consent.objects.filter(user=user, kind=kind, withdrawn_at__isnull=True).select_related("policy").first()
    if active is not None and active.policy.version == policy.version:
        return active
    now = timezone.now()
    if active is not None:
        active.withdrawn_at = now
        active.save(update_fields=["withdrawn_at"])
    try:
        with transaction.atomic():
            consent = Consent.objects.create(
                user=user, kind=kind, policy=policy, method=method, ip_address=ip_address or None,
                user_agent=(user_agent or "")[:400],
            )
    except IntegrityError:  # the partial unique index: a concurrent identical agreement won
        return Consent.objects.get(user=user, kind=kind, withdrawn_at__isnull=True)
    audit_log(actor=user, action="consent.give", obj=consent,
              after={"kind": kind.value, "policy": policy.pk, "version": policy.version, "method": method},
              ip_address=ip_address, user_agent=user_agent)
    engagement_record(doctor=user, kind=EngagementKind.CONSENT_GIVEN, source_key=f"consent:{consent.pk}:given",
                      obj=consent, metadata={"consent": kind.value, "version": policy.version})
    return consent


@transaction.atomic
def consent_withdraw(*, user: User, kind: str, ip_address: str | None = None, user_agent: str = "") -> Consent | None:
    """Withdraws the standing consent of `kind` at once; None when there was none. The privacy policy is not
    withdrawn here: without it the account cannot be used, so that is closing the account."""
    kind = _kind(kind)
    if kind == ConsentKind.PRIVACY:
        raise DomainError("privacy_consent_needed",
                          _("The privacy policy is needed to use your account. To withdraw it, close your account."))
    consent = Consent.objects.select_for_update().filter(user=user, kind=kind, withdrawn_at__isnull=True).first()
    if consent is None:
        return None
    consent.withdrawn_at = timezone.now()
    consent.save(update_fields=["withdrawn_at"])
    audit_log(actor=user, action="consent.withdraw", obj=consent, after={"kind": kind.value},
              ip_address=ip_address, user_agent=user_agent)
    engagement_record(doctor=user, kind=EngagementKind.CONSENT_WITHDRAWN,
                      source_key=f"consent:{consent.pk}:withdrawn", obj=consent, metadata={"consent": kind.value})
    return consent


@transaction.atomic
def consents_set(*, user: User, privacy: bool, marketing: dict[str, bool], method: str = Consent.Method.WEB_FORM,
                 ip_address: str | None = None, user_agent: str = "") -> None:
    """The profile form's answers: the privacy policy (required) and one yes/no per marketing channel."""
    if not privacy:
        raise DomainError("privacy_consent_required", _("Agree to the privacy policy to continue."),
                          field="accept_privacy")
    consent_give(user=user, kind=ConsentKind.PRIVACY, method=method, ip_address=ip_address, user_agent=user_agent)
    for kind, wanted in marketing.items():
        if kind not in MARKETING_KINDS:
            raise NotFound("unknown_consent_kind", _("Unknown kind of consent."))
        if wanted:
            consent_give(user=user, kind=kind, method=method, ip_address=ip_address, user_agent=user_agent)
        else:
            consent_withdraw(user=user, kind=kind, ip_address=ip_address, user_agent=user_agent)
