"""Live sessions of a meeting (webinar, or the stream of a hybrid meeting): the stream and its state, the room's
chat, questions and polls, sanctions, the banned words, per-viewer attendance and stream callbacks received.

Chat messages, questions and votes are never deleted: a moderator's delete hides a message from the room, the
row stays as the compliance transcript. Every one-per-person rule (a vote per question, a vote per poll, one
attendance row per viewer and session, one active sanction of a kind) is a database constraint.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

RULE_LOCK_BEFORE_START = timedelta(minutes=15)


class LiveSession(models.Model):
    """The stream of one meeting page. The credit rule locks RULE_LOCK_BEFORE_START before the meeting starts."""

    class Provider(models.TextChoices):
        TENCENT = "tencent", _("Tencent Cloud live")
        ALIYUN = "aliyun", _("Aliyun ApsaraVideo Live")
        PLAIN = "plain", _("Plain HLS URL (development)")

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Not started")
        LIVE = "live", pgettext_lazy("live session state", "Live")
        ENDED = "ended", _("Ended")

    wagtail_reference_index_ignore = True

    event = models.OneToOneField("events.EventPage", on_delete=models.PROTECT, related_name="live_session",
                                 verbose_name=_("meeting"))
    provider = models.CharField(_("stream provider"), max_length=10, choices=Provider.choices,
                                default=Provider.TENCENT)
    app_name = models.SlugField(_("stream app name"), max_length=50, default="live")
    stream_name = models.SlugField(_("stream name"), max_length=100, unique=True)
    plain_url = models.CharField(_("HLS URL (plain provider)"), max_length=500, blank=True,
                                 help_text=_("For development: an unsigned HLS playlist URL or a static path."))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.SCHEDULED,
                             db_index=True)
    started_at = models.DateTimeField(_("went live"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    replay_url = models.CharField(_("replay URL"), max_length=500, blank=True)
    replay_file_id = models.CharField(_("replay file id"), max_length=100, blank=True)
    replay_ready_at = models.DateTimeField(_("replay ready"), null=True, blank=True)
    registration_required = models.BooleanField(
        _("confirmed registration required"), default=True,
        help_text=_("Only doctors with a confirmed registration for the meeting may enter the room."))
    questions_moderated = models.BooleanField(
        _("questions need approval"), default=True,
        help_text=_("Questions go to the moderators' queue before the audience sees them."))
    credit_min_live_minutes = models.PositiveIntegerField(
        _("minimum minutes watched"), null=True, blank=True,
        help_text=_("Minutes a doctor must watch for attendance credit."))
    credit_min_share = models.PositiveSmallIntegerField(
        _("minimum share watched (%)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Alternatively: the share of the session's minutes a doctor must watch."))
    prompts_enabled = models.BooleanField(
        _("attention prompts"), default=False,
        help_text=_("Ask \"still there?\" at random 12–15 minute intervals; unanswered prompts void the credit."))
    replay_earns_credit = models.BooleanField(_("replay earns credit"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("live session")
        verbose_name_plural = _("live sessions")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_min_share__isnull=True)
                                   | Q(credit_min_share__gte=1, credit_min_share__lte=100),
                                   name="live_credit_share_percent"),
        ]

    def __str__(self):
        return f"{self.event.title} ({self.get_state_display()})"

    @property
    def rule_locked_from(self):
        return self.event.starts_at - RULE_LOCK_BEFORE_START

    @property
    def scheduled_minutes(self) -> int:
        return max(int((self.event.ends_at - self.event.starts_at).total_seconds() // 60), 1)


class StreamCallback(models.Model):
    """A provider callback handled once: repeats (providers retry) find the row and change nothing."""

    wagtail_reference_index_ignore = True

    provider = models.CharField(max_length=10)
    dedupe_key = models.CharField(max_length=200)
    event_type = models.CharField(max_length=20)
    session = models.ForeignKey(LiveSession, null=True, on_delete=models.SET_NULL, related_name="callbacks")
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "dedupe_key"], name="live_callback_once")]

    def __str__(self):
        return f"{self.provider} {self.event_type} {self.dedupe_key}"


class ChatMessage(models.Model):
    """One chat message, kept forever for compliance; a moderator's delete hides it from the room."""

    wagtail_reference_index_ignore = True

    session = models.ForeignKey(LiveSession, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("author"))
    text = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent"), auto_now_add=True, db_index=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("deleted by"))
    pv_case = models.ForeignKey("reminders.PharmacovigilanceCase", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        indexes = [models.Index(fields=["session", "id"], name="live_chat_session_id")]

    def __str__(self):
        return f"#{self.pk}: {self.text[:50]}"


class RoomSanction(models.Model):
    """A moderator mutes (may watch, may not write) or bans (may not enter) a person for one session."""

    class Kind(models.TextChoices):
        MUTE = "mute", _("Muted")
        BAN = "ban", _("Banned")

    wagtail_reference_index_ignore = True

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="sanctions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "user", "kind"], condition=Q(lifted_at__isnull=True),
                                               name="live_sanction_one_active")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.user_id}"


