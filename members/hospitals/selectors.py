"""Reads of hospital master data: the hospital search and duplicates, a rep's territory hospitals and the doctors a
rep may see there (consent-aware contact details)."""


from django.utils.translation import gettext as _

from engage.core.errors import NotFound, PermissionDenied
from engage.core.roles import Capability, can
from members.accounts.models import User
from members.consents.models import Consent, ConsentKind
from members.consents.selectors import current_policy_version
from members.engagement.models import EngagementEvent
from members.hospitals.models import Hospital, Territory
from members.profiles.models import DoctorProfile
from members.segments.models import DoctorSegment

HOSPITAL_QUERY_MAX = 50


def _clean_query(text: str | None, max_length: int = HOSPITAL_QUERY_MAX) -> str:
    """Drops control characters (PostgreSQL refuses NUL) and surrounding space; caps the length."""
    import unicodedata

    text = "".join(ch for ch in (text or "") if unicodedata.category(ch)[0] != "C")
    return text.strip()[:max_length]


def hospital_search(*, q: str, city: str | None = None, limit: int = 20):
    """Active hospitals matching `q` by name, alias, pinyin initials ("bjxh" → 北京协和医院), city or province,
    best first: exact name, then prefix, then substring, then alias, then pinyin, then place. Departments are
    prefetched. An empty `q` lists the largest hospitals (of `city` if given). Never raises on odd input."""
    import json

    from django.db.models import Case, IntegerField, Q, TextField, Value, When
    from django.db.models.functions import Cast


    q = _clean_query(q)
    city = _clean_query(city)
    limit = max(1, min(int(limit or 20), 50))
    hospitals = Hospital.objects.filter(status=Hospital.Status.ACTIVE)
    if city:
        bare_city = city.removesuffix("市") or city
        hospitals = hospitals.filter(Q(city=city) | Q(city=bare_city) | Q(city=f"{bare_city}市"))
    if not q:
        return list(
            hospitals.order_by("-level", "grade", "-beds", "name").prefetch_related("departments")[:limit]
        )
    normalised = Hospital.normalise(q)  # lower-cased, no spaces: a case-sensitive LIKE on normalised_name suffices
    letters = "".join(ch for ch in q if ch.isalnum())
    is_pinyin = bool(letters) and letters.isascii() and letters.isalpha()
    initials = letters.upper()
    has_case = q.lower() != q.upper()
    # Chinese has no case: plain LIKE is cheaper than UPPER() LIKE UPPER(), so ILIKE only when letters have a case.
    contains = "icontains" if has_case else "contains"
    # Aliases are a JSON list: match inside its text (PostgreSQL keeps Chinese as is; SQLite keeps \u escapes).
    escaped = json.dumps(q)[1:-1]
    hospitals = hospitals.annotate(aliases_text=Cast("aliases", TextField()))
    alias_match = Q(**{f"aliases_text__{contains}": q}) | Q(**{f"aliases_text__{contains}": escaped})
    alias_exact = Q(**{f"aliases_text__{contains}": json.dumps(q, ensure_ascii=False)}) | Q(
        **{f"aliases_text__{contains}": json.dumps(q)}
    )
    name_match = Q(normalised_name__contains=normalised) if normalised else Q(pk__in=[])
    matches = name_match | alias_match | Q(**{f"city__{contains}": q}) | Q(**{f"province__{contains}": q})
    rank_whens = [
        When(Q(normalised_name=normalised), then=Value(0)),
        When(alias_exact, then=Value(1)),
        When(Q(normalised_name__startswith=normalised), then=Value(2)),
    ]
    if is_pinyin:
        matches |= Q(pinyin_initials__contains=initials)
        rank_whens.append(When(Q(pinyin_initials__startswith=initials), then=Value(3)))
    rank_whens += [
        When(name_match, then=Value(4)),
        When(alias_match, then=Value(5)),
    ]
    if is_pinyin:
        rank_whens.append(When(Q(pinyin_initials__contains=initials), then=Value(6)))
    rank = Case(*rank_whens, default=Value(7), output_field=IntegerField())
    return list(
        hospitals.filter(matches)
        .annotate(search_rank=rank)
        .order_by("search_rank", "-level", "grade", "-beds", "name", "pk")
        .prefetch_related("departments")[:limit]
    )


def hospital_duplicates_of(hospital, *, limit: int = 10):
    """Active hospitals that are probably the same place as `hospital` (a proposal): same city (with or without
    市), and the same name once spaces, brackets and punctuation are ignored, or one name is the other's alias,
    or one name contains the other. Most likely first."""
    from django.db.models import Q


    bare_city = hospital.city.removesuffix("市") or hospital.city
    loose = _loose_name(hospital.name)
    candidates = Hospital.objects.filter(status=Hospital.Status.ACTIVE).exclude(pk=hospital.pk).filter(
        Q(city=hospital.city) | Q(city=bare_city) | Q(city=f"{bare_city}市")
    )
    found = []
    for other in candidates.only("id", "name", "aliases", "city", "province", "level", "grade").iterator():
        other_loose = _loose_name(other.name)
        alias_loose = {_loose_name(str(a)) for a in (other.aliases or [])}
        if loose == other_loose:
            score = 0
        elif loose in alias_loose or other_loose in {_loose_name(str(a)) for a in (hospital.aliases or [])}:
            score = 1
        elif loose and other_loose and (loose in other_loose or other_loose in loose):
            score = 2
        else:
            continue
        found.append((score, other.name, other))
    found.sort(key=lambda item: (item[0], item[1]))
    return [other for _score, _name, other in found[:limit]]


