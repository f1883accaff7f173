"""Reads for segmentation and the doctor 360° view: who may see them, and what they show.

Every query here has a fixed count whatever the number of doctors; lists are querysets the view paginates.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.core.roles import Capability, can
from members.accounts.models import User
from members.consents.models import Consent
from members.engagement.models import EngagementEvent
from members.hospitals.models import TherapyArea
from members.points.models import PointsAccount, PointsTransaction
from members.profiles.models import DoctorProfile, VerificationDecision
from members.segments.models import DoctorIndicators, DoctorSegment, KolTier, Potential, SegmentChange, Support


def can_view_segments(user) -> bool:
    """The matrix, cell lists and segment history: marketing, compliance, admin."""
    return can(user, Capability.VIEW_SEGMENTS)


def can_request_recompute(user) -> bool:
    return can(user, Capability.VIEW_SEGMENTS)


def can_edit_segmentation_config(user) -> bool:
    """Thresholds, weights and cut-offs move every doctor at once: admin only (marketing may read them),
    as the role permissions of migration 0004 grant."""
    return can(user, Capability.EDIT_SEGMENTATION_CONFIG)


def can_edit_indicators(user) -> bool:
    """Marketing and admin enter doctors' indicators and KOL tiers (migration 0004's permissions)."""
    return can(user, Capability.EDIT_INDICATORS)


def can_view_doctor_360(user) -> bool:
    return can(user, Capability.VIEW_SEGMENTS)


@dataclass(frozen=True)
class MatrixCell:
    potential: str
    support: str
    count: int
    share: float = 0.0  # of the fullest cell, 0..1: how dark the heat map paints it

    @property
    def cell(self) -> str:
        return self.potential + self.support


@dataclass(frozen=True)
class SegmentMatrix:
    therapy_area: TherapyArea
    rows: list[tuple[str, list[MatrixCell], int]]  # potential, its three cells, row total
    column_totals: list[int]
    total: int
    kol_counts: list[tuple[str, str, int]]  # tier value, label, count
    unassessed: int  # doctors with this specialty but no indicators in the area: not segmented


def segment_matrix(*, therapy_area: TherapyArea) -> SegmentMatrix:
    """Counts per cell and per KOL tier in three queries, whatever the number of doctors."""
    segments = DoctorSegment.objects.filter(therapy_area=therapy_area).order_by()
    counts = {
        (potential, support): n
        for potential, support, n in segments.values_list("potential", "support").annotate(n=Count("id"))
    }
    tiers = dict(segments.values_list("kol_tier").annotate(n=Count("id")))
    unassessed = (
        DoctorProfile.objects.filter(specialties=therapy_area, user__is_active=True)
        .exclude(status=DoctorProfile.Status.REJECTED)
        .filter(~Exists(DoctorIndicators.objects.filter(doctor_id=OuterRef("user_id"),
                                                        therapy_area=therapy_area)))
        .count()
    )
    fullest = max(counts.values(), default=0) or 1
    rows = []
    for potential in Potential.values:
        cells = [MatrixCell(potential, support, counts.get((potential, support), 0),
                            counts.get((potential, support), 0) / fullest) for support in Support.values]
        rows.append((potential, cells, sum(c.count for c in cells)))
    column_totals = [sum(row[1][i].count for row in rows) for i in range(len(Support.values))]
    return SegmentMatrix(
        therapy_area=therapy_area,
        rows=rows,
        column_totals=column_totals,
        total=sum(counts.values()),
        kol_counts=[(tier.value, tier.label, tiers.get(tier.value, 0)) for tier in KolTier],
        unassessed=unassessed,
    )


def segment_cell_doctors(
    *, therapy_area: TherapyArea, potential: str, support: str, kol_tier: str | None = None
) -> QuerySet[DoctorSegment]:
    """The doctors of one cell with what staff need to recognise them; paginate it."""
    qs = DoctorSegment.objects.filter(therapy_area=therapy_area, potential=potential, support=support)
    if kol_tier:
        qs = qs.filter(kol_tier=kol_tier)
    return qs.select_related(
        "doctor__doctor_profile__hospital", "doctor__doctor_profile__department"
    ).order_by("-support_score", "doctor__doctor_profile__real_name", "pk")


def segment_history(*, doctor: User, therapy_area: TherapyArea | None = None) -> QuerySet[SegmentChange]:
    qs = SegmentChange.objects.filter(doctor=doctor).select_related("therapy_area")
    if therapy_area is not None:
        qs = qs.filter(therapy_area=therapy_area)
    return qs.order_by("-changed_at", "-id")


@dataclass(frozen=True)
class SegmentationRuns:
    last_finished: AuditEntry | None
    last_requested: AuditEntry | None

    @property
    def last_requested_at(self) -> datetime | None:
        return self.last_requested.created_at if self.last_requested else None

    @property
    def pending(self) -> bool:
        """A staff request is queued and no full run finished since."""
        if self.last_requested is None:
            return False
        return self.last_finished is None or self.last_finished.created_at < self.last_requested.created_at


def segmentation_runs() -> SegmentationRuns:
    """The last full recompute (nightly or on demand) and the last staff request, from the audit trail."""
    finished = (AuditEntry.objects.filter(action="segments.recompute", after__scope="all")
                .order_by("-created_at", "-id").first())
    requested = (AuditEntry.objects.filter(action="segments.recompute_requested")
                 .order_by("-created_at", "-id").first())
    return SegmentationRuns(last_finished=finished, last_requested=requested)


def doctors_search(*, q: str = "") -> QuerySet[DoctorProfile]:
    """Doctor profiles matching a name, mobile number, licence number, hospital name or its pinyin initials."""
    qs = DoctorProfile.objects.select_related("user", "hospital", "department")
    q = " ".join(q.split())[:100]
    if q:
        qs = qs.filter(
            Q(real_name__icontains=q) | Q(user__display_name__icontains=q) | Q(user__mobile__icontains=q)
            | Q(licence_number__icontains=q) | Q(hospital__name__icontains=q)
            | Q(hospital__pinyin_initials__icontains=q.upper())
        )
    return qs.order_by("real_name", "pk")


@dataclass
class Doctor360:
    doctor: User
    profile: DoctorProfile
    decisions: list[VerificationDecision]
    consents: list[Consent]
    segments: list[DoctorSegment]
    indicators: dict[int, DoctorIndicators]  # therapy area id -> indicators
    changes: list[SegmentChange]
    points_account: PointsAccount | None
    recent_transactions: list[PointsTransaction]
    areas: list[TherapyArea] = field(default_factory=list)  # specialties + areas with indicators or segments


def doctor_360(*, doctor_id: int, recent: int = 20) -> Doctor360 | None:
    """Everything staff see on one doctor's page, in a fixed number of queries; None if not a doctor."""
    profile = (DoctorProfile.objects.select_related("user", "hospital", "department")
               .prefetch_related("specialties").filter(user_id=doctor_id).first())
    if profile is None:
        return None
    doctor = profile.user
    segments = list(DoctorSegment.objects.filter(doctor=doctor).select_related("therapy_area")
                    .order_by("therapy_area__name"))
    indicators = {i.therapy_area_id: i for i in DoctorIndicators.objects.filter(doctor=doctor)}
    account = PointsAccount.objects.filter(user=doctor).first()
    transactions = (list(PointsTransaction.objects.filter(account=account).select_related("rule")
                         .order_by("-created_at", "-id")[:recent]) if account else [])
    wanted_areas = ({a.pk for a in profile.specialties.all()} | set(indicators)
                    | {s.therapy_area_id for s in segments})
    return Doctor360(
        doctor=doctor,
        profile=profile,
        decisions=list(VerificationDecision.objects.filter(profile=profile).select_related("actor")
                       .order_by("-created_at", "-id")),
        consents=list(Consent.objects.filter(user=doctor).select_related("policy").order_by("-granted_at", "-id")),
        segments=segments,
        indicators=indicators,
        changes=list(segment_history(doctor=doctor)[:200]),
        points_account=account,
        recent_transactions=transactions,
        areas=list(TherapyArea.objects.filter(pk__in=wanted_areas).order_by("name")),
    )


def doctor_timeline(
    *, doctor: User, kinds: list[str] | None = None, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[EngagementEvent]:
    """A doctor's engagement events, newest first; dates are whole local days, both ends included."""
    qs = EngagementEvent.objects.filter(doctor=doctor).select_related("therapy_area")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(occurred_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        qs = qs.filter(occurred_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz))
    return qs.order_by("-occurred_at", "-id")
