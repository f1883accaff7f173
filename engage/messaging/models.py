"""The outbox (`OutboundMessage`) and the inbox (`InboundMessage`) of the messaging gateway.

Recipients and senders are personal information: stored encrypted (`EncryptedTextField`) with a keyed
`lookup_hash` for look-ups; the admin shows a masked number.
"""

import json

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from engage.core.crypto import EncryptedTextField, lookup_hash


def mask_recipient(value: str) -> str:
    """+8613800138000 -> +86138****8000; an openid keeps its first and last 4 characters."""
    if not value:
        return ""
    if len(value) <= 8:
        return value[:2] + "****"
    return f"{value[:-8]}****{value[-4:]}" if value.startswith("+") else f"{value[:4]}****{value[-4:]}"


class RecipientQuerySet(models.QuerySet):
    def to(self, recipient: str):
        """Messages to `recipient` (a number or openid as stored), found by its keyed hash."""
        return self.filter(recipient_hash=lookup_hash(recipient))


class OutboundMessage(models.Model):
    """Everything the platform sends to a person, one row per message: the outbox and its evidence."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        WECHAT_TEMPLATE = "wechat_template", _("WeChat template message")
        WECHAT_SUBSCRIBE = "wechat_subscribe", _("WeChat subscription notice")
        WECHAT_ONCE = "wechat_once", _("WeChat one-time subscription message")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        UNDELIVERED = "undelivered", _("Undelivered")
        UNKNOWN = "unknown", _("Unknown")

    class Category(models.TextChoices):
        # Transactional: what the person asked for or needs to act (sign-in codes, check-in confirmations, reminders
        # they requested) — exempt from the frequency cap. The other two count against it.
        TRANSACTIONAL = "transactional", _("Transactional (exempt from the frequency cap)")
        INFORMATIONAL = "informational", _("Informational")
        PROMOTIONAL = "promotional", _("Promotional")

    class WhenCapped(models.TextChoices):
        HOLD = "hold", _("Wait for the next allowed slot")
        DROP = "drop", pgettext_lazy("frequency cap", "Drop")

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    category = models.CharField(pgettext_lazy("message", "category"), max_length=16, choices=Category.choices,
                                default=Category.TRANSACTIONAL)
    when_capped = models.CharField(_("when over the frequency cap"), max_length=8, choices=WhenCapped.choices,
                                   default=WhenCapped.HOLD)
    recipient = EncryptedTextField(_("recipient"))
    recipient_hash = models.CharField(_("recipient hash"), max_length=64, blank=True, default="")
    recipient_masked = models.CharField(_("recipient"), max_length=40, blank=True, default="")
    fallback_sms_to = EncryptedTextField(_("fallback SMS number"), blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("user"), db_index=False,
    )
    purpose = models.CharField(_("purpose"), max_length=100, blank=True, default="")
    template_key = models.CharField(_("template"), max_length=100)
    params = models.JSONField(_("parameters"), default=dict, blank=True)  # secret ones masked
    # The template's secret parameters (JSON), encrypted, until the provider took the message; then "".
    secret_params = EncryptedTextField(_("secret parameters"), blank=True, default="", editable=False)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    rendered = models.TextField(_("preview"), blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    error_code = models.CharField(_("error code"), max_length=50, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    # Written (and committed) right before the provider is called: a stuck `sending` row without it was never sent.
    provider_call_started_at = models.DateTimeField(_("provider call started"), null=True, blank=True)
    fallback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="fallbacks",
        verbose_name=_("fallback of"), db_index=False,
    )
    resend_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends", verbose_name=_("resend of"),
        db_index=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save


    objects = RecipientQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["-created_at", "-id"]
        # Every status change rewrites an entry in each index (a new row version; none of them is HOT), three times per
        # message: only the indexes a query uses. No `varchar_pattern_ops` twins (nothing searches these by prefix;
        # the admin's search is a substring match no B-tree serves), `status` alone is the due index's prefix, and
        # the provider's id (empty until the call) only where set. The foreign keys keep full indexes: the
        # database's own checks of a deleted message plan once per connection, and a partial index lost to a
        # sequential scan planned while the table was small (100,000 deletes became 100,000 scans).
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="outbox_idempotency_key_uniq"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["recipient_hash"], name="outbox_recipient_idx"),
            models.Index(fields=["purpose"], name="outbox_purpose_idx"),
            models.Index(fields=["created_at"], name="outbox_created_idx"),
            models.Index(fields=["provider_message_id"], name="outbox_provider_id_idx",
                         condition=~Q(provider_message_id="")),
            models.Index(fields=["user"], name="outbox_user_idx"),
            models.Index(fields=["fallback_of"], name="outbox_fallback_of_idx"),
            models.Index(fields=["resend_of"], name="outbox_resend_of_idx"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} → {self.recipient_masked}: {self.template_key}"

    def send_params(self) -> dict:
        """The parameters the provider gets: `params` with the secret ones decrypted (masked once erased)."""
        return {**self.params, **(json.loads(self.secret_params) if self.secret_params else {})}

    @property
    def provider(self) -> str:
        return "sms" if self.channel == self.Channel.SMS else "wechat"


class InboundMessage(models.Model):
    """Every message or event a person sent us (SMS reply, WeChat text, subscribe, opt-out), stored once."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        WECHAT = "wechat", _("WeChat")

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        SUBSCRIBE = "subscribe", _("Subscribe")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe")
        OPT_OUT = "opt_out", _("Opt-out")
        OPT_IN = "opt_in", _("Opt-in")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    provider_id = models.CharField(_("provider id"), max_length=200)
    sender = EncryptedTextField(_("sender"))
    sender_hash = models.CharField(_("sender hash"), max_length=64, db_index=True)
    sender_masked = models.CharField(_("sender"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    text = models.TextField(_("text"), blank=True)
    reply = models.TextField(_("reply"), blank=True)
    received_at = models.DateTimeField(_("received"), db_index=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "provider_id"], name="inbound_once_per_provider_id"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} ← {self.sender_masked}: {self.get_kind_display()}"


class FrequencyCap(models.Model):
    """How many informational and promotional messages one doctor may get, over WeChat and SMS together (one row,
    set by compliance). Transactional messages are exempt."""

    per_day = models.PositiveSmallIntegerField(_("per day"), default=1,
                                               validators=[MinValueValidator(0), MaxValueValidator(50)])
    per_week = models.PositiveSmallIntegerField(_("per week"), default=4,
                                                validators=[MinValueValidator(0), MaxValueValidator(100)])
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("updated by"))

    class Meta:
        verbose_name = _("message frequency cap")
        verbose_name_plural = _("message frequency caps")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="frequency_cap_single_row")]

    def __str__(self):
        return f"{self.per_day}/day, {self.per_week}/week"


class FrequencyCapUse(models.Model):
    """One capped message sent to a doctor, holding a numbered slot of its local day and of its week: the unique
    slots are what keeps concurrent senders under the cap (slot numbers never exceed the cap when taken)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    message = models.OneToOneField(OutboundMessage, on_delete=models.CASCADE, related_name="cap_use",
                                   verbose_name=pgettext_lazy("frequency cap", "message"))
    day = models.DateField(pgettext_lazy("frequency cap", "day"))  # Asia/Shanghai
    week = models.DateField(pgettext_lazy("frequency cap", "week"))  # its Monday
    day_slot = models.PositiveSmallIntegerField()
    week_slot = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("frequency cap use")
        verbose_name_plural = _("frequency cap uses")
        constraints = [
            models.UniqueConstraint(fields=["user", "day", "day_slot"], name="cap_one_message_per_day_slot"),
            models.UniqueConstraint(fields=["user", "week", "week_slot"], name="cap_one_message_per_week_slot"),
            models.CheckConstraint(condition=models.Q(day_slot__gte=1, week_slot__gte=1), name="cap_slots_from_1"),
        ]

    def __str__(self):
        return f"{self.day} #{self.day_slot} / {self.week} #{self.week_slot}"


class WeChatSubscribeGrant(models.Model):
    """One one-time subscription authorisation (一次性订阅消息): the doctor allowed one message of `template_id`
    under `scene`. It is spent by exactly one message (`message`, set when the message is queued); WeChat does not
    add up repeated authorisations of one scene: at most one unspent grant per openid, template and scene."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    openid = models.CharField(_("openid"), max_length=64)
    template_id = models.CharField(_("WeChat template id"), max_length=64)
    scene = models.PositiveSmallIntegerField(pgettext_lazy("wechat", "scene"),
                                             validators=[MinValueValidator(0), MaxValueValidator(10000)])
    granted_at = models.DateTimeField(pgettext_lazy("wechat", "authorised"), auto_now_add=True)
    used_at = models.DateTimeField(pgettext_lazy("wechat", "used"), null=True, blank=True)
    message = models.OneToOneField(OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="subscribe_grant",
                                   verbose_name=pgettext_lazy("frequency cap", "message"))

    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("WeChat one-time subscription")
        verbose_name_plural = _("WeChat one-time subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["openid", "template_id", "scene"], condition=models.Q(used_at__isnull=True),
                                    name="subscribe_grant_one_unused_per_scene"),
            models.CheckConstraint(condition=models.Q(scene__lte=10000), name="subscribe_grant_scene_0_10000"),
        ]
        indexes = [models.Index(fields=["user", "template_id", "used_at"], name="subscribe_grant_user_idx")]

    def __str__(self):
        return f"{self.template_id} #{self.scene}"


class WeChatSubscribeChoice(models.Model):
    """A doctor's answer about one subscription-notice template (订阅通知), as the Official Account's pop-up and
    settings events report it: one row per event and template (the history); the latest row per openid and template
    is the standing choice."""

    class Status(models.TextChoices):
        ACCEPT = "accept", pgettext_lazy("wechat subscription", "Accepted")
        REJECT = "reject", pgettext_lazy("wechat subscription", "Rejected")

    class Source(models.TextChoices):
        POPUP = "popup", _("Subscription pop-up")
        CHANGE = "change", _("Subscription settings")

    openid = models.CharField(_("openid"), max_length=64, db_index=True)
    template_id = models.CharField(_("WeChat template id"), max_length=64)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    popup_scene = models.CharField(pgettext_lazy("wechat", "scene"), max_length=16, blank=True)
    occurred_at = models.DateTimeField(pgettext_lazy("wechat", "changed"))  # WeChat's CreateTime
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("WeChat subscription choice")
        verbose_name_plural = _("WeChat subscription choices")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # WeChat retries an event it got no answer to: the same event is one row
            models.UniqueConstraint(fields=["openid", "template_id", "source", "occurred_at"],
                                    name="subscribe_choice_once_per_event"),
        ]

    def __str__(self):
        return f"{self.template_id}: {self.get_status_display()}"
