"""Writes for doctor profiles: completion and edits, certificate uploads, hospital proposals, verification
decisions and the KOL/speaker flag."""

import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass

import filetype
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from engage.audit.services import audit_log
from engage.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from engage.core.roles import Capability, Role, can
from engage.inbox.services import notify_user
from members.accounts.models import User
from members.accounts.selectors import forget_access_level
from members.accounts.services import role_grant
from members.consents.delivery import doctor_notify
from members.consents.services import consents_set
from members.engagement.models import EngagementKind
from members.engagement.services import engagement_record
from members.hospitals.models import Department, Hospital, TherapyArea
from members.points.services import points_award
from members.profiles.models import DoctorProfile, VerificationDecision

logger = logging.getLogger(__name__)
LICENCE_NUMBER_RE = re.compile(r"[0-9]{15}")
CERTIFICATE_MAX_BYTES = 5 * 1024 * 1024
CERTIFICATE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
# Changing one of these after verification sends the profile back to the queue.
IDENTITY_FIELDS = ("real_name", "licence_number", "hospital_id")
# Which decisions staff may take from which state; anything else is a conflict.
DECISIONS_FROM = {
    DoctorProfile.Status.PENDING: {DoctorProfile.Status.VERIFIED, DoctorProfile.Status.REJECTED,
                                   DoctorProfile.Status.NEEDS_INFO},
    DoctorProfile.Status.NEEDS_INFO: {DoctorProfile.Status.VERIFIED, DoctorProfile.Status.REJECTED},
    DoctorProfile.Status.VERIFIED: {DoctorProfile.Status.REJECTED},  # revoking a verification
    DoctorProfile.Status.REJECTED: set(),
}


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ProfileInput:
    """The doctor's answers; None means "leave unchanged" on an edit and "missing" on a first submission."""

    real_name: str | None = None
    gender: str | None = None
    hospital_id: int | None = None
    department_id: int | None = None
    title: str | None = None
    specialty_ids: list[int] | None = None
    licence_number: str | None = None


def licence_number_clean(value: str) -> str:
    """The 15-digit 医师执业证书编码; spaces are dropped and full-width digits (a Chinese keyboard's) become
    ASCII; anything else is refused."""
    cleaned = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    if not LICENCE_NUMBER_RE.fullmatch(cleaned):
        raise DomainError(
            "invalid_licence_number",
            _("The practising licence number (医师执业证书编码) has exactly 15 digits, e.g. 110110000000001."),
            field="licence_number",
        )
    return cleaned


def real_name_clean(value: str) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise DomainError("real_name_required", _("Enter your real name."), field="real_name")
    if len(name) > 50:
        raise DomainError("invalid_real_name", _("The name may have at most 50 characters."), field="real_name")
    if _CONTROL_CHARS.search(name) or "<" in name or ">" in name:
        raise DomainError("invalid_real_name", _("The name may not contain < or > or control characters."),
                          field="real_name")
    return name


def certificate_check(upload) -> str:
    """The certificate's real content type, decided from its bytes (never the name or the browser's claim):
    JPEG, PNG or PDF, at most 5 MB, and an image must decode as one."""
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    if size > CERTIFICATE_MAX_BYTES:
        raise DomainError("certificate_too_large", _("The certificate file may be at most 5 MB."),
                          field="certificate")
    if size == 0:
        raise DomainError("certificate_invalid", _("The certificate file is empty."), field="certificate")
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    mime = kind.mime if kind else ""
    if mime not in CERTIFICATE_TYPES:
        raise DomainError("certificate_wrong_type", _("Upload the certificate as a JPEG or PNG photo or a PDF."),
                          field="certificate")
    if mime.startswith("image/"):
        try:
            with Image.open(upload) as image:
                image.verify()
            if (image.format or "").lower() not in {"jpeg", "png"}:
                raise ValueError(image.format)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise DomainError("certificate_invalid", _("The file is not a readable image."),
                              field="certificate") from None
        finally:
            upload.seek(0)
    else:
        upload.seek(0)
        data = upload.read()
        upload.seek(0)
        if b"%%EOF" not in data[-2048:]:
            raise DomainError("certificate_invalid", _("The file is not a complete PDF."), field="certificate")
    return mime


def _choice(value: str, choices, code: str, message) -> str:
    if value not in {c for c, _label in choices}:
        raise DomainError(code, message)
    return value


