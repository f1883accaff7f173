import io
import itertools

import factory
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from members.accounts.models import User
from members.hospitals.models import Department, Hospital
from members.profiles.models import DoctorProfile


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:04d}")
    mobile = factory.Sequence(lambda n: f"+86138{n:08d}")
    mobile_verified = True
    email = factory.Sequence(lambda n: f"user{n:04d}@example.cn")
    display_name = factory.Sequence(lambda n: f"用户{n}")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "correct-horse-battery")
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def privacy_consent(self, create, extracted, **kwargs):
        """Every account agreed to the privacy policy in force when it signed up (the sign-up records it);
        `UserFactory(privacy_consent=False)` is one that has not (the portal sends it to the consent page)."""
        if not create or extracted is False:
            return
        from members.consents.models import Consent, ConsentKind
        from members.consents.selectors import policy_current

        policy = policy_current(ConsentKind.PRIVACY, self.language)
        if policy is not None:
            Consent.objects.create(user=self, kind=ConsentKind.PRIVACY, policy=policy, method=Consent.Method.WEB_FORM,
                                   user_agent="tests.factories")


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital

    name = factory.Sequence(lambda n: f"第{n}人民医院")
    province = "上海市"
    city = "上海市"
    level = Hospital.Level.TERTIARY
    grade = Hospital.Grade.A
    beds = 1200


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ["code"]

    code = "endocrinology"
    name = "内分泌科"
    name_en = "Endocrinology"


class DoctorProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DoctorProfile

    user = factory.SubFactory(UserFactory)
    real_name = factory.Sequence(lambda n: f"张医生{n}")
    hospital = factory.SubFactory(HospitalFactory)
    department = factory.SubFactory(DepartmentFactory)
    title = DoctorProfile.Title.ATTENDING


def user_with_role(role: str, **kwargs) -> User:
    user = UserFactory(**kwargs)
    user.groups.add(Group.objects.get(name=role))
    return user


_licences = itertools.count()


def make_doctor(*, verified: bool = True, kol: bool = False, profile: bool = True, role: bool = True,
                city: str | None = None, province: str | None = None, specialties=(), user: User | None = None,
                via_services: bool = False, **profile_fields) -> User:
    """A doctor member (the user is returned).

        make_doctor()                                  # verified: doctor role, profile verified now
        make_doctor(kol=True)                          # verified KOL / speaker
        make_doctor(verified=False)                    # profile pending verification
        make_doctor(status=DoctorProfile.Status.REJECTED)      # any status; any other profile field too
        make_doctor(city="北京市")                      # at a new hospital in that city (province= likewise)
        make_doctor(hospital=h, specialties=[diabetes])
        make_doctor(verified=False, profile=False)     # signed up as a doctor, no profile yet
        make_doctor(role=False, verified=False)        # a bare pending profile, without the doctor role group
        make_doctor(via_services=True, user=u, ...)    # through the profile form's service and a compliance
                                                       # verification: consents, certificate, history, points

    Every profile gets a unique 15-digit licence number unless `licence_number=` is given. `user=` makes a doctor
    of an existing account (a new UserFactory user otherwise)."""
    if not profile:
        if verified or kol or profile_fields or specialties or city or province or via_services:
            raise TypeError("make_doctor(profile=False) takes verified=False and no profile options")
        user = user or UserFactory()
        if role:
            user.groups.add(Group.objects.get(name="doctor"))
        return user
    # Through the profile form, the privacy consent is the one the form records.
    user = user or UserFactory(privacy_consent=not via_services)
    if (city or province) and "hospital" not in profile_fields:
        profile_fields["hospital"] = HospitalFactory(province=province or city, city=city or province)
    profile_fields.setdefault("licence_number", f"1101{next(_licences):011d}")
    if via_services:
        if kol or not role:
            raise TypeError("make_doctor(via_services=True) takes neither kol=True nor role=False")
        return _doctor_via_services(user, verified=verified, specialties=specialties, **profile_fields)
    status = profile_fields.pop("status", None) or (
        DoctorProfile.Status.VERIFIED if verified or kol else DoctorProfile.Status.PENDING)
    profile_fields.setdefault("verified_at", timezone.now() if status == DoctorProfile.Status.VERIFIED else None)
    if role:
        user.groups.add(Group.objects.get(name="doctor"))
    doctor_profile = DoctorProfileFactory(user=user, status=status, is_speaker=kol, **profile_fields)
    if specialties:
        doctor_profile.specialties.set(specialties)
    return user


def _doctor_via_services(user: User, *, verified: bool, specialties, **fields) -> User:
    """The profile form's service (privacy and SMS consents from 203.0.113.7, a JPEG certificate in the private
    storage, the doctor role), then, if `verified`, a compliance officer's verification (history, points)."""
    from PIL import Image

    from members.profiles.services import ProfileInput, profile_complete, verification_decide

    certificate = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 180, 90)).save(certificate, "JPEG")
    data = ProfileInput(
        real_name=fields.pop("real_name", "王丽华"), gender=fields.pop("gender", DoctorProfile.Gender.FEMALE),
        hospital_id=(fields.pop("hospital", None) or HospitalFactory()).pk,
        department_id=(fields.pop("department", None) or DepartmentFactory()).pk,
        title=fields.pop("title", DoctorProfile.Title.ATTENDING), specialty_ids=[area.pk for area in specialties],
        licence_number=fields.pop("licence_number"),
    )
    if fields:
        raise TypeError(f"make_doctor(via_services=True) cannot set {sorted(fields)}")
    doctor_profile = profile_complete(
        user=user, data=data, certificate=SimpleUploadedFile("certificate.jpg", certificate.getvalue(),
                                                             content_type="image/jpeg"),
        privacy=True, marketing={"marketing_sms": True}, ip_address="203.0.113.7", user_agent="pytest")
    if verified:
        verification_decide(profile_id=doctor_profile.pk, actor=user_with_role("compliance"), decision="verified")
    return User.objects.get(pk=user.pk)


def assert_append_only(row) -> None:
    """`row`'s table is evidence: the model, its queryset (a bulk `update()`, `delete()`) and on PostgreSQL the
    database itself (raw UPDATE and DELETE) refuse to change or remove it; the row is unchanged afterwards."""
    import pytest
    from django.db import DatabaseError, connection, transaction

    from engage.core.append_only import AppendOnlyError

    model = type(row)
    before = model.objects.filter(pk=row.pk).values().get()
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).update(id=row.pk)
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).delete()
    table = connection.ops.quote_name(model._meta.db_table)
    for sql in (f"UPDATE {table} SET id = id WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):  # noqa: S608
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])
    assert model.objects.filter(pk=row.pk).values().get() == before
