"""Demo data for `manage.py seed_demo`: departments, hospitals, and deterministic doctors, reps and staff.

Everything here is plain data or a pure function of a fixed seed, so every run and every machine produces the
same people. Hospital names are real well-known hospitals; their figures (beds, visits) are illustrative.
"""

import functools
import random
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db.models import Q

from engage.core.demo import DemoRun, demo_seeder
from engage.core.roles import Role
from members.accounts.models import User
from members.hospitals.models import Department, Hospital
from members.profiles.models import DoctorProfile

DEMO_PASSWORD = "engage-demo-2026"  # noqa: S105 - documented demo log-in, refused when DEBUG is off
DOCTOR_COUNT = 200
REP_COUNT = 10
DOCTOR_MOBILE_BASE = 8613900000000  # +8613900000001 … +8613900000200
REP_MOBILE_BASE = 8613700000000  # +8613700000001 … +8613700000010
_SEED = 20260101
# (code, Chinese name, English name)
DEPARTMENTS = [
    ("endocrinology", "内分泌科", "Endocrinology"),
    ("cardiology", "心血管内科", "Cardiology"),
    ("oncology", "肿瘤科", "Oncology"),
    ("respiratory", "呼吸内科", "Respiratory medicine"),
    ("gastroenterology", "消化内科", "Gastroenterology"),
    ("neurology", "神经内科", "Neurology"),
    ("nephrology", "肾内科", "Nephrology"),
    ("rheumatology", "风湿免疫科", "Rheumatology and immunology"),
    ("haematology", "血液内科", "Haematology"),
    ("infectious-diseases", "感染科", "Infectious diseases"),
    ("geriatrics", "老年医学科", "Geriatrics"),
    ("paediatrics", "儿科", "Paediatrics"),
    ("general-practice", "全科医学科", "General practice"),
    ("dermatology", "皮肤科", "Dermatology"),
    ("ophthalmology", "眼科", "Ophthalmology"),
    ("obstetrics-gynaecology", "妇产科", "Obstetrics and gynaecology"),
    ("psychiatry", "精神科", "Psychiatry"),
    ("emergency", "急诊科", "Emergency medicine"),
]


_ALL = [code for code, _zh, _en in DEPARTMENTS]
_TEACHING = [code for code in _ALL if code != "general-practice"]
_DISTRICT = [
    "endocrinology", "cardiology", "respiratory", "gastroenterology", "neurology", "nephrology",
    "paediatrics", "general-practice", "obstetrics-gynaecology", "emergency",
]


@dataclass(frozen=True)
class HospitalSpec:
    name: str
    aliases: list[str]
    province: str
    city: str
    district: str
    region_code: str  # administrative division code of the district; used for licence numbers
    level: str  # members.models.Hospital.Level value
    grade: str  # members.models.Hospital.Grade value
    hospital_type: str  # members.models.Hospital.Type value
    beds: int
    yearly_outpatient_visits: int
    address: str
    departments: list[str]


