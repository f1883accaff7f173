"""The doctor profile and its verification history in the personal data export and on closing the account."""

from django.db import transaction

from engage.core.personal_data import Closing, ClosingAccount, iso, personal_data
from members.profiles.models import DoctorProfile, VerificationDecision
from members.profiles.services import _status_change

CLOSED_REASON = "account closed"


def _close_profile(account: ClosingAccount) -> None:
    """Real name becomes the pseudonym; licence, certificate (file removed after commit), specialties, speaker
    flag erased; the profile is rejected so nobody verifies it again."""
    profile = DoctorProfile.objects.select_for_update().filter(user=account.user).first()
    if profile is None:
        return
    if profile.certificate:
        name, storage = profile.certificate.name, profile.certificate.storage
        transaction.on_commit(lambda: storage.delete(name))
    if profile.status != DoctorProfile.Status.REJECTED:
        _status_change(profile, to=DoctorProfile.Status.REJECTED, actor=account.user, reason=CLOSED_REASON)
    profile.real_name = account.pseudonym
    profile.gender = DoctorProfile.Gender.UNDISCLOSED
    profile.licence_number = ""
    profile.certificate = ""
    profile.certificate_content_type = ""
    profile.is_speaker = False
    profile.status_reason = CLOSED_REASON
    profile.save()
    profile.specialties.clear()


@personal_data(section="profile", model="members.DoctorProfile", user_fields=("user",), order=10,
               closing=Closing.PSEUDONYMISE, close=_close_profile,
               reason="the verification record of a doctor who took part in sponsored activities")
def profile_export(user) -> dict | None:
    profile = (DoctorProfile.objects.filter(user=user).select_related("hospital", "department")
               .prefetch_related("specialties").first())
    if profile is None:
        return None
    return {
        "real_name": profile.real_name, "gender": profile.gender, "hospital": profile.hospital.name,
        "hospital_city": profile.hospital.city, "department": profile.department.name,
        "title": profile.title, "specialties": [a.name for a in profile.specialties.all()],
        "licence_number": profile.licence_number, "certificate_uploaded": bool(profile.certificate),
        "status": profile.status, "status_reason": profile.status_reason,
        "verified_at": iso(profile.verified_at), "is_speaker": profile.is_speaker,
        "created_at": iso(profile.created_at), "updated_at": iso(profile.updated_at),
    }


@personal_data(section="verification_history", model="members.VerificationDecision", user_fields=(), order=11,
               closing=Closing.RETAIN, reason="compliance evidence of who verified the doctor, when and why")
def verification_history_export(user) -> list[dict]:
    return [
        {"from": d.from_status, "to": d.to_status, "reason": d.reason, "at": iso(d.created_at)}
        for d in VerificationDecision.objects.filter(profile__user=user).order_by("created_at", "id")
    ]
