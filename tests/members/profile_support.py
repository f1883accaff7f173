"""Shared helpers for the profile, verification, consent and privacy tests: real files and a ready profile."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from members.models import Department, DoctorProfile, Hospital, TherapyArea

GOOD_LICENCE = "110110000000001"


def jpeg_bytes(size=(60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 180, 90)).save(out, "JPEG")
    return out.getvalue()


def png_bytes(size=(60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 80, 200)).save(out, "PNG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def upload(name="certificate.jpg", content=None, content_type="image/jpeg"):
    return SimpleUploadedFile(name, jpeg_bytes() if content is None else content, content_type=content_type)


@pytest.fixture(autouse=True)
def _private_files_cleanup(monkeypatch):
    """Certificates land in the real private storage (PRIVATE_ROOT); delete the files this test wrote, and only
    those (other test runs may share the directory)."""
    storage = DoctorProfile._meta.get_field("certificate").storage
    saved = []
    original = storage._save

    def recording_save(name, content):
        name = original(name, content)
        saved.append(name)
        return name

    monkeypatch.setattr(storage, "_save", recording_save)
    yield
    for name in saved:
        storage.delete(name)


@pytest.fixture
def master_data(db):
    hospital = Hospital.objects.create(name="北京协和医院", aliases=["协和"], province="北京市", city="北京市",
                                       level="3", grade="甲")
    other = Hospital.objects.create(name="上海瑞金医院", province="上海市", city="上海市", level="3", grade="甲")
    department, _ = Department.objects.get_or_create(code="endocrinology",
                                                     defaults={"name": "内分泌科", "name_en": "Endocrinology"})
    area = TherapyArea.objects.get(code="diabetes")
    return {"hospital": hospital, "other_hospital": other, "department": department, "area": area}


def form_data(master, **overrides) -> dict:
    data = {
        "real_name": "王丽华",
        "gender": "female",
        "hospital": str(master["hospital"].pk),
        "department": str(master["department"].pk),
        "title": "attending",
        "specialties": [str(master["area"].pk)],
        "licence_number": GOOD_LICENCE,
        "accept_privacy": "on",
        "marketing_sms": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit_profile(user, master, **overrides):
    """A profile created through the service, as the form does it; returns it (status pending)."""
    from members.services.profiles import ProfileInput, profile_complete

    values = {"real_name": "王丽华", "gender": "female", "hospital_id": master["hospital"].pk,
              "department_id": master["department"].pk, "title": "attending",
              "specialty_ids": [master["area"].pk], "licence_number": GOOD_LICENCE}
    values.update(overrides)
    return profile_complete(user=user, data=ProfileInput(**values), certificate=upload(), privacy=True,
                            marketing={"marketing_sms": True}, ip_address="203.0.113.7", user_agent="pytest")
