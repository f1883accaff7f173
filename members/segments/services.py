"""Segmentation: potential (A/B/C) × support (1/2/3) and KOL tier per doctor and therapy area.

Rules, in one place:
- Potential comes from `DoctorIndicators` only (beds in charge, weekly outpatient visits, weekly target patients;
  never prescription data). A doctor is A when any one indicator meets A's threshold, else B when any one meets
  B's, else C. The thresholds used are those of the five big cities when the doctor's hospital is in one of them
  (北京, 北京市 and Beijing are the same city), else those of other cities.
- A doctor without indicators in a therapy area gets no segment there: staff have not assessed the practice, and
  calling that doctor "C" would hide the gap. The matrix counts such doctors separately.
- Support is a weighted count of the doctor's engagement events of the last 12 months (from the same day and time
  a year ago up to now): score >= cut-off "1" → 1, >= cut-off "2" → 2, else 3. An event tagged with a therapy
  area counts for that area only; an untagged event counts for every area among the doctor's specialties.
- Only active users with a doctor profile that was not rejected are segmented.
"""

import calendar
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.audit.services import audit_log
from engage.core.errors import DomainError
from engage.core.jobs import enqueue_on_commit
from members.accounts.models import User
from members.engagement.models import EngagementEvent, EngagementKind
from members.hospitals.models import TherapyArea
from members.profiles.models import DoctorProfile
from members.segments.models import (
    BIG_FIVE_CITIES,
    DoctorIndicators,
    DoctorSegment,
    KolTier,
    Potential,
    SegmentationConfig,
    SegmentChange,
    Support,
)
from members.segments.selectors import segmentation_runs

INDICATORS = ("beds_in_charge", "weekly_outpatients", "weekly_target_patients")
CITY_GROUPS = ("big5", "other")
GRADED = ("A", "B")  # C is what is left
SUPPORT_KINDS = (
    EngagementKind.CONTENT_READ,
    EngagementKind.MEETING_ATTENDED,
    EngagementKind.LIVE_WATCHED,
    EngagementKind.SURVEY_ANSWERED,
    EngagementKind.COURSE_TAUGHT,
)


CUTOFF_KEYS = ("1", "2")
MAX_SETTING = 1_000_000  # larger numbers are typing mistakes, not settings
MAX_INDICATOR = 100_000
# The same defaults migration 0004 seeded; used for therapy areas created later without settings.
DEFAULT_THRESHOLDS = {
    "big5": {"A": {"beds_in_charge": 40, "weekly_outpatients": 300, "weekly_target_patients": 80},
             "B": {"beds_in_charge": 20, "weekly_outpatients": 150, "weekly_target_patients": 30}},
    "other": {"A": {"beds_in_charge": 30, "weekly_outpatients": 200, "weekly_target_patients": 50},
              "B": {"beds_in_charge": 15, "weekly_outpatients": 100, "weekly_target_patients": 20}},
}


DEFAULT_WEIGHTS = {"content_read": 1, "meeting_attended": 5, "live_watched": 3, "survey_answered": 2,
                   "course_taught": 10}


DEFAULT_CUTOFFS = {"1": 60, "2": 20}
_BIG_FIVE = frozenset(city.removesuffix("市") for city in BIG_FIVE_CITIES)
_BIG_FIVE_LATIN = frozenset({"beijing", "shanghai", "guangzhou", "nanjing", "hangzhou"})
# Any constant 63-bit number that no other advisory lock of the project uses.
_RECOMPUTE_LOCK = zlib.crc32(b"members.segments_recompute") + (1 << 40)
_BATCH = 2000


def is_big_five_city(city: str | None) -> bool:
    """北京, 北京市, " 北京 市" and Beijing all name the same big-five city."""
    name = "".join((city or "").split()).removesuffix("市")
    return name in _BIG_FIVE or name.lower().removesuffix("shi") in _BIG_FIVE_LATIN


