"""Access levels (anonymous, registered, verified doctor, KOL): every app asks `access_level_of` what a user may
see. And what the member page shows of a person's own roles."""

from enum import IntEnum

from engage.core.roles import ROLE_LABELS, Capability, can, roles_of
from members.profiles.models import DoctorProfile


class AccessLevel(IntEnum):
    """Ordered: each level includes the ones below it."""

    ANONYMOUS = 0
    REGISTERED = 1  # signed in, profile missing or not (yet) verified
    VERIFIED = 2  # verified doctor
    KOL = 3  # verified doctor marked as KOL / speaker


def access_level_of(user) -> AccessLevel:
    """The one rule for what a person may see of gated content; cached on the user for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return AccessLevel.ANONYMOUS
    cached = getattr(user, "_engage_access_level", None)
    if cached is not None:
        return cached
    profile = DoctorProfile.objects.filter(user=user).only("status", "is_speaker").first()
    if profile is None or profile.status != DoctorProfile.Status.VERIFIED:
        level = AccessLevel.REGISTERED
    elif profile.is_speaker:
        level = AccessLevel.KOL
    else:
        level = AccessLevel.VERIFIED
    user._engage_access_level = level
    return level


def forget_access_level(user) -> None:
    if hasattr(user, "_engage_access_level"):
        del user._engage_access_level


def member_page_flags(user) -> dict:
    """What the member page shows of the person's own roles: role labels, the doctor-profile card (doctors and
    plain members), the rep's territory links."""
    roles = roles_of(user)
    return {
        "roles": [(role.value, ROLE_LABELS[role]) for role in sorted(roles)],
        "shows_doctor_profile": not roles or can(user, Capability.EARN_POINTS),
        "shows_rep_section": can(user, Capability.COVER_TERRITORY),
    }