def _hospital_for(user: User, hospital_id) -> Hospital:
    try:
        hospital_id = int(hospital_id)
    except (TypeError, ValueError):
        hospital_id = 0
    # A doctor may pick an active hospital or one they proposed themselves (it waits for approval).
    hospital = Hospital.objects.filter(pk=hospital_id).first()
    if hospital is None or not (
        hospital.status == Hospital.Status.ACTIVE
        or (hospital.status == Hospital.Status.PROPOSED and hospital.proposed_by_id == user.pk)
    ):
        raise DomainError("unknown_hospital", _("Choose your hospital from the list, or propose it."),
                          field="hospital")
    return hospital


def _department_for(department_id) -> Department:
    try:
        department = Department.objects.filter(pk=int(department_id)).first()
    except (TypeError, ValueError):
        department = None
    if department is None:
        raise DomainError("unknown_department", _("Choose your department from the list."), field="department")
    return department


def _specialties_for(ids) -> list[TherapyArea]:
    try:
        wanted = {int(i) for i in ids}
    except (TypeError, ValueError):
        wanted = {-1}
    areas = list(TherapyArea.objects.filter(pk__in=wanted))
    if len(areas) != len(wanted):
        raise DomainError("unknown_specialty", _("Choose specialties from the list."), field="specialties")
    return areas


def _certificate_store(profile: DoctorProfile, upload) -> None:
    mime = certificate_check(upload)
    old_name = profile.certificate.name if profile.certificate else ""
    upload.seek(0)
    # A random name: nothing about the doctor leaks from the file system.
    name = f"{uuid.uuid4().hex}.{CERTIFICATE_TYPES[mime]}"
    profile.certificate.save(name, ContentFile(upload.read()), save=False)
    profile.certificate_content_type = mime
    if old_name:
        storage = profile.certificate.storage
        transaction.on_commit(lambda: storage.delete(old_name))


def _status_change(profile: DoctorProfile, *, to: str, actor: User | None, reason: str) -> VerificationDecision:
    decision = VerificationDecision.objects.create(
        profile=profile, from_status=profile.status, to_status=to, reason=reason, actor=actor
    )
    profile.status = to
    profile.status_reason = reason if to in (DoctorProfile.Status.REJECTED, DoctorProfile.Status.NEEDS_INFO) else ""
    profile.verified_at = timezone.now() if to == DoctorProfile.Status.VERIFIED else None
    return decision


def _snapshot(profile: DoctorProfile) -> dict:
    return {
        "real_name": profile.real_name,
        "gender": profile.gender,
        "hospital_id": profile.hospital_id,
        "department_id": profile.department_id,
        "title": profile.title,
        "licence_number": profile.licence_number,
        "status": profile.status,
        "certificate": bool(profile.certificate),
    }