def potential_grade(*, thresholds: Mapping, city: str | None, indicators: Mapping[str, int]) -> str:
    """A if any one indicator meets A's threshold, else B if any one meets B's, else C."""
    group = thresholds["big5" if is_big_five_city(city) else "other"]
    for grade in GRADED:
        if any(indicators[name] >= group[grade][name] for name in INDICATORS):
            return grade
    return Potential.C


def support_score(*, counts: Mapping[str, int], weights: Mapping[str, int]) -> int:
    return sum(count * weights.get(kind, 0) for kind, count in counts.items())


def support_grade(*, score: int, cutoffs: Mapping[str, int]) -> str:
    if score >= cutoffs["1"]:
        return Support.HIGH
    if score >= cutoffs["2"]:
        return Support.MEDIUM
    return Support.LOW


def support_window_start(now: datetime) -> datetime:
    """The same local day and time twelve months earlier (29 February falls back to the 28th)."""
    local = timezone.localtime(now)
    year = local.year - 1
    day = min(local.day, calendar.monthrange(year, local.month)[1])
    return local.replace(year=year, day=day)


INDICATOR_LABELS = {
    "beds_in_charge": _("beds in charge"),
    "weekly_outpatients": _("weekly outpatient visits"),
    "weekly_target_patients": _("weekly target patients"),
}


GROUP_LABELS = {"big5": _("Big-five cities"), "other": _("Other cities")}


def _whole_number(value, *, label, problems: list[str], maximum: int = MAX_SETTING) -> int | None:
    # bool is an int in Python; strings are refused (a form converts its input before it gets here).
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(str(_("%(field)s must be a whole number.") % {"field": label}))
        return None
    if value < 0:
        problems.append(str(_("%(field)s must not be negative.") % {"field": label}))
        return None
    if value > maximum:
        problems.append(str(_("%(field)s must be at most %(max)s.") % {"field": label, "max": maximum}))
        return None
    return value


def threshold_label(group: str, grade: str, name: str) -> str:
    return f"{GROUP_LABELS[group]} {grade}: {INDICATOR_LABELS[name]}"


def segmentation_config_problems(
    *, potential_thresholds, support_weights, support_cutoffs
) -> tuple[list[str], dict | None]:
    """Checks a whole configuration; returns (problems, cleaned), `cleaned` None when there is any problem.

    Every number is a whole number >= 0; A's threshold is at least B's for every indicator and city group;
    cut-off "1" is greater than cut-off "2"; no key is missing or unknown."""
    problems: list[str] = []
    thresholds: dict = {}
    if not isinstance(potential_thresholds, Mapping) or set(potential_thresholds) != set(CITY_GROUPS):
        problems.append(str(_("Potential thresholds need exactly the groups “big5” and “other”.")))
    else:
        for group in CITY_GROUPS:
            grades = potential_thresholds[group]
            if not isinstance(grades, Mapping) or set(grades) != set(GRADED):
                problems.append(str(_("%(group)s: thresholds need exactly grades A and B.") % {
                    "group": GROUP_LABELS[group]}))
                continue
            thresholds[group] = {}
            for grade in GRADED:
                values = grades[grade]
                if not isinstance(values, Mapping) or set(values) != set(INDICATORS):
                    problems.append(str(_("%(group)s %(grade)s: thresholds need exactly the three indicators.")
                                        % {"group": GROUP_LABELS[group], "grade": grade}))
                    continue
                thresholds[group][grade] = {
                    name: _whole_number(values[name], label=threshold_label(group, grade, name), problems=problems)
                    for name in INDICATORS
                }
            a, b = thresholds[group].get("A"), thresholds[group].get("B")
            if a and b:
                for name in INDICATORS:
                    if a[name] is not None and b[name] is not None and a[name] < b[name]:
                        problems.append(str(_(
                            "%(group)s: A's threshold for %(name)s (%(a)s) must not be below B's (%(b)s)."
                        ) % {"group": GROUP_LABELS[group], "name": INDICATOR_LABELS[name], "a": a[name],
                             "b": b[name]}))

    weights: dict = {}
    kinds = {str(kind) for kind in SUPPORT_KINDS}
    if not isinstance(support_weights, Mapping) or set(support_weights) != kinds:
        problems.append(str(_("Support weights need exactly one weight per engagement kind.")))
    else:
        weights = {
            str(kind): _whole_number(support_weights[str(kind)], label=str(_("Weight of “%(kind)s”") % {
                "kind": kind.label}), problems=problems)
            for kind in SUPPORT_KINDS
        }

    cutoffs: dict = {}
    if not isinstance(support_cutoffs, Mapping) or set(support_cutoffs) != set(CUTOFF_KEYS):
        problems.append(str(_("Support cut-offs need exactly “1” and “2”.")))
    else:
        cutoffs = {key: _whole_number(support_cutoffs[key], label=str(_("Cut-off “%(grade)s”") % {"grade": key}),
                                      problems=problems)
                   for key in CUTOFF_KEYS}
        if None not in cutoffs.values() and cutoffs["1"] <= cutoffs["2"]:
            problems.append(str(_("Cut-off “1” (%(one)s) must be greater than cut-off “2” (%(two)s).") % {
                "one": cutoffs["1"], "two": cutoffs["2"]}))
    if problems:
        return problems, None
    return [], {"potential_thresholds": thresholds, "support_weights": weights, "support_cutoffs": cutoffs}