HOSPITALS = [
    HospitalSpec(
        "北京协和医院", ["协和医院", "中国医学科学院北京协和医院", "PUMCH"],
        "北京市", "北京市", "东城区", "110101", "3", "甲", "general", 2000, 4_300_000,
        "北京市东城区帅府园1号",
        _ALL,
    ),
    HospitalSpec(
        "北京大学第一医院", ["北大医院", "北大一院"],
        "北京市", "北京市", "西城区", "110102", "3", "甲", "general", 1800, 2_900_000,
        "北京市西城区西什库大街8号",
        _TEACHING,
    ),
    HospitalSpec(
        "复旦大学附属中山医院", ["中山医院", "上海中山医院"],
        "上海市", "上海市", "徐汇区", "310104", "3", "甲", "general", 2800, 5_200_000,
        "上海市徐汇区枫林路180号",
        _TEACHING,
    ),
    HospitalSpec(
        "上海交通大学医学院附属瑞金医院", ["瑞金医院"],
        "上海市", "上海市", "黄浦区", "310101", "3", "甲", "general", 2100, 4_600_000,
        "上海市黄浦区瑞金二路197号",
        _TEACHING,
    ),
    HospitalSpec(
        "复旦大学附属肿瘤医院", ["上海肿瘤医院", "复旦肿瘤"],
        "上海市", "上海市", "徐汇区", "310104", "3", "甲", "specialist", 1400, 1_800_000,
        "上海市徐汇区东安路270号",
        ["oncology", "haematology", "gastroenterology", "respiratory"],
    ),
    HospitalSpec(
        "四川大学华西医院", ["华西医院"],
        "四川省", "成都市", "武侯区", "510107", "3", "甲", "general", 4300, 6_800_000,
        "四川省成都市武侯区国学巷37号",
        _ALL,
    ),
    HospitalSpec(
        "中山大学附属第一医院", ["中山一院", "中大附一"],
        "广东省", "广州市", "越秀区", "440104", "3", "甲", "general", 3000, 5_000_000,
        "广东省广州市越秀区中山二路58号",
        _TEACHING,
    ),
    HospitalSpec(
        "浙江大学医学院附属第一医院", ["浙大一院"],
        "浙江省", "杭州市", "上城区", "330102", "3", "甲", "general", 3200, 5_500_000,
        "浙江省杭州市上城区庆春路79号",
        _TEACHING,
    ),
    HospitalSpec(
        "江苏省人民医院", ["南京医科大学第一附属医院", "省人医"],
        "江苏省", "南京市", "鼓楼区", "320106", "3", "甲", "general", 3500, 5_100_000,
        "江苏省南京市鼓楼区广州路300号",
        _TEACHING,
    ),
    HospitalSpec(
        "华中科技大学同济医学院附属同济医院", ["武汉同济医院", "同济医院"],
        "湖北省", "武汉市", "硚口区", "420104", "3", "甲", "general", 5000, 6_000_000,
        "湖北省武汉市硚口区解放大道1095号",
        _ALL,
    ),
    HospitalSpec(
        "中南大学湘雅医院", ["湘雅医院"],
        "湖南省", "长沙市", "开福区", "430105", "3", "甲", "general", 3500, 3_600_000,
        "湖南省长沙市开福区湘雅路87号",
        _TEACHING,
    ),
    HospitalSpec(
        "空军军医大学西京医院", ["西京医院", "第四军医大学西京医院"],
        "陕西省", "西安市", "新城区", "610102", "3", "甲", "general", 3200, 3_500_000,
        "陕西省西安市新城区长乐西路127号",
        _TEACHING,
    ),
    HospitalSpec(
        "山东省立医院", ["山东第一医科大学附属省立医院", "省立医院"],
        "山东省", "济南市", "槐荫区", "370104", "3", "甲", "general", 4000, 4_800_000,
        "山东省济南市槐荫区经五纬七路324号",
        _TEACHING,
    ),
    HospitalSpec(
        "郑州大学第一附属医院", ["郑大一附院"],
        "河南省", "郑州市", "二七区", "410103", "3", "甲", "general", 7000, 7_500_000,
        "河南省郑州市二七区建设东路1号",
        _ALL,
    ),
    HospitalSpec(
        "中国医科大学附属第一医院", ["中国医大一院", "医大一院"],
        "辽宁省", "沈阳市", "和平区", "210102", "3", "甲", "general", 2500, 3_300_000,
        "辽宁省沈阳市和平区南京北街155号",
        _TEACHING,
    ),
    HospitalSpec(
        "重庆医科大学附属第一医院", ["重医附一院"],
        "重庆市", "重庆市", "渝中区", "500103", "3", "甲", "general", 3200, 3_900_000,
        "重庆市渝中区友谊路1号",
        _TEACHING,
    ),
    HospitalSpec(
        "佛山市南海区人民医院", ["南海区人民医院"],
        "广东省", "佛山市", "南海区", "440605", "3", "乙", "general", 1100, 1_300_000,
        "广东省佛山市南海区桂城南海大道北40号",
        [*_DISTRICT, "oncology", "rheumatology"],
    ),
    HospitalSpec(
        "绵阳市中医医院", ["绵阳中医院"],
        "四川省", "绵阳市", "涪城区", "510703", "3", "乙", "tcm", 900, 800_000,
        "四川省绵阳市涪城区涪城路14号",
        ["endocrinology", "cardiology", "respiratory", "gastroenterology", "neurology", "rheumatology",
         "geriatrics"],
    ),
    HospitalSpec(
        "南京市江宁区第二人民医院", ["江宁二院"],
        "江苏省", "南京市", "江宁区", "320115", "2", "甲", "general", 600, 650_000,
        "江苏省南京市江宁区湖山路33号",
        _DISTRICT,
    ),
    HospitalSpec(
        "长沙市望城区人民医院", ["望城区人民医院"],
        "湖南省", "长沙市", "望城区", "430112", "2", "甲", "general", 800, 700_000,
        "湖南省长沙市望城区高塘岭街道郭亮中路",
        _DISTRICT,
    ),
]


# Common Chinese surnames, most frequent first; the weights roughly follow their real frequency.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)


_SURNAME_WEIGHTS = [1 / (rank + 3) for rank in range(len(_SURNAMES))]
_COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛"]
_GIVEN_MALE = "伟强磊军勇杰涛斌浩鹏宇俊峰建明辉志刚海波华林文平东晨超亮飞凯松毅骏立诚"
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞婷雪琳洁颖慧倩玲璐燕萍红琴梅晶欣悦怡佳雯蕾薇"
_GIVEN_FIRST = "晓子思雨一嘉梓佳"  # only ever the first character of a two-character given name
_GIVEN_SECOND = "宁安然远清"  # only ever the second
# Professional titles with their share of doctors (few chief physicians, most attending or resident), and the
# range of years in which a doctor with that title typically got their practising licence.
_TITLES = [("chief", 8), ("associate_chief", 17), ("attending", 40), ("resident", 35)]
_LICENCE_YEARS = {
    "chief": (1990, 2005),
    "associate_chief": (2000, 2012),
    "attending": (2008, 2018),
    "resident": (2016, 2024),
}


@dataclass(frozen=True)
class PersonSpec:
    username: str
    mobile: str
    name: str
    surname: str
    given_name: str
    gender: str


@dataclass(frozen=True)
class DoctorSpec(PersonSpec):
    hospital: HospitalSpec
    department: str
    title: str
    licence_number: str


@dataclass(frozen=True)
class StaffSpec:
    username: str
    email: str
    role: Role
    name: str
    is_superuser: bool = False


STAFF = [
    StaffSpec("demo-marketing", "marketing@demo.engage.local", Role.MARKETING, "市场部演示账号"),
    StaffSpec("demo-reviewer", "reviewer@demo.engage.local", Role.MEDICAL_REVIEWER, "医学审核演示账号"),
    StaffSpec("demo-compliance", "compliance@demo.engage.local", Role.COMPLIANCE, "合规演示账号"),
    StaffSpec("demo-admin", "admin@demo.engage.local", Role.ADMIN, "管理员演示账号", is_superuser=True),
]


def _name(rng: random.Random, taken: set[str]) -> tuple[str, str, str]:
    """A (surname, given name, gender) not in `taken`."""
    while True:
        if rng.random() < 0.02:
            surname = rng.choice(_COMPOUND_SURNAMES)
        else:
            surname = rng.choices(_SURNAMES, _SURNAME_WEIGHTS)[0]
        gender = "female" if rng.random() < 0.5 else "male"
        pool = _GIVEN_FEMALE if gender == "female" else _GIVEN_MALE
        if rng.random() < 0.3:
            given = rng.choice(pool)
        else:
            given = rng.choice(pool + _GIVEN_FIRST) + rng.choice(pool + _GIVEN_SECOND)
        if len(set(given)) == len(given) and surname + given not in taken:
            taken.add(surname + given)
            return surname, given, gender


@functools.cache
def doctor_specs() -> tuple[DoctorSpec, ...]:
    """The demo doctors, always the same: `demo-doctor-001` … `demo-doctor-200`."""
    rng = random.Random(_SEED)
    taken: set[str] = set()
    titles, title_weights = zip(*_TITLES, strict=True)
    hospital_weights = [spec.beds**0.5 for spec in HOSPITALS]  # big hospitals have more, not all
    doctors = []
    for number in range(1, DOCTOR_COUNT + 1):
        surname, given, gender = _name(rng, taken)
        # The first twenty doctors visit every hospital once, so each hospital has at least one doctor.
        if number <= len(HOSPITALS):
            hospital = HOSPITALS[number - 1]
        else:
            hospital = rng.choices(HOSPITALS, hospital_weights)[0]
        # Demo doctor 001 (the documented SMS log-in) is an endocrinologist, where most demo content lives.
        department = "endocrinology" if number == 1 else rng.choice(hospital.departments)
        title = rng.choices(titles, title_weights)[0]
        # 15 digits: level (1 = practising physician), category (1 clinical, 2 TCM), district code,
        # licence year, and a serial that keeps the numbers unique.
        category = "2" if hospital.hospital_type == "tcm" else "1"
        year = rng.randint(*_LICENCE_YEARS[title])
        licence = f"1{category}{hospital.region_code}{year}{number:03d}"
        doctors.append(
            DoctorSpec(
                username=f"demo-doctor-{number:03d}",
                mobile=f"+{DOCTOR_MOBILE_BASE + number}",
                name=surname + given,
                surname=surname,
                given_name=given,
                gender=gender,
                hospital=hospital,
                department=department,
                title=title,
                licence_number=licence,
            )
        )
    return tuple(doctors)


@functools.cache
def rep_specs() -> tuple[PersonSpec, ...]:
    """The demo sales reps, always the same: `demo-rep-01` … `demo-rep-10`."""
    rng = random.Random(_SEED + 1)
    taken = {doctor.name for doctor in doctor_specs()}
    reps = []
    for number in range(1, REP_COUNT + 1):
        surname, given, gender = _name(rng, taken)
        reps.append(
            PersonSpec(
                username=f"demo-rep-{number:02d}",
                mobile=f"+{REP_MOBILE_BASE + number}",
                name=surname + given,
                surname=surname,
                given_name=given,
                gender=gender,
            )
        )
    return tuple(reps)

PEOPLE_KINDS = [
    "departments", "hospitals", "hospital departments", "users", "role memberships", "doctor profiles",
    "email addresses",
]


@demo_seeder(order=10, takes_run=True)
def seed_demo_people(run: DemoRun) -> None:
    """Departments, hospitals, 200 doctors, 10 reps and one log-in per staff role, each looked up by its natural
    key in one query and bulk-created when missing. A demo person whose mobile or email belongs to somebody else
    is skipped (with a warning), the rest is seeded."""
    run.report_kinds.extend(PEOPLE_KINDS)
    departments = _departments(run)
    hospitals = _hospitals(run, departments)
    users = _users(run)
    _roles(run, users)
    _profiles(run, users, hospitals, departments)
    _email_addresses(run, users)
    staff = ", ".join(spec.email for spec in STAFF)
    doctor = doctor_specs()[0]
    run.notes.append(f"Demo log-ins: {staff} with password {DEMO_PASSWORD}; "
                     f"doctor {doctor.mobile} ({doctor.name}) by SMS code, printed by the worker (make run console).")


def _departments(run: DemoRun) -> dict[str, Department]:
    """Demo department code -> row. A department that exists under the same Chinese name is reused."""
    codes = [code for code, _zh, _en in DEPARTMENTS]
    names = [zh for _code, zh, _en in DEPARTMENTS]
    existing = list(Department.objects.filter(Q(code__in=codes) | Q(name__in=names)))
    known_codes = {d.code for d in existing}
    known_names = {d.name for d in existing}
    missing = [
        Department(code=code, name=zh, name_en=en)
        for code, zh, en in DEPARTMENTS
        if code not in known_codes and zh not in known_names
    ]
    Department.objects.bulk_create(missing)
    run.tally("departments", len(missing), len(codes))
    rows = list(Department.objects.filter(Q(code__in=codes) | Q(name__in=names)))
    by_code = {d.code: d for d in rows}
    by_name = {d.name: d for d in rows}
    return {code: by_code.get(code) or by_name[zh] for code, zh, _en in DEPARTMENTS}

def _hospitals(run: DemoRun, departments: dict[str, Department]) -> dict[str, Hospital]:
    """Demo hospital name -> row, keyed in the database by normalised name and city."""
    specs = {(Hospital.normalise(spec.name), spec.city): spec for spec in HOSPITALS}
    names = [key[0] for key in specs]
    existing = set(
        Hospital.objects.filter(normalised_name__in=names).values_list("normalised_name", "city")
    )
    missing = [
        Hospital(
            name=spec.name,
            normalised_name=key[0],  # bulk_create skips Hospital.save(), which sets it otherwise
            aliases=list(spec.aliases),
            province=spec.province,
            city=spec.city,
            district=spec.district,
            level=spec.level,
            grade=spec.grade,
            hospital_type=spec.hospital_type,
            beds=spec.beds,
            yearly_outpatient_visits=spec.yearly_outpatient_visits,
            address=spec.address,
        )
        for key, spec in specs.items()
        if key not in existing
    ]
    Hospital.objects.bulk_create(missing)
    run.tally("hospitals", len(missing), len(specs))
    hospitals = {
        specs[(h.normalised_name, h.city)].name: h
        for h in Hospital.objects.filter(normalised_name__in=names)
        if (h.normalised_name, h.city) in specs
    }

    Link = Hospital.departments.through
    wanted = {
        (hospitals[spec.name].pk, departments[code].pk)
        for spec in specs.values()
        for code in spec.departments
    }
    linked = set(
        Link.objects.filter(hospital_id__in=[h.pk for h in hospitals.values()]).values_list(
            "hospital_id", "department_id"
        )
    )
    new_links = sorted(wanted - linked)
    Link.objects.bulk_create([Link(hospital_id=h, department_id=d) for h, d in new_links])
    run.tally("hospital departments", len(new_links), len(wanted))
    return hospitals

