"""Reads of consents: the policy in force, whether a consent stands for it, and a member's consent overview."""

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Subquery
from django.utils import timezone

from members.consents.models import Consent, ConsentKind, PolicyVersion


def policy_current(kind: str, language: str = "zh-hans") -> PolicyVersion | None:
    """The policy in force for `kind`: the newest effective version, in `language` if it exists."""
    policies = PolicyVersion.objects.filter(kind=kind, effective_at__lte=timezone.now()).order_by(
        "-effective_at", "-id"
    )
    newest = policies.first()
    if newest is None:
        return None
    return policies.filter(version=newest.version, language=language).first() or newest


def current_policy_version(kind, now=None):
    """The version in force of the `kind` policy (at `now`, default: now), as a subquery."""
    return Subquery(
        PolicyVersion.objects.filter(kind=kind, effective_at__lte=now or timezone.now())
        .order_by("-effective_at", "-id")
        .values("version")[:1]
    )


def consent_active(user, kind: str) -> bool:
    """True when `user` holds a standing consent of `kind` to the policy version in force (a newer version or a
    changed purpose needs a new agreement). Reps may see contact details only when this is true."""
    if user is None or not getattr(user, "pk", None) or not getattr(user, "is_active", False):
        return False
    return _standing(kind).filter(user_id=user.pk).exists()


def _standing(kind: str, now=None):
    """Standing consents of `kind` to the version in force (at `now`, default: now)."""
    return Consent.objects.filter(kind=kind, withdrawn_at__isnull=True,
                                  policy__version=current_policy_version(kind, now))


def privacy_consent_outdated(user) -> bool:
    """True when the user agreed to the privacy policy, but to an older version than the one in force.
    One query, remembered on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_engage_privacy_outdated", None)
    if cached is None:
        cached = Consent.objects.filter(
            user_id=user.pk, kind=ConsentKind.PRIVACY, withdrawn_at__isnull=True
        ).exclude(policy__version=current_policy_version(ConsentKind.PRIVACY)).exists()
        user._engage_privacy_outdated = cached
    return cached


def privacy_consent_needed(user) -> bool:
    """True when a signed-in user holds no standing consent to the privacy policy in force: never agreed, or agreed
    to an older version. False while no privacy policy is in force (there is nothing to agree to). One query in the
    usual case, remembered on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_engage_privacy_needed", None)
    if cached is None:
        cached = not consent_active(user, ConsentKind.PRIVACY) and _privacy_policy_in_force().exists()
        user._engage_privacy_needed = cached
    return cached


def _privacy_policy_in_force(now=None):
    return PolicyVersion.objects.filter(kind=ConsentKind.PRIVACY, effective_at__lte=now or timezone.now())


def privacy_consent_needed_expression(now=None):
    """`privacy_consent_needed`'s rule on the user row (engage.core.preload)."""
    held = _standing(ConsentKind.PRIVACY, now).filter(user_id=OuterRef("pk"))
    return ExpressionWrapper(~Exists(held) & Exists(_privacy_policy_in_force(now)), output_field=BooleanField())


def remember_privacy_consent_needed(user, needed: bool) -> None:
    user._engage_privacy_needed = bool(needed)


def consents_overview(user) -> list[dict]:
    """Per kind of consent: the policy in force, the standing consent (if any) and whether it covers the policy
    in force. For the member page and the API."""
    standing = {
        c.kind: c
        for c in Consent.objects.filter(user_id=user.pk, withdrawn_at__isnull=True).select_related("policy")
    }
    rows = []
    for kind in ConsentKind:
        policy = policy_current(kind, getattr(user, "language", "zh-hans"))
        consent = standing.get(kind.value)
        rows.append({
            "kind": kind.value,
            "label": kind.label,
            "policy": policy,
            "consent": consent,
            "active": bool(consent and policy and consent.policy.version == policy.version),
            "outdated": bool(consent and policy and consent.policy.version != policy.version),
        })
    return rows
