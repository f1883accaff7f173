"""Who may see a doctor's profile documents."""

from django.utils.translation import gettext as _

from engage.core.errors import NotFound
from engage.core.roles import Capability, can
from members.profiles.models import DoctorProfile


def can_view_certificate(user, profile: DoctorProfile) -> bool:
    """The certificate is its owner's and the verification staff's to see."""
    return profile.user_id == getattr(user, "pk", None) or can(user, Capability.VIEW_CERTIFICATES)


def access_certificate(*, user, profile_id) -> DoctorProfile:
    """The profile whose uploaded certificate `user` may see; NotFound otherwise, with no hint it exists."""
    profile = (DoctorProfile.objects.filter(pk=profile_id)
               .only("id", "user_id", "certificate", "certificate_content_type").first())
    if profile is None or not profile.certificate or not can_view_certificate(user, profile):
        raise NotFound("certificate_not_found", _("No such certificate."))
    return profile