def _users(run: DemoRun) -> dict[str, User]:
    """Username -> row for every demo person whose log-in exists after this step."""
    doctors, reps, staff = doctor_specs(), rep_specs(), STAFF
    usernames = [spec.username for spec in [*doctors, *reps, *staff]]
    existing = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    # A mobile number or email already used by somebody else (e.g. a developer's own sign-up) would break
    # a unique constraint: that demo person is skipped, the rest is seeded.
    mobiles = [spec.mobile for spec in [*doctors, *reps]]
    emails = [spec.email for spec in staff]
    others = User.objects.exclude(username__in=usernames)
    taken = set(others.filter(mobile__in=mobiles).values_list("mobile", flat=True))
    taken |= set(others.filter(email__in=emails).values_list("email", flat=True))

    missing = []
    for spec in [*doctors, *reps]:
        if spec.username in existing:
            continue
        if spec.mobile in taken:
            run.warnings.append(f"Skipped {spec.username}: mobile {spec.mobile} belongs to another user.")
            continue
        missing.append(
            User(
                username=spec.username,
                password=make_password(None),  # doctors and reps sign in with an SMS code
                mobile=spec.mobile,
                mobile_verified=True,
                email=None,
                display_name=spec.name,
                last_name=spec.surname,
                first_name=spec.given_name,
            )
        )
    missing_staff = [spec for spec in staff if spec.username not in existing]
    # One hash for the shared demo password: hashing is deliberately slow.
    staff_password = make_password(DEMO_PASSWORD) if missing_staff else ""
    for spec in missing_staff:
        if spec.email in taken:
            run.warnings.append(f"Skipped {spec.username}: email {spec.email} belongs to another user.")
            continue
        missing.append(
            User(
                username=spec.username,
                password=staff_password,
                email=spec.email,
                mobile=None,
                display_name=spec.name,
                is_staff=spec.is_superuser,
                is_superuser=spec.is_superuser,
            )
        )
    User.objects.bulk_create(missing)
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    run.tally("users", len(missing), len(users))
    return users

def _roles(run: DemoRun, users: dict[str, User]) -> None:
    role_of = {spec.username: Role.DOCTOR.value for spec in doctor_specs()}
    role_of |= {spec.username: Role.REP.value for spec in rep_specs()}
    role_of |= {spec.username: spec.role for spec in STAFF}
    groups = {g.name: g.pk for g in Group.objects.filter(name__in=set(role_of.values()))}
    if len(groups) != len(set(role_of.values())):
        raise RuntimeError("The role groups are missing: run `manage.py migrate` first.")
    Membership = User.groups.through
    wanted = {(user.pk, groups[role_of[name]]) for name, user in users.items()}
    present = set(
        Membership.objects.filter(user_id__in=[u.pk for u in users.values()]).values_list(
            "user_id", "group_id"
        )
    )
    new = sorted(wanted - present)
    Membership.objects.bulk_create([Membership(user_id=u, group_id=g) for u, g in new])
    run.tally("role memberships", len(new), len(wanted))

def _profiles(run: DemoRun, users: dict[str, User], hospitals: dict[str, Hospital], departments) -> None:
    specs = [spec for spec in doctor_specs() if spec.username in users]
    with_profile = set(
        DoctorProfile.objects.filter(user_id__in=[users[s.username].pk for s in specs]).values_list(
            "user_id", flat=True
        )
    )
    missing = [
        DoctorProfile(
            user=users[spec.username],
            real_name=spec.name,
            gender=spec.gender,
            hospital=hospitals[spec.hospital.name],
            department=departments[spec.department],
            title=spec.title,
            licence_number=spec.licence_number,
        )
        for spec in specs
        if users[spec.username].pk not in with_profile
    ]
    DoctorProfile.objects.bulk_create(missing)
    run.tally("doctor profiles", len(missing), len(specs))

def _email_addresses(run: DemoRun, users: dict[str, User]) -> None:
    """A verified primary allauth address per staff log-in, so they sign in by email without a detour."""
    staff = [users[spec.username] for spec in STAFF if spec.username in users]
    staff = [user for user in staff if user.email]
    # An address already on file, for this user or (then skipped) for another one, is left alone.
    held = {e.lower() for e in EmailAddress.objects.filter(
        email__in=[user.email.lower() for user in staff]).values_list("email", flat=True)}
    has_any = set(EmailAddress.objects.filter(user__in=staff).values_list("user_id", flat=True))
    missing = [
        EmailAddress(user=user, email=user.email.lower(), verified=True, primary=user.pk not in has_any)
        for user in staff
        if user.email.lower() not in held
    ]
    EmailAddress.objects.bulk_create(missing)
    run.tally("email addresses", len(missing), len(staff))