def _loose_name(name: str) -> str:
    import unicodedata

    name = unicodedata.normalize("NFKC", name or "").lower()
    return "".join(ch for ch in name if ch.isalnum())


# What a rep may see of a doctor's engagement: platform activity only, never points or prescriptions.
REP_ENGAGEMENT_KINDS = ("content_read", "meeting_attended", "live_watched", "survey_answered", "course_taught")


def can_view_territory_doctors(user) -> bool:
    """The doctors of territories are the reps' page (their own territories only: doctors_visible_to_rep)."""
    return can(user, Capability.COVER_TERRITORY)


def rep_territory_hospitals(rep):
    """Active hospitals in any territory of `rep`, by name."""
    return Hospital.objects.filter(status=Hospital.Status.ACTIVE, territories__reps=rep).distinct().order_by("name")


def territory_profiles(rep):
    """The bare profiles of the verified, active doctors at the active hospitals of `rep`'s territories (no
    contact details, no counts): the rule doctors_visible_to_rep shows, for ids and names."""
    from django.db.models import Subquery

    if rep is None or not getattr(rep, "is_authenticated", False):
        return DoctorProfile.objects.none()
    territory_hospitals = Territory.hospitals.through.objects.filter(territory__reps=rep).values("hospital_id")
    return DoctorProfile.objects.filter(
        hospital_id__in=Subquery(territory_hospitals),
        hospital__status=Hospital.Status.ACTIVE,
        status=DoctorProfile.Status.VERIFIED,
        user__is_active=True,
    )


def doctors_visible_to_rep(rep, *, hospital_id: int | None = None, department_id: int | None = None, q: str = ""):
    """Verified doctors at the hospitals of `rep`'s territories, and only what a rep may see of them.

    Each DoctorProfile carries: real_name, title, hospital (name, level), department, `user.segment_list`
    (DoctorSegment with therapy_area), `engagement_<kind>` counts over the last 12 months for REP_ENGAGEMENT_KINDS, and
    `contact_mobile` / `contact_email`, which are None unless the doctor has an active marketing consent for that
    channel. The user row is loaded with its id only, so a template cannot reach contact details by accident.
    Query count is constant per page: rows, users, segments (plus the paginator's count).
    """
    import datetime

    from django.db.models import (
        Case,
        CharField,
        Count,
        Exists,
        F,
        IntegerField,
        OuterRef,
        Prefetch,
        Subquery,
        Value,
        When,
    )
    from django.db.models.functions import Coalesce
    from django.utils import timezone


    profiles = territory_profiles(rep)
    if hospital_id:
        profiles = profiles.filter(hospital_id=hospital_id)
    if department_id:
        profiles = profiles.filter(department_id=department_id)
    q = _clean_query(q)
    if q:
        profiles = profiles.filter(real_name__icontains=q)

    since = timezone.now() - datetime.timedelta(days=365)
    counts = {}
    for kind in REP_ENGAGEMENT_KINDS:
        per_doctor = (
            EngagementEvent.objects.filter(doctor_id=OuterRef("user_id"), kind=kind, occurred_at__gte=since)
            .order_by()
            .values("doctor_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        counts[f"engagement_{kind}"] = Coalesce(Subquery(per_doctor, output_field=IntegerField()), Value(0))

    def consented(kind):
        # The same rule as consent_active: standing, and to the policy version in force.
        return Exists(Consent.objects.filter(user_id=OuterRef("user_id"), kind=kind, withdrawn_at__isnull=True,
                                             policy__version=current_policy_version(kind)))

    return (
        profiles.select_related("hospital", "department")
        .only(
            "id", "user_id", "real_name", "title", "hospital__id", "hospital__name", "hospital__level",
            "hospital__grade", "hospital__city", "department__id", "department__name", "department__name_en",
        )
        .annotate(
            **counts,
            contact_mobile=Case(When(consented(ConsentKind.MARKETING_SMS), then=F("user__mobile")),
                                default=Value(None), output_field=CharField()),
            contact_email=Case(When(consented(ConsentKind.MARKETING_EMAIL), then=F("user__email")),
                               default=Value(None), output_field=CharField()),
        )
        .prefetch_related(
            Prefetch("user", queryset=User.objects.only("id")),
            Prefetch("user__segments", to_attr="segment_list",
                     queryset=DoctorSegment.objects.select_related("therapy_area").order_by("therapy_area__name")),
        )
        .order_by("hospital__name", "department__name", "real_name", "pk")
    )


def access_territory_doctor(*, user, doctor_id) -> DoctorProfile:
    """The verified doctor (by user id) at a hospital of `user`'s territories, with only what a rep may see
    (doctors_visible_to_rep). PermissionDenied for who covers no territory; NotFound for any other doctor, so a rep
    cannot learn whether a doctor outside their territory exists."""
    if not can_view_territory_doctors(user):
        raise PermissionDenied("not_a_rep", _("Only reps act for the doctors of a territory."))
    try:
        doctor_id = int(doctor_id)
    except (TypeError, ValueError):
        raise NotFound("doctor_not_found", _("No such doctor in your territory.")) from None
    profile = doctors_visible_to_rep(user).filter(user_id=doctor_id).first()
    if profile is None:
        raise NotFound("doctor_not_found", _("No such doctor in your territory."))
    return profile
