import factory
from django.contrib.auth.models import Group

from members.models import Department, DoctorProfile, Hospital, User


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
