"""Seats: quotas (名额), registrations, tickets and the per-doctor frequency rules."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from engage.core.choices import choice_label
from events.pages.models import EventType


class Quota(models.Model):
    """A share of a meeting's seats: the open quota for self-registration, a region's or a rep's.

    `taken` counts the seats held (confirmed or awaiting approval) and is changed only by the registration
    services, inside the transaction that changes the registration; the CHECK makes overbooking impossible
    whatever the concurrency. The quotas of a meeting add up to its capacity (kept by the quota services).
    """

    class Kind(models.TextChoices):
        OPEN = "open", _("Open (self-registration)")
        REGION = "region", _("Region")
        REP = "rep", _("Rep")

    event = models.ForeignKey("events.EventPage", on_delete=models.CASCADE, related_name="quotas",
                              verbose_name=_("meeting"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    label = models.CharField(_("name"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    rep = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.PROTECT, related_name="quotas",
                            verbose_name=_("rep"))
    seats = models.PositiveIntegerField(_("seats"))
    taken = models.PositiveIntegerField(_("taken"), default=0)
    invite_code = models.CharField(_("invitation code"), max_length=32, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        ordering = ["event", "kind", "label"]
        constraints = [
            models.CheckConstraint(condition=Q(taken__lte=models.F("seats")), name="quota_taken_within_seats"),
            models.UniqueConstraint(fields=["event"], condition=Q(kind="open"), name="quota_one_open_per_event"),
            models.UniqueConstraint(fields=["event", "rep"], condition=Q(rep__isnull=False),
                                    name="quota_one_per_rep"),
            models.UniqueConstraint(fields=["event", "province"], condition=Q(kind="region"),
                                    name="quota_one_per_region"),
        ]

    def __str__(self):
        return self.label or self.get_kind_display()


class Registration(models.Model):
    """A doctor's place at a meeting, from request to check-in; cancelled and rejected rows stay as evidence."""

    class Status(models.TextChoices):
        PENDING = "pending_approval", _("Awaiting approval")
        CONFIRMED = "confirmed", _("Confirmed")
        WAITLISTED = "waitlisted", _("Waiting list")
        CANCELLED = "cancelled", _("Cancelled")
        REJECTED = "rejected", _("Rejected")

    class Source(models.TextChoices):
        SELF = "self", _("Self-registration")
        REP = "rep", _("Invited by a rep")
        STAFF = "staff", _("Invited by staff")

    ACTIVE = (Status.PENDING, Status.CONFIRMED, Status.WAITLISTED)

    event = models.ForeignKey("events.EventPage", on_delete=models.PROTECT, related_name="registrations",
                              verbose_name=_("meeting"))
    doctor = models.ForeignKey("members.User", on_delete=models.PROTECT, related_name="registrations",
                               verbose_name=_("doctor"))
    quota = models.ForeignKey(Quota, null=True, blank=True, on_delete=models.PROTECT, related_name="registrations",
                              verbose_name=_("quota"),
                              help_text=_("The quota whose seat this registration holds or waits for."))
    holds_seat = models.BooleanField(_("holds a seat"), default=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, db_index=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.SELF)
    invited_by = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("invited by"))
    # Whose shared link (?ref=<share code>) the doctor came through, as forwarded reads are credited.
    referrer = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("shared by"))
    frequency_warning = models.CharField(_("frequency warning"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("registered"), auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("decided by"))
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    reminded_day_before_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_hour_before_at = models.DateTimeField(null=True, blank=True, editable=False)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "doctor"],
                condition=Q(status__in=["pending_approval", "confirmed", "waitlisted"]),
                name="registration_one_active_per_doctor",
            ),
            models.CheckConstraint(
                condition=Q(holds_seat=False) | Q(status__in=["pending_approval", "confirmed"]),
                name="registration_seat_only_when_held",
            ),
        ]
        indexes = [models.Index(fields=["event", "status", "created_at"], name="registration_queue_idx")]

    def __str__(self):
        # What people read (audit trail, points history): the meeting's title and the status's label, not codes.
        return f"{self.doctor} · {self.event.title} · {choice_label(Registration.Status, self.status)}"


class Ticket(models.Model):
    """The QR ticket of a confirmed registration: an unguessable secret resolved on the server."""

    registration = models.OneToOneField(Registration, on_delete=models.PROTECT, related_name="ticket",
                                        verbose_name=_("registration"))
    event = models.ForeignKey("events.EventPage", on_delete=models.PROTECT, related_name="tickets",
                              verbose_name=_("meeting"))
    secret = models.CharField(_("secret"), max_length=40, unique=True)
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_reason = models.CharField(_("reason"), max_length=300, blank=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self):
        return f"{self.secret[:4]}… ({self.registration})"


class FrequencyRule(models.Model):
    """At most `max_meetings` sponsored meetings of a type per doctor per period: warn or block."""

    class Period(models.TextChoices):
        MONTH = "month", _("Calendar month")
        QUARTER = "quarter", _("Calendar quarter")
        YEAR = "year", _("Calendar year")

    class Action(models.TextChoices):
        WARN = "warn", _("Warn")
        BLOCK = "block", _("Block")

    event_type = models.CharField(_("meeting type"), max_length=12, choices=EventType.choices, blank=True,
                                  help_text=_("Empty: every type."))
    max_meetings = models.PositiveIntegerField(_("at most"))
    period = models.CharField(_("per"), max_length=8, choices=Period.choices, default=Period.QUARTER)
    action = models.CharField(_("when exceeded"), max_length=5, choices=Action.choices, default=Action.WARN)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("frequency rule")
        verbose_name_plural = _("frequency rules")

    def __str__(self):
        return f"≤ {self.max_meetings} {self.get_event_type_display() or ''} / {self.get_period_display()}"


class RepInvitation(models.Model):
    """A rep's personal invitation of one doctor of their territory to a meeting, into the rep's quota: the doctor
    gets it in the inbox (and over WeChat/SMS where they consented) and registers through the quota's link. One per
    quota and doctor; the rep follows whether the doctor registered, attended and answered the survey."""

    quota = models.ForeignKey(Quota, on_delete=models.PROTECT, related_name="invitations", verbose_name=_("quota"))
    doctor = models.ForeignKey("members.User", on_delete=models.PROTECT, related_name="rep_invitations",
                               verbose_name=_("doctor"))
    rep = models.ForeignKey("members.User", on_delete=models.PROTECT, related_name="sent_invitations",
                            verbose_name=_("rep"))
    created_at = models.DateTimeField(_("invited"), auto_now_add=True)

    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("rep invitation")
        verbose_name_plural = _("rep invitations")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["quota", "doctor"], name="rep_invitation_once_per_doctor")]

    def __str__(self):
        return f"{self.rep_id} → {self.doctor_id} @ {self.quota_id}"
