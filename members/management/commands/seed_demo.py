"""`manage.py seed_demo`: demo hospitals, doctors, reps and staff log-ins for a development portal.

Idempotent: every demo row has a natural key (department code, hospital name + city, username, …); the
command creates the rows that are missing and never changes or deletes a row, so `make run` can call it on
every start.
"""

from collections import Counter

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

from cms.demo_content import seed_content
from cms.demo_reading import seed_demo_reading
from engage.audit.services import audit_log
from engage.reminders.demo import seed_demo_reminders
from engage.roles import Role
from events.demo import seed_demo_events
from events.demo_surveys import seed_demo_surveys
from members import demo_data
from members.demo_points import seed_demo_points
from members.demo_profiles import seed_demo_profiles
from members.demo_segments import seed_demo_segments
from members.demo_territories import seed_demo_territories
from members.models import Department, DoctorProfile, Hospital, User

KINDS = [
    "departments", "hospitals", "hospital departments", "users", "role memberships", "doctor profiles",
    "email addresses",
]


class Command(BaseCommand):
    help = "Creates demo hospitals, 200 doctors, 10 reps and one log-in per staff role; idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true",
            help="Run even when DEBUG is off. Demo log-ins have a published password: never on production.",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create demo log-ins with DEBUG off (they have a published password). "
                "Pass --force to seed anyway."
            )
        self.created: Counter[str] = Counter()
        self.found: Counter[str] = Counter()
        with transaction.atomic():
            departments = self._departments()
            hospitals = self._hospitals(departments)
            users = self._users()
            self._roles(users)
            self._profiles(users, hospitals, departments)
            self._email_addresses(users)
            self.created.update(seed_demo_profiles())  # verification + consents: members/demo_profiles.py
            self.created.update(seed_content())  # academic content: cms/demo_content.py
            self.created.update(seed_demo_events())  # meetings, today's with registrations: events/demo.py
            self.created.update(seed_demo_surveys())  # meeting surveys and answers: events/demo_surveys.py
            self.created.update(seed_demo_territories())
            self.created.update(seed_demo_segments())  # after the rest: members/demo_segments.py
            self.created.update(seed_demo_points())  # rewards, points history, redemptions: members/demo_points.py
            self.created.update(seed_demo_reading())  # reads, forwards, favourites: cms/demo_reading.py
            self.created.update(seed_demo_reminders())  # patients, plans: engage/reminders/demo.py
            if sum(self.created.values()):
                audit_log(
                    actor=None,
                    action="demo.seed",
                    after={"created": dict(self.created), "found": dict(self.found)},
                    reason="manage.py seed_demo",
                )
        if options["verbosity"] >= 1:
            self._report()

    # Each step: look the natural keys up in one query, bulk-create what is missing, count both.

    def _tally(self, kind: str, created: int, total: int) -> None:
        self.created[kind] += created
        self.found[kind] += total - created

    def _departments(self) -> dict[str, Department]:
        """Demo department code -> row. A department that exists under the same Chinese name is reused."""
        codes = [code for code, _zh, _en in demo_data.DEPARTMENTS]
        names = [zh for _code, zh, _en in demo_data.DEPARTMENTS]
        existing = list(Department.objects.filter(Q(code__in=codes) | Q(name__in=names)))
        known_codes = {d.code for d in existing}
        known_names = {d.name for d in existing}
        missing = [
            Department(code=code, name=zh, name_en=en)
            for code, zh, en in demo_data.DEPARTMENTS
            if code not in known_codes and zh not in known_names
        ]
        Department.objects.bulk_create(missing)
        self._tally("departments", len(missing), len(codes))
        rows = list(Department.objects.filter(Q(code__in=codes) | Q(name__in=names)))
        by_code = {d.code: d for d in rows}
        by_name = {d.name: d for d in rows}
        return {code: by_code.get(code) or by_name[zh] for code, zh, _en in demo_data.DEPARTMENTS}

    def _hospitals(self, departments: dict[str, Department]) -> dict[str, Hospital]:
        """Demo hospital name -> row, keyed in the database by normalised name and city."""
        specs = {(Hospital.normalise(spec.name), spec.city): spec for spec in demo_data.HOSPITALS}
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
        self._tally("hospitals", len(missing), len(specs))
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
        self._tally("hospital departments", len(new_links), len(wanted))
        return hospitals

    def _users(self) -> dict[str, User]:
        """Username -> row for every demo person whose log-in exists after this step."""
        doctors, reps, staff = demo_data.doctor_specs(), demo_data.rep_specs(), demo_data.STAFF
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
                self.stderr.write(f"Skipped {spec.username}: mobile {spec.mobile} belongs to another user.")
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
        staff_password = make_password(demo_data.DEMO_PASSWORD) if missing_staff else ""
        for spec in missing_staff:
            if spec.email in taken:
                self.stderr.write(f"Skipped {spec.username}: email {spec.email} belongs to another user.")
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
        self._tally("users", len(missing), len(users))
        return users

    def _roles(self, users: dict[str, User]) -> None:
        role_of = {spec.username: Role.DOCTOR.value for spec in demo_data.doctor_specs()}
        role_of |= {spec.username: Role.REP.value for spec in demo_data.rep_specs()}
        role_of |= {spec.username: spec.role for spec in demo_data.STAFF}
        groups = {g.name: g.pk for g in Group.objects.filter(name__in=set(role_of.values()))}
        if len(groups) != len(set(role_of.values())):
            raise CommandError("The role groups are missing: run `manage.py migrate` first.")
        Membership = User.groups.through
        wanted = {(user.pk, groups[role_of[name]]) for name, user in users.items()}
        present = set(
            Membership.objects.filter(user_id__in=[u.pk for u in users.values()]).values_list(
                "user_id", "group_id"
            )
        )
        new = sorted(wanted - present)
        Membership.objects.bulk_create([Membership(user_id=u, group_id=g) for u, g in new])
        self._tally("role memberships", len(new), len(wanted))

    def _profiles(self, users: dict[str, User], hospitals: dict[str, Hospital], departments) -> None:
        specs = [spec for spec in demo_data.doctor_specs() if spec.username in users]
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
        self._tally("doctor profiles", len(missing), len(specs))

    def _email_addresses(self, users: dict[str, User]) -> None:
        """A verified primary allauth address per staff log-in, so they sign in by email without a detour."""
        staff = [users[spec.username] for spec in demo_data.STAFF if spec.username in users]
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
        self._tally("email addresses", len(missing), len(staff))

    def _report(self) -> None:
        def line(counts: Counter) -> str:
            return ", ".join(f"{counts[kind]} {kind}" for kind in KINDS)

        if sum(self.created.values()):
            self.stdout.write(self.style.SUCCESS(f"Demo data created: {line(self.created)}."))
            if sum(self.found.values()):
                self.stdout.write(f"Demo data already present: {line(self.found)}.")
        else:
            self.stdout.write(f"Demo data already present, nothing created: {line(self.found)}.")
        staff = ", ".join(spec.email for spec in demo_data.STAFF)
        doctor = demo_data.doctor_specs()[0]
        self.stdout.write(
            f"Demo log-ins: {staff} with password {demo_data.DEMO_PASSWORD}; "
            f"doctor {doctor.mobile} ({doctor.name}) by SMS code, shown in the outbox."
        )
