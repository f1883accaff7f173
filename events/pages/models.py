"""Meeting pages and speakers.

Everything that is edited with the page and versioned in its revisions lives here. Seats, quotas and
registrations are plain models (events.registrations.models): a page publish restores the page's fields from
the revision and must never rewind a seat counter.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from cms.pages.models import Audience, ReviewedPageMixin
from events.pages.blocks import AgendaBlock
from events.pages.forms import EventPageForm
from events.pages.panels import AcademicSharePanel
from events.pages.provinces import PROVINCES
from members.profiles.models import DoctorProfile


class EventType(models.TextChoices):
    CONFERENCE = "conference", _("Academic conference")
    DEPARTMENT = "department", _("Hospital department meeting")
    CITY = "city", _("City meeting")
    WEBINAR = "webinar", _("Webinar")


class Speaker(models.Model):
    """A speaker on meeting agendas (a snippet), linked to the doctor's member account when they have one."""

    name = models.CharField(_("name"), max_length=50)
    doctor = models.ForeignKey(
        "members.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="speaker_entries",
        verbose_name=_("doctor member"),
    )
    hospital = models.CharField(_("hospital"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    bio = models.TextField(_("biography"), blank=True)
    photo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("photo"),
    )

    panels = [FieldPanel("name"), FieldPanel("doctor"), FieldPanel("hospital"), FieldPanel("title"),
              FieldPanel("bio"), FieldPanel("photo")]

    class Meta:
        verbose_name = _("speaker")
        verbose_name_plural = _("speakers")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}（{self.hospital}）" if self.hospital else self.name


class EventIndexPage(Page):
    """学术会议: the list of upcoming meetings a doctor may attend."""

    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["events.EventPage"]
    max_count = 1
    template = "events/pages/event_index_page.html"

    class Meta:
        verbose_name = _("meeting index")

    def get_context(self, request, *args, **kwargs):
        from events.pages.selectors import EventFilter, event_index_listing  # page-as-view: selectors import pages

        context = super().get_context(request, *args, **kwargs)
        context["filter"] = event_filter = EventFilter.from_query(request.GET)
        context.update(event_index_listing(user=request.user, event_filter=event_filter))
        return context

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-cache"  # the list depends on who asks
        return response


