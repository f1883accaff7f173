"""Check-in evidence: every scan is a row, failed ones too; a check-in is annulled, never deleted."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from engage.core.times import local_text


class Scan(models.Model):
    """One attempt to check a ticket in (scanner camera, keyboard wedge, manual search, self check-in, API)."""

    # Evidence rows, never content references: keep Wagtail's reference index (a task per save) out of the door.
    wagtail_reference_index_ignore = True

    class Result(models.TextChoices):
        OK = "ok", _("Checked in")
        ALREADY = "already_checked_in", _("Already checked in")
        INVALID = "invalid", _("Unknown code")
        REVOKED = "revoked", _("Ticket revoked")
        WRONG_EVENT = "wrong_event", _("Ticket of another meeting")
        NOT_APPROVED = "not_approved", _("Registration not approved")
        OUTSIDE_WINDOW = "outside_window", _("Outside the check-in window")
        OUTSIDE_RADIUS = "outside_radius", _("Too far from the venue")
        POSITION_REQUIRED = "position_required", _("No position for self check-in")
        EXPIRED_CODE = "expired_code", _("On-site code expired")

    class Method(models.TextChoices):
        CAMERA = "camera", _("Camera scan")
        WEDGE = "wedge", _("Barcode scanner")
        MANUAL = "manual", _("Manual search")
        SELF = "self", _("Self check-in")
        API = "api", _("Scanner device")

    event = models.ForeignKey("events.EventPage", on_delete=models.PROTECT, related_name="scans",
                              verbose_name=_("meeting"))
    ticket = models.ForeignKey("events.Ticket", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="scans", verbose_name=_("ticket"))
    staff = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("scanned by"))
    method = models.CharField(_("method"), max_length=8, choices=Method.choices, default=Method.API)
    device = models.CharField(_("device"), max_length=100, blank=True)
    nonce = models.CharField(_("nonce"), max_length=100, blank=True)
    raw_input = models.CharField(_("raw input"), max_length=500, blank=True,
                                 help_text=_("What was scanned or typed, cut at 500 characters."))
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    http_status = models.PositiveSmallIntegerField(default=200)
    response = models.JSONField(default=dict, blank=True, help_text=_("The answer given, repeated for the nonce."))
    server_time = models.DateTimeField(_("server time"), auto_now_add=True, db_index=True)
    client_time = models.DateTimeField(_("client time"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        ordering = ["-server_time", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "nonce"], condition=~Q(nonce=""), name="scan_nonce_once"),
        ]

    def __str__(self):
        return f"{self.get_result_display()} {local_text(self.server_time, 'Y-m-d H:i:s')}"

    @property
    def masked_input(self) -> str:
        """What was scanned or typed, the ticket's secret (a credential) cut to its first four characters: how
        every page and export shows the raw input."""
        raw = self.raw_input or ""
        secret = self.ticket.secret if self.ticket_id else ""
        return raw.replace(secret, f"{secret[:4]}…") if secret and secret in raw else raw


class CheckIn(models.Model):
    """The one successful check-in of a ticket; a mistaken one is annulled with a reason."""

    wagtail_reference_index_ignore = True

    ticket = models.ForeignKey("events.Ticket", on_delete=models.PROTECT, related_name="checkins",
                               verbose_name=_("ticket"))
    event = models.ForeignKey("events.EventPage", on_delete=models.PROTECT, related_name="checkins",
                              verbose_name=_("meeting"))
    registration = models.ForeignKey("events.Registration", on_delete=models.PROTECT, related_name="checkins",
                                     verbose_name=_("registration"))
    scan = models.OneToOneField(Scan, on_delete=models.PROTECT, related_name="checkin", verbose_name=_("scan"))
    method = models.CharField(_("method"), max_length=8, choices=Scan.Method.choices)
    checked_in_at = models.DateTimeField(_("checked in"), db_index=True)
    annulled_at = models.DateTimeField(_("annulled"), null=True, blank=True)
    annulled_by = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("annulled by"))
    annul_reason = models.CharField(_("reason"), max_length=300, blank=True)
    # When the attendance credit (points, engagement event) was settled for this check-in; a meeting's sweep pays
    # the check-ins without it (events.checkin.services.attendance_credit_sweep).
    credited_at = models.DateTimeField(_("credited"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["checked_in_at", "id"]
        indexes = [
            models.Index(fields=["event"], condition=Q(credited_at__isnull=True, annulled_at__isnull=True),
                         name="checkin_to_credit_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["ticket"], condition=Q(annulled_at__isnull=True),
                                    name="checkin_one_per_ticket"),
            models.CheckConstraint(condition=Q(annulled_at__isnull=True) | ~Q(annul_reason=""),
                                   name="checkin_annul_has_reason"),
        ]

    def __str__(self):
        return f"{self.registration} {local_text(self.checked_in_at)}"
