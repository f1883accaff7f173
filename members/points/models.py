from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engage.core.append_only import AppendOnlyModel


class PointsAccount(models.Model):
    """A doctor's academic points. `balance` is a cache of the ledger's sum, kept in step inside the same
    transaction as every ledger row and never negative (database constraint)."""

    user = models.OneToOneField("members.User", on_delete=models.PROTECT, related_name="points_account")
    balance = models.IntegerField(_("balance"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="points_balance_not_negative")]

    def __str__(self):
        return f"{self.user}: {self.balance}"


class PointsRule(models.Model):
    """How many points an activity earns, with caps; configured by staff."""

    code = models.SlugField(_("code"), max_length=50, unique=True, help_text=_("E.g. read_article."))
    name = models.CharField(_("name"), max_length=100)
    points = models.PositiveIntegerField(_("points"))
    daily_cap = models.PositiveIntegerField(_("daily cap"), null=True, blank=True,
                                            help_text=_("Most points per doctor per day from this rule."))
    yearly_cap = models.PositiveIntegerField(_("yearly cap"), null=True, blank=True,
                                             help_text=_("Most points per doctor per calendar year from this rule."))
    active_from = models.DateField(_("active from"), null=True, blank=True)
    active_until = models.DateField(_("active until"), null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(active_from__isnull=True)
                | Q(active_until__isnull=True)
                | Q(active_until__gte=F("active_from")),
                name="points_rule_dates_ordered",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.points})"


class PointsTransaction(AppendOnlyModel):
    """The append-only ledger (the model, its queryset and on PostgreSQL a trigger refuse UPDATE and DELETE; a
    correction is a new row). Earning is positive; redeeming and expiring are negative; adjustments either.

    `idempotency_key` is unique: the same source never pays twice, whatever the concurrency.
    """

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Adjusted")

    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="transactions",
                                verbose_name=_("points account"))
    amount = models.IntegerField(_("points"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, db_index=True)
    rule = models.ForeignKey(PointsRule, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("points rule"))
    source_type = models.CharField(_("source type"), max_length=100, blank=True)
    source_id = models.CharField(_("source id"), max_length=64, blank=True)
    source_repr = models.CharField(_("source"), max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    balance_after = models.IntegerField(_("balance after"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True,
                                  help_text=_("For earned points: the last day they can be used."))
    # PROTECT, not SET_NULL: nulling it would be an UPDATE of the ledger (accounts are closed, never deleted).
    actor = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("actor"))
    reason = models.TextField(_("reason"), blank=True)
    # A default, not auto_now_add: a backdated import (the demo history) gives its time at INSERT, never later.
    created_at = models.DateTimeField(_("time"), default=timezone.now, editable=False, db_index=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("points transaction")
        verbose_name_plural = _("points transactions")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="points_tx_account_time_idx"),
            models.Index(fields=["account", "rule", "created_at"], name="points_tx_rule_caps_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="points_tx_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(kind="earn", amount__gt=0) | Q(kind__in=["redeem", "expire"], amount__lt=0)
                | Q(kind="adjust"),
                name="points_tx_sign_matches_kind",
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="points_tx_balance_not_negative"),
        ]

    def __str__(self):
        return f"{self.account.user} {self.amount:+d} {self.get_kind_display()}"


class Reward(models.Model):
    """An educational reward doctors may redeem points for. Visible only once compliance approved it."""

    class Kind(models.TextChoices):
        LITERATURE = "literature", _("Literature full text")
        COURSE = "course", _("Course access")
        JOURNAL = "journal", _("Journal subscription")
        CONFERENCE = "conference", _("Conference registration")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        RETIRED = "retired", _("Retired")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    value_rmb = models.DecimalField(_("value (RMB)"), max_digits=10, decimal_places=2)
    points_cost = models.PositiveIntegerField(_("points"))
    stock = models.PositiveIntegerField(_("stock"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    approved_by = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["points_cost", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(value_rmb__gte=Decimal("0")), name="reward_value_not_negative"),
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_cost_positive"),
        ]

    def __str__(self):
        return self.name


class Redemption(models.Model):
    """A redemption, kept as the transfer-of-value record: who (with licence and hospital as they were),
    what, worth how much, when."""

    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("reward"))
    transaction = models.OneToOneField(PointsTransaction, on_delete=models.PROTECT, related_name="redemption")
    points = models.PositiveIntegerField(_("points"))
    value_rmb = models.DecimalField(_("value (RMB)"), max_digits=10, decimal_places=2)
    doctor_name = models.CharField(_("doctor"), max_length=100)
    licence_number = models.CharField(_("licence number"), max_length=27, blank=True)
    hospital_name = models.CharField(_("hospital"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("date"), auto_now_add=True, db_index=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.doctor_name}: {self.reward} ({self.value_rmb} RMB)"


class PointsSettings(models.Model):
    """Programme-wide points settings (one row)."""

    yearly_value_cap_rmb = models.DecimalField(
        _("yearly value cap per doctor (RMB)"), max_digits=10, decimal_places=2, default=Decimal("1000.00")
    )
    expiry_years = models.PositiveSmallIntegerField(
        _("expiry"), default=1, help_text=_("Points expire at the end of this many calendar years after the year "
                                            "they were earned in (1 = end of the next year).")
    )

    class Meta:
        verbose_name = _("points settings")
        verbose_name_plural = _("points settings")

    def __str__(self):
        return "points settings"

    @classmethod
    def load(cls) -> "PointsSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj
