"""Demo verification and consents for `manage.py seed_demo`: most demo doctors are verified (with a decision
row and a `verified` engagement event), every 20th is a KOL / speaker, the last eight wait in the verification
queue with a generated certificate image, and everyone (doctors, reps, staff) has agreed to the privacy policy in
force (odd-numbered doctors also to SMS contact).

Idempotent: a profile with any decision row has been handled and is left alone; consents are added only where
no standing consent of that kind exists.
"""

import io

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from engage.core.demo import demo_seeder
from members.accounts import demo as demo_data
from members.accounts.models import User
from members.consents.models import Consent, ConsentKind
from members.consents.selectors import policy_current
from members.engagement.models import EngagementEvent, EngagementKind
from members.profiles.models import DoctorProfile, VerificationDecision

QUEUE_SIZE = 8  # the last demo doctors stay pending, so the verification queue has work in it
SPEAKER_EVERY = 20


def _certificate_png(licence: str) -> bytes:
    image = Image.new("RGB", (480, 320), (250, 246, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 470, 310), outline=(160, 40, 40), width=4)
    draw.text((40, 60), "DEMO - Physician Practising Certificate", fill=(120, 20, 20))
    draw.text((40, 130), f"Licence: {licence}", fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@transaction.atomic
@demo_seeder(order=20)
def seed_demo_profiles() -> dict[str, int]:
    specs = {spec.username: number for number, spec in enumerate(demo_data.doctor_specs(), start=1)}
    created = {"verification decisions": 0, "demo certificates": 0, "consents": 0}
    profiles = list(
        DoctorProfile.objects.filter(user__username__in=list(specs), decisions__isnull=True)
        .select_related("user")
    )
    now = timezone.now()
    decisions, events = [], []
    queue_from = len(specs) - QUEUE_SIZE + 1
    for profile in profiles:
        number = specs[profile.user.username]
        if number >= queue_from:
            decisions.append(VerificationDecision(profile=profile, from_status="", to_status="pending",
                                                  reason="demo: waiting for verification"))
            if not profile.certificate:
                # One fixed file per demo doctor, reused by later runs, so seeding never piles up files.
                name = f"certificates/demo/{profile.user.username}.png"
                storage = profile.certificate.storage
                if not storage.exists(name):
                    storage.save(name, ContentFile(_certificate_png(profile.licence_number)))
                    created["demo certificates"] += 1
                profile.certificate.name = name
                profile.certificate_content_type = "image/png"
            profile.status = DoctorProfile.Status.PENDING
            profile.save(update_fields=["certificate", "certificate_content_type", "status", "updated_at"])
            continue
        profile.status = DoctorProfile.Status.VERIFIED
        profile.verified_at = now
        profile.is_speaker = number % SPEAKER_EVERY == 0
        decisions.append(VerificationDecision(profile=profile, from_status="pending", to_status="verified",
                                              reason="演示数据"))
    DoctorProfile.objects.bulk_update(
        [p for p in profiles if p.status == DoctorProfile.Status.VERIFIED], ["status", "verified_at", "is_speaker"]
    )
    VerificationDecision.objects.bulk_create(decisions)
    created["verification decisions"] = len(decisions)
    for decision in decisions:
        if decision.to_status == "verified":
            events.append(EngagementEvent(
                doctor_id=decision.profile.user_id, kind=EngagementKind.VERIFIED,
                object_type="members.doctorprofile", object_id=str(decision.profile.pk),
                object_repr=decision.profile.real_name[:300], occurred_at=now,
                metadata={"from": "pending", "to": "verified"}, source_key=f"verification:{decision.pk}",
            ))
    EngagementEvent.objects.bulk_create(events, ignore_conflicts=True)

    # Reps and staff browse the portal too, which asks everyone signed in for the privacy consent.
    others = [spec.username for spec in (*demo_data.rep_specs(), *demo_data.STAFF)]
    users = {u.username: u for u in User.objects.filter(username__in=[*specs, *others])}
    wanted = []
    for kind in (ConsentKind.PRIVACY, ConsentKind.MARKETING_SMS):
        policy = policy_current(kind)
        if policy is None:
            continue
        holding = set(Consent.objects.filter(kind=kind, withdrawn_at__isnull=True, user__in=users.values())
                      .values_list("user_id", flat=True))
        for username, user in users.items():
            if user.pk in holding or (kind == ConsentKind.MARKETING_SMS and specs.get(username, 0) % 2 == 0):
                continue
            wanted.append(Consent(user=user, kind=kind, policy=policy, method=Consent.Method.STAFF,
                                  user_agent="manage.py seed_demo"))
    Consent.objects.bulk_create(wanted)
    created["consents"] = len(wanted)
    return created