class Question(models.Model):
    """A question to the speakers. `anonymous` hides the author from the audience only: the row keeps them."""

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting moderation")
        APPROVED = "approved", _("Approved")
        DISMISSED = "dismissed", _("Dismissed")
        ANSWERED = "answered", _("Answered")

    VISIBLE = (State.APPROVED, State.ANSWERED)

    wagtail_reference_index_ignore = True

    session = models.ForeignKey(LiveSession, on_delete=models.PROTECT, related_name="questions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("question"))
    anonymous = models.BooleanField(_("anonymous to the audience"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    pinned = models.BooleanField(_("pinned"), default=False)
    score = models.PositiveIntegerField(_("votes"), default=0)
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    pv_case = models.ForeignKey("reminders.PharmacovigilanceCase", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        indexes = [models.Index(fields=["session", "state"], name="live_question_session_state")]

    def __str__(self):
        return self.text[:80]


class QuestionVote(models.Model):
    wagtail_reference_index_ignore = True

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["question", "user"], name="live_question_vote_once")]

    def __str__(self):
        return f"+1 #{self.question_id}"


class Poll(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")

    wagtail_reference_index_ignore = True

    session = models.ForeignKey(LiveSession, on_delete=models.PROTECT, related_name="polls")
    question = models.CharField(_("question"), max_length=300)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.SINGLE)
    state = models.CharField(_("state"), max_length=6, choices=State.choices, default=State.DRAFT)
    results_shown = models.BooleanField(_("results shown to the audience"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("poll")
        verbose_name_plural = _("polls")
        ordering = ["id"]

    def __str__(self):
        return self.question

    @property
    def results_visible_to_audience(self) -> bool:
        return self.results_shown or self.state == self.State.CLOSED


class PollOption(models.Model):
    wagtail_reference_index_ignore = True

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    text = models.CharField(_("option"), max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.text


class PollVote(models.Model):
    """One vote per person per poll (constraint); a multiple-choice vote holds several choices."""

    wagtail_reference_index_ignore = True

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    options = models.ManyToManyField(PollOption, through="PollChoice", related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "user"], name="live_poll_vote_once")]

    def __str__(self):
        return f"#{self.poll_id} by #{self.user_id}"


class PollChoice(models.Model):
    wagtail_reference_index_ignore = True

    vote = models.ForeignKey(PollVote, on_delete=models.CASCADE, related_name="choices")
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, related_name="choices")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vote", "option"], name="live_poll_choice_once")]

    def __str__(self):
        return f"#{self.vote_id} → #{self.option_id}"


class BannedWord(models.Model):
    """A word chat refuses, kept by medical staff in the admin (matching ignores case, width and spaces)."""

    wagtail_reference_index_ignore = True

    word = models.CharField(_("word"), max_length=50, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("banned chat word")
        verbose_name_plural = _("banned chat words")
        ordering = ["word"]

    def __str__(self):
        return self.word


class Attendance(models.Model):
    """What one viewer watched of one session: a bit per minute for live (minute n after going live) and one per
    minute of the replay's timeline, so a minute counts once however many heartbeats or tabs reported it."""

    wagtail_reference_index_ignore = True

    session = models.ForeignKey(LiveSession, on_delete=models.PROTECT, related_name="attendances")
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    joined_at = models.DateTimeField(_("joined"))
    last_seen_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    live_bitmap = models.BinaryField(default=b"")
    replay_bitmap = models.BinaryField(default=b"")
    live_minutes = models.PositiveIntegerField(_("live minutes"), default=0)
    replay_minutes = models.PositiveIntegerField(_("replay minutes"), default=0)
    prompts_issued = models.PositiveSmallIntegerField(_("prompts issued"), default=0)
    prompts_answered = models.PositiveSmallIntegerField(_("prompts answered"), default=0)
    prompt_due_at = models.DateTimeField(null=True, blank=True)
    prompt_open_since = models.DateTimeField(null=True, blank=True)
    credited_at = models.DateTimeField(_("credit paid"), null=True, blank=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [models.UniqueConstraint(fields=["session", "viewer"], name="live_attendance_once")]

    def __str__(self):
        return f"#{self.viewer_id} @ #{self.session_id}"