@dataclass(frozen=True)
class RecomputeResult:
    created: int
    changed: int  # cell or KOL tier changed: one SegmentChange row each
    rescored: int  # only the support score moved, the cell stayed
    removed: int
    unchanged: int
    skipped_areas: tuple[str, ...]
    finished_at: datetime

    @property
    def history_rows(self) -> int:
        return self.created + self.changed + self.removed


def _serialise_runs() -> None:
    # Two runs at once (nightly + a staff click) would both see the old cell and both write a history row.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_RECOMPUTE_LOCK])


def _area_rules(config: SegmentationConfig | None) -> dict | None:
    if config is None:
        return {"potential_thresholds": DEFAULT_THRESHOLDS, "support_weights": DEFAULT_WEIGHTS,
                "support_cutoffs": DEFAULT_CUTOFFS}
    _problems, cleaned = segmentation_config_problems(
        potential_thresholds=config.potential_thresholds,
        support_weights=config.support_weights,
        support_cutoffs=config.support_cutoffs,
    )
    return cleaned


@transaction.atomic
def segments_recompute(
    *,
    therapy_area: TherapyArea | None = None,
    doctors: Iterable[User | int] | None = None,
    now: datetime | None = None,
    actor: User | None = None,
) -> RecomputeResult:
    """Recomputes the segments of all doctors (or of `doctors`) in all therapy areas (or in `therapy_area`).

    Set-based: a fixed number of queries whatever the number of doctors; engagement is counted in SQL.
    Writes a `DoctorSegment` per graded doctor and area and a `SegmentChange` only when a cell or KOL tier
    appears, changes or disappears; running it twice changes nothing the second time. Runs are serialised by a
    PostgreSQL advisory lock. One audit entry per run carries the counts.
    """
    now = now or timezone.now()
    _serialise_runs()
    areas = [therapy_area] if therapy_area is not None else list(TherapyArea.objects.all())
    configs = {c.therapy_area_id: c for c in SegmentationConfig.objects.filter(therapy_area__in=areas)}
    rules: dict[int, dict] = {}
    skipped: list[str] = []
    for area in areas:
        area_rules = _area_rules(configs.get(area.pk))
        if area_rules is None:
            skipped.append(area.code)  # a broken configuration keeps the area's last segments
        else:
            rules[area.pk] = area_rules
    area_ids = list(rules)
    doctor_ids = None if doctors is None else sorted({getattr(d, "pk", d) for d in doctors})

    indicators = DoctorIndicators.objects.filter(
        therapy_area_id__in=area_ids, doctor__is_active=True, doctor__doctor_profile__isnull=False
    ).exclude(doctor__doctor_profile__status=DoctorProfile.Status.REJECTED)
    if doctor_ids is not None:
        indicators = indicators.filter(doctor_id__in=doctor_ids)
    graded_rows = list(indicators.values_list(
        "doctor_id", "therapy_area_id", *INDICATORS, "kol_tier", "doctor__doctor_profile__hospital__city"
    ))

    scores = _support_scores(
        area_ids=area_ids, doctor_ids=doctor_ids, graded_doctors=indicators.values("doctor_id"), now=now,
        weights={area_id: r["support_weights"] for area_id, r in rules.items()},
    )

    wanted: dict[tuple[int, int], tuple[str, str, str, int]] = {}
    for doctor_id, area_id, beds, outpatients, targets, kol_tier, city in graded_rows:
        area_rules = rules[area_id]
        score = scores.get((doctor_id, area_id), 0)
        potential = potential_grade(
            thresholds=area_rules["potential_thresholds"], city=city,
            indicators={"beds_in_charge": beds, "weekly_outpatients": outpatients,
                        "weekly_target_patients": targets},
        )
        support = support_grade(score=score, cutoffs=area_rules["support_cutoffs"])
        wanted[(doctor_id, area_id)] = (potential, support, kol_tier, score)

    existing_qs = DoctorSegment.objects.filter(therapy_area_id__in=area_ids)
    if doctor_ids is not None:
        existing_qs = existing_qs.filter(doctor_id__in=doctor_ids)
    existing = {
        (doctor_id, area_id): (pk, potential, support, kol_tier, score)
        for pk, doctor_id, area_id, potential, support, kol_tier, score in existing_qs.values_list(
            "pk", "doctor_id", "therapy_area_id", "potential", "support", "kol_tier", "support_score"
        )
    }

    upserts: list[DoctorSegment] = []
    changes: list[SegmentChange] = []
    created = changed = rescored = unchanged = 0
    for key, (potential, support, kol_tier, score) in wanted.items():
        doctor_id, area_id = key
        before = existing.get(key)
        cell = potential + support
        if before is not None:
            _pk, old_potential, old_support, old_tier, old_score = before
            if (old_potential, old_support, old_tier, old_score) == (potential, support, kol_tier, score):
                unchanged += 1
                continue
            if (old_potential + old_support, old_tier) == (cell, kol_tier):
                rescored += 1
            else:
                changed += 1
                changes.append(SegmentChange(doctor_id=doctor_id, therapy_area_id=area_id,
                                             from_cell=old_potential + old_support, to_cell=cell,
                                             kol_tier=kol_tier, changed_at=now))
        else:
            created += 1
            changes.append(SegmentChange(doctor_id=doctor_id, therapy_area_id=area_id, from_cell="",
                                         to_cell=cell, kol_tier=kol_tier, changed_at=now))
        upserts.append(DoctorSegment(doctor_id=doctor_id, therapy_area_id=area_id, potential=potential,
                                     support=support, kol_tier=kol_tier, support_score=score, computed_at=now))

    gone = [key for key in existing if key not in wanted]
    for doctor_id, area_id in gone:
        _pk, old_potential, old_support, old_tier, _score = existing[(doctor_id, area_id)]
        # An empty to_cell records that the doctor left segmentation (indicators removed, account closed …).
        changes.append(SegmentChange(doctor_id=doctor_id, therapy_area_id=area_id,
                                     from_cell=old_potential + old_support, to_cell="", kol_tier=old_tier,
                                     changed_at=now))

    if upserts:
        DoctorSegment.objects.bulk_create(
            upserts, batch_size=_BATCH, update_conflicts=True, unique_fields=["doctor", "therapy_area"],
            update_fields=["potential", "support", "kol_tier", "support_score", "computed_at"],
        )
    if gone:
        DoctorSegment.objects.filter(pk__in=[existing[key][0] for key in gone]).delete()
    SegmentChange.objects.bulk_create(changes, batch_size=_BATCH)

    if doctor_ids is not None:
        scope = "doctors"
    elif therapy_area is not None:
        scope = "therapy_area"
    else:
        scope = "all"
    finished_at = timezone.now()
    audit_log(
        actor=actor,
        action="segments.recompute",
        object_type="members.doctorsegment",
        object_id=therapy_area.pk if therapy_area is not None else "",
        after={
            "scope": scope,
            "therapy_area": therapy_area.code if therapy_area is not None else None,
            "doctors": len(doctor_ids) if doctor_ids is not None else None,
            "graded": len(wanted), "created": created, "changed": changed, "rescored": rescored,
            "removed": len(gone), "unchanged": unchanged, "skipped_areas": skipped,
            "as_of": now.isoformat(), "finished_at": finished_at.isoformat(),
        },
    )
    return RecomputeResult(created=created, changed=changed, rescored=rescored, removed=len(gone),
                           unchanged=unchanged, skipped_areas=tuple(skipped), finished_at=finished_at)


def _support_scores(*, area_ids, doctor_ids, graded_doctors, now, weights) -> dict[tuple[int, int], int]:
    """(doctor id, area id) -> weighted count of the doctor's engagement of the last 12 months.

    Two GROUP BY queries count the events; only the counts (a few per doctor) come back to Python, where the
    area's weights and the doctor's specialties (for untagged events) are applied.
    """
    events = EngagementEvent.objects.filter(
        kind__in=SUPPORT_KINDS, occurred_at__gte=support_window_start(now), occurred_at__lte=now,
    )
    # Only doctors who can be graded: the given ones, or (a full run) those with indicators.
    events = events.filter(doctor_id__in=doctor_ids if doctor_ids is not None else graded_doctors)
    scores: dict[tuple[int, int], int] = defaultdict(int)
    tagged = (events.filter(therapy_area_id__in=area_ids).order_by()
              .values_list("doctor_id", "therapy_area_id", "kind").annotate(n=Count("id")))
    for doctor_id, area_id, kind, n in tagged:
        scores[(doctor_id, area_id)] += n * weights[area_id].get(kind, 0)

    untagged = list(events.filter(therapy_area__isnull=True).order_by()
                    .values_list("doctor_id", "kind").annotate(n=Count("id")))
    if untagged:
        Specialty = DoctorProfile.specialties.through
        specialties = Specialty.objects.filter(
            therapyarea_id__in=area_ids,
            doctorprofile__user_id__in=doctor_ids if doctor_ids is not None else graded_doctors,
        )
        areas_of: dict[int, list[int]] = defaultdict(list)
        for doctor_id, area_id in specialties.values_list("doctorprofile__user_id", "therapyarea_id"):
            areas_of[doctor_id].append(area_id)
        for doctor_id, kind, n in untagged:
            for area_id in areas_of.get(doctor_id, ()):
                scores[(doctor_id, area_id)] += n * weights[area_id].get(kind, 0)
    return scores


RECOMPUTE_PENDING_FOR = timedelta(minutes=15)


@transaction.atomic
def segments_recompute_request(*, actor: User) -> bool:
    """Queues a recompute of every segment (after commit). Returns False, queuing nothing, when a request made
    in the last 15 minutes has not finished yet: one queued run covers every click."""
    runs = segmentation_runs()
    if runs.pending and runs.last_requested_at > timezone.now() - RECOMPUTE_PENDING_FOR:
        return False
    audit_log(actor=actor, action="segments.recompute_requested", object_type="members.doctorsegment")
    _queue_recompute(actor=actor)
    return True


def _queue_recompute(*, actor: User | None, therapy_area: TherapyArea | None = None) -> None:
    actor_id = actor.pk if actor is not None else None
    area_id = therapy_area.pk if therapy_area is not None else None
    enqueue_on_commit("members.segments.tasks.segments_recompute_task", actor_id=actor_id, therapy_area_id=area_id)


@transaction.atomic
def segmentation_config_update(
    *,
    therapy_area: TherapyArea,
    potential_thresholds: dict,
    support_weights: dict,
    support_cutoffs: dict,
    actor: User,
) -> SegmentationConfig:
    """Replaces a therapy area's thresholds, weights and cut-offs; validated whole (nothing saved when any
    part is wrong), audited with before and after, and the area's segments are recomputed after commit."""
    problems, cleaned = segmentation_config_problems(
        potential_thresholds=potential_thresholds, support_weights=support_weights,
        support_cutoffs=support_cutoffs,
    )
    if problems:
        raise DomainError("segmentation_config_invalid", " ".join(problems), problems=problems)
    config, _created = SegmentationConfig.objects.select_for_update().get_or_create(
        therapy_area=therapy_area,
        defaults={"potential_thresholds": DEFAULT_THRESHOLDS, "support_weights": DEFAULT_WEIGHTS,
                  "support_cutoffs": DEFAULT_CUTOFFS},
    )
    before = {"potential_thresholds": config.potential_thresholds, "support_weights": config.support_weights,
              "support_cutoffs": config.support_cutoffs}
    if before == cleaned:
        return config
    for field, value in cleaned.items():
        setattr(config, field, value)
    config.save()
    audit_log(actor=actor, action="segments.config_update", obj=config, before=before, after=cleaned)
    _queue_recompute(actor=actor, therapy_area=therapy_area)
    return config


