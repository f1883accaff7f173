from datetime import datetime

from django.utils.translation import gettext_lazy as _
from ninja import File, Router, Schema, UploadedFile
from pydantic import Field

from engage.core.errors import Conflict
from engage.core.roles import roles_of
from engage.core.schemas import InputSchema
from members.accounts import services
from members.accounts.selectors import access_level_of
from members.profiles import services as profile_services
from members.profiles.models import DoctorProfile

router = Router(tags=["members"])


class Ref(Schema):
    id: int
    name: str


class HospitalRef(Ref):
    city: str
    status: str = Field(description="active, or proposed (waiting for staff approval)")


class ProfileOut(Schema):
    real_name: str
    gender: str = Field(description="female, male or undisclosed")
    hospital: HospitalRef
    department: Ref
    title: str = Field(description="chief, associate_chief, attending, resident or other")
    specialties: list[Ref]
    licence_number: str
    certificate_uploaded: bool
    is_speaker: bool


class VerificationOut(Schema):
    status: str | None = Field(description="None (no profile yet), pending, verified, rejected or needs_info")
    reason: str = Field(description="Why the profile was rejected or what information is missing")
    verified_at: datetime | None


class MemberOut(Schema):
    id: int
    username: str
    display_name: str
    mobile: str | None
    email: str | None
    language: str
    roles: list[str]
    access_level: str = Field(description="anonymous, registered, verified or kol")
    profile: ProfileOut | None
    verification: VerificationOut


class MemberPatch(InputSchema):
    """Only the fields sent change. Profile fields edit an existing doctor profile with the same validation as
    the web form; changing real_name, licence_number or hospital_id of a verified profile sends it back to
    pending. The first submission needs a certificate and the privacy consent: it is made on the web page."""

    display_name: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, pattern=r"^(zh-hans|en)$")
    real_name: str | None = Field(default=None, max_length=50)
    gender: str | None = Field(default=None, max_length=12)
    hospital_id: int | None = None
    department_id: int | None = None
    title: str | None = Field(default=None, max_length=20)
    specialty_ids: list[int] | None = Field(default=None, max_length=50)
    licence_number: str | None = Field(default=None, max_length=40, description="医师执业证书编码: 15 digits")


PROFILE_FIELDS = ("real_name", "gender", "hospital_id", "department_id", "title", "specialty_ids", "licence_number")


def _member_out(user) -> dict:
    profile = (
        DoctorProfile.objects.filter(user=user).select_related("hospital", "department")
        .prefetch_related("specialties").first()
    )
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "mobile": user.mobile,
        "email": user.email,
        "language": user.language,
        "roles": sorted(role.value for role in roles_of(user)),
        "access_level": access_level_of(user).name.lower(),
        "profile": None if profile is None else {
            "real_name": profile.real_name,
            "gender": profile.gender,
            "hospital": {"id": profile.hospital_id, "name": profile.hospital.name, "city": profile.hospital.city,
                         "status": profile.hospital.status},
            "department": {"id": profile.department_id, "name": profile.department.name},
            "title": profile.title,
            "specialties": [{"id": a.pk, "name": a.name} for a in profile.specialties.all()],
            "licence_number": profile.licence_number,
            "certificate_uploaded": bool(profile.certificate),
            "is_speaker": profile.is_speaker,
        },
        "verification": {
            "status": profile.status if profile else None,
            "reason": profile.status_reason if profile else "",
            "verified_at": profile.verified_at if profile else None,
        },
    }


@router.get("/me", response=MemberOut, summary=str(_("The signed-in member, their doctor profile, verification "
                                                      "state and access level")))
def me(request):
    return _member_out(request.user)


@router.patch("/me", response=MemberOut, summary=str(_("Update the signed-in member's name, language or doctor "
                                                        "profile")))
def me_update(request, data: MemberPatch):
    sent = data.model_fields_set
    if sent & set(PROFILE_FIELDS):
        profile_services.profile_submit(
            user=request.user,
            data=profile_services.ProfileInput(**{f: getattr(data, f) for f in PROFILE_FIELDS if f in sent}),
        )
    if sent & {"display_name", "language"}:
        services.member_update(user=request.user, display_name=data.display_name, language=data.language)
    return _member_out(request.user)


@router.post("/me/certificate", response=MemberOut,
             summary=str(_("Upload or replace the practising certificate (JPEG, PNG or PDF, at most 5 MB)")))
def me_certificate(request, certificate: File[UploadedFile]):
    if not DoctorProfile.objects.filter(user=request.user).exists():
        raise Conflict("profile_missing", _("Complete your doctor profile first."))
    profile_services.profile_submit(user=request.user, data=profile_services.ProfileInput(),
                                    certificate=certificate)
    return _member_out(request.user)