@transaction.atomic
def profile_submit(*, user: User, data: ProfileInput, certificate=None,
                   actor: User | None = None) -> DoctorProfile:
    """Creates the signed-in user's doctor profile or edits it.

    A first submission needs every field and a certificate; it grants the `doctor` role and queues the profile
    (status pending). An edit changes only the fields given; changing the name, licence number or hospital of
    a verified profile, or answering a rejection or a request for information, queues it again. Nothing is
    written when any field is invalid.
    """
    actor = actor or user
    if not user.is_active:
        raise PermissionDenied("user_inactive", _("This account is closed."))
    User.objects.select_for_update().only("pk").get(pk=user.pk)  # one submission per user at a time
    profile = DoctorProfile.objects.select_for_update().filter(user=user).first()
    creating = profile is None

    if creating:
        missing = [f for f in ("real_name", "hospital_id", "department_id", "title", "licence_number")
                   if getattr(data, f) in (None, "")]
        if missing:
            raise DomainError("profile_incomplete", _("Fill in every required field."), fields=missing)
        if certificate is None:
            raise DomainError("certificate_required", _("Upload a photo or scan of your practising certificate."),
                              field="certificate")
        profile = DoctorProfile(user=user)
        before = None
    else:
        before = _snapshot(profile)

    if data.real_name is not None:
        profile.real_name = real_name_clean(data.real_name)
    if data.gender is not None:
        profile.gender = _choice(data.gender, DoctorProfile.Gender.choices, "invalid_gender", _("Unknown gender."))
    if data.title is not None:
        profile.title = _choice(data.title, DoctorProfile.Title.choices, "invalid_title",
                                _("Choose a professional title from the list."))
    if data.hospital_id is not None:
        profile.hospital = _hospital_for(user, data.hospital_id)
    if data.department_id is not None:
        profile.department = _department_for(data.department_id)
    if data.licence_number is not None:
        profile.licence_number = licence_number_clean(data.licence_number)
    areas = _specialties_for(data.specialty_ids) if data.specialty_ids is not None else None
    if certificate is not None:
        _certificate_store(profile, certificate)

    changed: list[str] = []
    if before is not None:
        after = _snapshot(profile)
        changed = [k for k in after if after[k] != before[k]]
        if certificate is not None:
            changed.append("certificate")

    decision = None
    if creating:
        profile.status = DoctorProfile.Status.PENDING
        profile.save()
        decision = VerificationDecision.objects.create(
            profile=profile, from_status="", to_status=DoctorProfile.Status.PENDING, actor=actor,
            reason="profile submitted",
        )
    else:
        identity_changed = [f for f in (*IDENTITY_FIELDS, "certificate") if f in changed]
        if profile.status == DoctorProfile.Status.VERIFIED and identity_changed:
            decision = _status_change(profile, to=DoctorProfile.Status.PENDING, actor=actor,
                                      reason="changed after verification: " + ", ".join(identity_changed))
        elif profile.status in (DoctorProfile.Status.REJECTED, DoctorProfile.Status.NEEDS_INFO) and changed:
            decision = _status_change(profile, to=DoctorProfile.Status.PENDING, actor=actor,
                                      reason="resubmitted: " + ", ".join(changed))
        profile.save()
    if areas is not None:
        profile.specialties.set(areas)

    if creating:
        role_grant(user=user, role=Role.DOCTOR, actor=actor, reason="doctor profile submitted")
    forget_access_level(user)
    if creating or decision is not None:
        engagement_record(doctor=user, kind=EngagementKind.PROFILE_SUBMITTED,
                          source_key=f"profile:{profile.pk}:submitted:{decision.pk}", obj=profile,
                          metadata={"status": profile.status})
    if creating or changed or areas is not None:
        audit_log(actor=actor, action="profile.submit" if creating else "profile.update", obj=profile,
                  before=_redact(before), after=_redact(_snapshot(profile)),
                  reason=decision.reason if decision else "")
    return profile


def _redact(snapshot: dict | None) -> dict | None:
    """The audit log keeps that the licence number changed, not the number itself."""
    if snapshot is None:
        return None
    data = dict(snapshot)
    if data.get("licence_number"):
        data["licence_number"] = "…" + data["licence_number"][-4:]
    return data


@transaction.atomic
def hospital_propose(*, user: User, name: str, province: str, city: str) -> Hospital:
    """A doctor proposes a hospital missing from the master data; it waits (status proposed) for staff.
    A hospital of the same name in the same city is returned instead of a duplicate."""
    name = " ".join((name or "").split())
    province = " ".join((province or "").split())
    city = " ".join((city or "").split())
    if not (2 <= len(name) <= 200) or not city or not province or len(city) > 50 or len(province) > 50:
        raise DomainError("invalid_hospital_proposal",
                          _("Give the hospital's full name (2 to 200 characters), province and city."))
    if any(ch in value for value in (name, city, province) for ch in "<>") or _CONTROL_CHARS.search(name):
        raise DomainError("invalid_hospital_proposal", _("The name may not contain < or > or control characters."))
    existing = Hospital.objects.filter(normalised_name=Hospital.normalise(name), city=city).first()
    if existing is not None:
        if existing.status == Hospital.Status.ACTIVE or existing.proposed_by_id == user.pk:
            return existing
        raise Conflict("hospital_already_proposed",
                       _("This hospital has already been proposed and is waiting for approval."))
    hospital = Hospital(name=name, province=province, city=city, status=Hospital.Status.PROPOSED,
                        proposed_by=user)
    hospital.save()
    audit_log(actor=user, action="hospital.propose", obj=hospital,
              after={"name": name, "province": province, "city": city})
    return hospital