class EventPage(ReviewedPageMixin, Page):
    """One meeting: agenda, venue, time, capacity, who may come and how check-in works.

    Goes live only through the medical → compliance review, like content (cms.models.ReviewedPageMixin).
    """

    event_type = models.CharField(_("meeting type"), max_length=12, choices=EventType.choices,
                                  default=EventType.DEPARTMENT, db_index=True)
    topic = models.CharField(_("topic"), max_length=200)
    therapy_area = models.ForeignKey(
        "members.TherapyArea", null=True, blank=True, on_delete=models.SET_NULL, related_name="events",
        verbose_name=_("therapy area"),
    )
    description = RichTextField(_("description"), blank=True, features=["bold", "italic", "ol", "ul", "link"])
    products = ParentalManyToManyField(
        "cms.Product", blank=True, related_name="events", verbose_name=_("products"),
        help_text=_("Products the meeting is about: reps invite to it only once qualified for each of them."))
    agenda = StreamField(AgendaBlock(), verbose_name=_("agenda"), blank=True)
    speakers = ParentalManyToManyField(Speaker, blank=True, related_name="events", verbose_name=_("speakers"))

    venue_name = models.CharField(_("venue"), max_length=200, blank=True)
    venue_address = models.CharField(_("address"), max_length=300, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True, db_index=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    venue_latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True,
                                         validators=[MinValueValidator(-90), MaxValueValidator(90)])
    venue_longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True,
                                          validators=[MinValueValidator(-180), MaxValueValidator(180)])
    venue_radius_m = models.PositiveIntegerField(
        _("check-in radius (m)"), default=500, validators=[MinValueValidator(50), MaxValueValidator(50_000)],
        help_text=_("Self check-in is accepted within this distance of the venue, when the venue has coordinates."),
    )
    online_url = models.URLField(_("webinar link"), blank=True)

    starts_at = models.DateTimeField(_("starts"), db_index=True)
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(_("capacity"), validators=[MinValueValidator(1)])
    registration_opens_at = models.DateTimeField(_("registration opens"), null=True, blank=True)
    registration_closes_at = models.DateTimeField(
        _("registration closes"), null=True, blank=True, help_text=_("Empty: when the meeting starts."))
    cancellation_deadline = models.DateTimeField(
        _("cancellation deadline"), null=True, blank=True,
        help_text=_("Doctors may cancel until then. Empty: until the meeting starts."))
    checkin_opens_minutes = models.PositiveIntegerField(
        _("check-in opens (minutes before start)"), default=60, validators=[MaxValueValidator(24 * 60)])
    checkin_closes_at = models.DateTimeField(
        _("check-in closes"), null=True, blank=True, help_text=_("Empty: when the meeting ends."))

    audience = models.CharField(_("audience"), max_length=12, choices=Audience.choices, default=Audience.VERIFIED)
    audience_departments = ParentalManyToManyField(
        "members.Department", blank=True, related_name="+", verbose_name=_("departments"),
        help_text=_("Empty: every department."))
    audience_titles = models.JSONField(
        _("professional titles"), default=list, blank=True,
        help_text=_("Empty: every title. Values of members.DoctorProfile.Title."))
    audience_provinces = models.JSONField(_("provinces"), default=list, blank=True,
                                          help_text=_("Empty: every province."))
    approval_required = models.BooleanField(_("registrations need approval"), default=False)
    sponsored = models.BooleanField(
        _("sponsored"), default=True, help_text=_("Sponsored meetings count towards the per-doctor frequency rules."))
    budget = models.DecimalField(_("budget (RMB)"), max_digits=12, decimal_places=2, null=True, blank=True,
                                 validators=[MinValueValidator(0)])
    approval_code = models.CharField(_("approval code"), max_length=40, blank=True, default="", db_index=True)

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel([FieldRowPanel([FieldPanel("event_type"), FieldPanel("therapy_area")]),
                         FieldPanel("topic"), FieldPanel("description"),
                         FieldPanel("products", widget=forms.CheckboxSelectMultiple)], heading=_("Meeting")),
        FieldPanel("agenda"),
        AcademicSharePanel(heading=_("Academic share of the agenda")),
        FieldPanel("speakers", widget=forms.CheckboxSelectMultiple),
        MultiFieldPanel([FieldPanel("venue_name"), FieldPanel("venue_address"),
                         FieldRowPanel([FieldPanel("province"), FieldPanel("city")]),
                         FieldRowPanel([FieldPanel("venue_latitude"), FieldPanel("venue_longitude"),
                                        FieldPanel("venue_radius_m")]),
                         FieldPanel("online_url")], heading=_("Venue")),
        MultiFieldPanel([FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")]),
                         FieldPanel("capacity"),
                         FieldRowPanel([FieldPanel("registration_opens_at"), FieldPanel("registration_closes_at")]),
                         FieldPanel("cancellation_deadline"),
                         FieldRowPanel([FieldPanel("checkin_opens_minutes"), FieldPanel("checkin_closes_at")])],
                        heading=_("Time and seats")),
        MultiFieldPanel([FieldPanel("audience"), FieldPanel("audience_departments"), FieldPanel("audience_titles"),
                         FieldPanel("audience_provinces"), FieldPanel("approval_required"), FieldPanel("sponsored"),
                         FieldPanel("budget")], heading=_("Who may come")),
    ]

    search_fields = [*Page.search_fields, index.SearchField("topic"), index.FilterField("starts_at")]

    parent_page_types = ["events.EventIndexPage"]
    subpage_types = []
    template = "events/pages/event_page.html"
    base_form_class = EventPageForm
    approval_area_code = "MTG"  # approval codes CN-MTG-<year>-<n>

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")

    def clean(self):
        super().clean()
        errors: dict[str, list] = {}

        def add(field, message):
            errors.setdefault(field, []).append(message)

        starts, ends = self.starts_at, self.ends_at
        if starts and ends and ends <= starts:
            add("ends_at", _("The meeting must end after it starts."))
        opens, closes = self.registration_opens_at, self.registration_closes_at
        if opens and closes and closes <= opens:
            add("registration_closes_at", _("Registration must close after it opens."))
        if ends and closes and closes > ends:
            add("registration_closes_at", _("Registration must close before the meeting ends."))
        if ends and opens and opens >= ends:
            add("registration_opens_at", _("Registration must open before the meeting ends."))
        deadline = self.cancellation_deadline
        if deadline and starts and deadline > starts:
            add("cancellation_deadline", _("The cancellation deadline cannot be after the meeting starts."))
        if deadline and opens and deadline <= opens:
            add("cancellation_deadline", _("The cancellation deadline must be after registration opens."))
        if self.checkin_closes_at and starts and self.checkin_closes_at <= starts:
            add("checkin_closes_at", _("Check-in must close after the meeting starts."))
        if (self.venue_latitude is None) != (self.venue_longitude is None):
            message = _("Enter both the latitude and the longitude, or neither.")
            add("venue_latitude", message)
            add("venue_longitude", message)
        errors.update(self._audience_errors())
        if self.pk and self.capacity is not None:
            taken = self._seats_taken()
            if self.capacity < taken:
                add("capacity", _("%(taken)s seats are already taken: the capacity cannot be smaller.")
                    % {"taken": taken})
        if errors:
            raise ValidationError(errors)

    def _audience_errors(self) -> dict[str, list]:
        errors: dict[str, list] = {}
        for field, allowed in (("audience_titles", set(DoctorProfile.Title.values)),
                               ("audience_provinces", set(PROVINCES))):
            values = getattr(self, field)
            if values in (None, ""):
                setattr(self, field, [])
                continue
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                errors[field] = [_("Enter a list of values.")]
            elif unknown := sorted(set(values) - allowed):
                errors[field] = [_("Unknown values: %(values)s.") % {"values": ", ".join(unknown)}]
        return errors

    def _seats_taken(self) -> int:
        from django.db.models import Sum

        return self.quotas.aggregate(total=Sum("taken"))["total"] or 0

    def get_context(self, request, *args, **kwargs):
        from cms.reading.services import forwarded_ref  # page-as-view: services import pages
        from events.pages.selectors import event_page_context  # page-as-view: selectors import pages

        forwarded_ref(request, self)  # a shared link's ?ref= is remembered for the registration that may follow
        context = super().get_context(request, *args, **kwargs)
        context.update(event_page_context(user=request.user, event=self,
                                          preview=getattr(request, "is_preview", False)))
        return context

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-cache"  # the registration box differs per person
        return response


class EventSettings(BaseGenericSetting):
    academic_minutes_floor = models.PositiveSmallIntegerField(
        _("academic minutes floor (%)"), default=60, validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Reviewers see a warning when a meeting's academic agenda items take a smaller share of the "
                    "agenda's minutes."),
    )

    class Meta:
        verbose_name = _("meeting settings")

    @classmethod
    def academic_floor(cls) -> int:
        """The configured floor in percent (the default when the settings row does not exist yet)."""
        value = cls.objects.values_list("academic_minutes_floor", flat=True).first()
        return cls._meta.get_field("academic_minutes_floor").default if value is None else value