@transaction.atomic
def doctor_indicators_save(
    *,
    doctor: User,
    therapy_area: TherapyArea,
    beds_in_charge: int,
    weekly_outpatients: int,
    weekly_target_patients: int,
    kol_tier: str,
    actor: User,
) -> DoctorIndicators:
    """Sets a doctor's indicators and KOL tier in one therapy area (audited) and regrades that doctor there at
    once, so staff see the new cell without waiting for the nightly run."""
    if not DoctorProfile.objects.filter(user=doctor).exists():
        raise DomainError("not_a_doctor", _("This user has no doctor profile."), status=404)
    problems: list[str] = []
    values = {
        name: _whole_number(value, label=INDICATOR_LABELS[name], problems=problems, maximum=MAX_INDICATOR)
        for name, value in (("beds_in_charge", beds_in_charge), ("weekly_outpatients", weekly_outpatients),
                            ("weekly_target_patients", weekly_target_patients))
    }
    if kol_tier not in KolTier.values:
        problems.append(str(_("Unknown KOL tier.")))
    if problems:
        raise DomainError("indicators_invalid", " ".join(problems), problems=problems)
    values["kol_tier"] = kol_tier
    # Two staff saving the same doctor at once take turns on the doctor's row instead of racing the insert.
    User.objects.select_for_update().filter(pk=doctor.pk).first()
    indicators = (DoctorIndicators.objects.select_for_update()
                  .filter(doctor=doctor, therapy_area=therapy_area).first())
    before = None
    if indicators is None:
        indicators = DoctorIndicators(doctor=doctor, therapy_area=therapy_area)
    else:
        before = {name: getattr(indicators, name) for name in values}
        if before == values:
            return indicators
    for name, value in values.items():
        setattr(indicators, name, value)
    indicators.save()
    audit_log(actor=actor, action="segments.indicators_save", obj=indicators, before=before, after=values)
    segments_recompute(therapy_area=therapy_area, doctors=[doctor], actor=actor)
    return indicators