@transaction.atomic
def verification_decide(*, profile_id: int, actor: User, decision: str, reason: str = "",
                        expected_status: str | None = None) -> DoctorProfile:
    """Staff verify, reject or ask for more information. Two staff deciding at once: the first wins, the
    second gets `verification_conflict` (the row is locked and its state checked). Rejection and requests
    for information need a reason. Notifies the doctor after commit."""
    if not can(actor, Capability.VERIFY_DOCTORS):
        raise PermissionDenied("forbidden", _("Only marketing, compliance or admin staff verify doctors."))
    statuses = DoctorProfile.Status
    if decision not in (statuses.VERIFIED, statuses.REJECTED, statuses.NEEDS_INFO):
        raise DomainError("invalid_decision", _("Choose verify, reject or ask for more information."))
    reason = (reason or "").strip()
    if decision != statuses.VERIFIED and not reason:
        raise DomainError("reason_required", _("Give the doctor a reason."), field="reason")
    if len(reason) > 1000:
        raise DomainError("invalid_reason", _("The reason may have at most 1000 characters."), field="reason")
    profile = DoctorProfile.objects.select_for_update().select_related("user").filter(pk=profile_id).first()
    if profile is None:
        raise NotFound("profile_not_found", _("No such doctor profile."))
    if (expected_status and profile.status != expected_status) or decision not in DECISIONS_FROM[profile.status]:
        raise Conflict(
            "verification_conflict",
            _("This profile is now “%(status)s”: somebody else decided first. Reload and check.")
            % {"status": profile.get_status_display()},
            status_now=profile.status,
        )
    before = profile.status
    row = _status_change(profile, to=decision, actor=actor, reason=reason)
    profile.save(update_fields=["status", "status_reason", "verified_at", "updated_at"])
    doctor = profile.user
    forget_access_level(doctor)
    audit_log(actor=actor, action=f"verification.{decision}", obj=profile, before={"status": before},
              after={"status": decision}, reason=reason)
    kind = {statuses.VERIFIED: EngagementKind.VERIFIED, statuses.REJECTED: EngagementKind.VERIFICATION_REJECTED,
            statuses.NEEDS_INFO: EngagementKind.VERIFICATION_NEEDS_INFO}[decision]
    engagement_record(doctor=doctor, kind=kind, source_key=f"verification:{row.pk}", obj=profile,
                      metadata={"from": before, "to": decision})
    if decision == statuses.VERIFIED:
        _award_verified_points(doctor, profile, actor)
    _notify_decision(doctor, profile, row)
    return profile


def _award_verified_points(doctor: User, profile: DoctorProfile, actor: User) -> None:
    """The `profile_verified` rule pays once per doctor (its key is rule + profile); a cap or a disabled rule
    leaves the verification standing."""
    try:
        points_award(member=doctor, rule_code="profile_verified", source=profile, actor=actor,
                     source_label=str(_("Doctor verification")))
    except DomainError as exc:
        logger.info("profile_verified not awarded to user %s: %s", doctor.pk, exc.code)


def _notify_decision(doctor: User, profile: DoctorProfile, row: VerificationDecision) -> None:
    with translation.override(doctor.language or "zh-hans"):
        label = str(profile.get_status_display())
        title = str(_("Doctor verification: %(result)s") % {"result": label})
    notify_user(doctor, "verification.decided",
                {"status": profile.status, "label": label, "reason": profile.status_reason})
    doctor_notify(user=doctor, kind="verification.decided", title=title, body=profile.status_reason,
                  url=reverse("profile_edit"), key=f"verification_result:{row.pk}")


@transaction.atomic
def speaker_set(*, profile_id: int, actor: User, is_speaker: bool, reason: str = "") -> DoctorProfile:
    """Staff mark a doctor as KOL / speaker (or not); audited. Only verified doctors reach the KOL level."""
    if not can(actor, Capability.VERIFY_DOCTORS):
        raise PermissionDenied("forbidden", _("Only marketing, compliance or admin staff change this."))
    profile = DoctorProfile.objects.select_for_update().select_related("user").filter(pk=profile_id).first()
    if profile is None:
        raise NotFound("profile_not_found", _("No such doctor profile."))
    if profile.is_speaker == bool(is_speaker):
        return profile
    profile.is_speaker = bool(is_speaker)
    profile.save(update_fields=["is_speaker", "updated_at"])
    forget_access_level(profile.user)
    audit_log(actor=actor, action="profile.speaker", obj=profile, before={"is_speaker": not profile.is_speaker},
              after={"is_speaker": profile.is_speaker}, reason=reason)
    return profile


@transaction.atomic
def profile_complete(*, user: User, data: ProfileInput, certificate=None, privacy: bool,
                     marketing: dict[str, bool], method: str = "web_form", ip_address: str | None = None,
                     user_agent: str = "") -> DoctorProfile:
    """The profile form in one step: the privacy policy in force (required), the marketing channels, and the
    profile itself. All or nothing."""
    consents_set(user=user, privacy=privacy, marketing=marketing, method=method, ip_address=ip_address,
                 user_agent=user_agent)
    return profile_submit(user=user, data=data, certificate=certificate)
