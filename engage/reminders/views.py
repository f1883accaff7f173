"""Pages: the patient's signed-link page, self-enrolment by programme QR, the treating doctor's portal, the
programme staff's adherence page, and the development-only phone. Views parse, call one service or selector,
render."""

import io
import uuid

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from engage.core.errors import DomainError
from engage.messaging.inbound import classify_text
from engage.messaging.models import InboundMessage, OutboundMessage
from engage.messaging.services import inbound_receive
from engage.reminders import selectors, services
from engage.reminders.demo import demo_patients
from engage.reminders.forms import EnrolmentForm, FollowUpForm, PhoneReplyForm, PlanForm, ReportValueForm
from engage.reminders.models import Patient, PatientConsent, Programme, ReportedValue
from members.wechat.selectors import guest_openid

# --- Patient (signed link, no log-in) ---------------------------------------------------------------------


def _patient_or_error(request, token):
    try:
        return selectors.patient_from_token(token), None
    except DomainError as exc:
        return None, render(request, "reminders/link_invalid.html", {"message": exc.message}, status=exc.status)


@require_http_methods(["GET", "HEAD", "POST"])
def patient_page(request, token: str):
    patient, error = _patient_or_error(request, token)
    if error:
        return error
    form = ReportValueForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in ("taken", "skipped"):
                dose_id = int(request.POST.get("dose", "0") or 0)
                services.dose_confirm_on_page(patient=patient, dose_id=dose_id, taken=action == "taken")
                messages.success(request, _("Thank you, recorded."))
            elif action == "opt_out":
                services.patient_opt_out(patients=[patient], source="patient_page")
                messages.success(request, _("You will receive no more reminders."))
            elif action == "report":
                form = ReportValueForm(request.POST)
                if form.is_valid():
                    services.reported_value_record(
                        patient=patient, kind=ReportedValue.Kind.BLOOD_GLUCOSE, value=form.cleaned_data["value"],
                        unit=form.cleaned_data["unit"], note=form.cleaned_data["note"], source="page")
                    messages.success(request, _("Recorded. Your doctor can see it."))
                else:
                    raise DomainError("invalid_form", _("Please check the form."))
            else:
                raise DomainError("unknown_action", _("Unknown action."))
        except (DomainError, ValueError) as exc:
            messages.error(request, str(getattr(exc, "message", _("Invalid request."))))
            if action == "report":
                return _render_patient(request, patient, form, status=400)
        return redirect(request.path)
    return _render_patient(request, patient, form)


def _render_patient(request, patient, form, status=200):
    context = {"patient": patient, "overview": selectors.dose_overview(patient, history_page=request.GET.get("page")),
               "form": form, "now": timezone.now(), "tz": patient.time_zone}
    return render(request, "reminders/patient_page.html", context, status=status)


# --- Self-enrolment by programme QR -----------------------------------------------------------------------


def _enrolment_from_form(form: EnrolmentForm, *, programme: Programme, method: str, doctor=None,
                         wechat_openid: str = "") -> Patient:
    data = form.cleaned_data
    current = programme.current_consent_text()
    # The doctor's page shows every programme's current text; a version that changed meanwhile is refused.
    version = data.get("consent_version") or (current.version if current else "")
    kinds = {PatientConsent.Kind.PROGRAMME: data["consent_programme"],
             PatientConsent.Kind.HEALTH_INFORMATION: data["consent_health"],
             PatientConsent.Kind.SMS: data["consent_sms"],
             PatientConsent.Kind.WECHAT: bool(wechat_openid and data.get("consent_wechat"))}
    caregiver = caregiver_consent = None
    if data.get("guardian_name"):
        caregiver = services.PersonContact(name=data["guardian_name"], mobile=data.get("guardian_mobile", ""),
                                           language=data["language"])
        g_kinds = ({PatientConsent.Kind.PROGRAMME, PatientConsent.Kind.HEALTH_INFORMATION, PatientConsent.Kind.SMS}
                   if data.get("guardian_consent") else set())
        caregiver_consent = services.ConsentGiven(kinds=frozenset(g_kinds), text_version=version)
    return services.patient_enrol(
        programme=programme,
        contact=services.PersonContact(name=data["name"], mobile=data["mobile"], language=data["language"],
                                       wechat_openid=wechat_openid if kinds[PatientConsent.Kind.WECHAT] else ""),
        consent=services.ConsentGiven(kinds=frozenset(k for k, given in kinds.items() if given),
                                      text_version=version),
        method=method, time_zone=data["time_zone"], birth_date=data.get("birth_date"),
        preferred_channel="wechat" if kinds[PatientConsent.Kind.WECHAT] else "sms",
        doctor=doctor, caregiver=caregiver, caregiver_relationship=data.get("guardian_relationship", ""),
        caregiver_consent=caregiver_consent,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def self_enrol(request, token: str):
    programme = get_object_or_404(Programme, enrolment_token=token, is_active=True)
    text = programme.current_consent_text()
    form = EnrolmentForm(request.POST or None, initial={"consent_version": text.version if text else ""})
    openid = guest_openid(request)  # opened in WeChat: captured silently (snsapi_base) by the log-in middleware
    if not openid:
        del form.fields["consent_wechat"]
    if request.method == "POST" and form.is_valid():
        try:
            patient = _enrolment_from_form(form, programme=programme, method=Patient.EnrolmentMethod.SELF_QR,
                                           wechat_openid=openid)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(selectors.patient_link(patient))
    return render(request, "reminders/enrol.html", {"programme": programme, "consent_text": text, "form": form,
                                                    "self_enrolment": True},
                  status=400 if request.method == "POST" else 200)


def programme_qr(request, programme_id: int):
    """The enrolment QR code (SVG) of a programme, for its staff to print."""
    try:
        programme = selectors.access_programme(user=request.user, programme_id=programme_id)
    except DomainError as exc:
        raise Http404(str(exc.message)) from exc
    url = request.build_absolute_uri(reverse("reminders_self_enrol", args=[programme.enrolment_token]))
    buffer = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


# --- Treating doctor --------------------------------------------------------------------------------------


def _require_verified_doctor(request):
    if not selectors.can_treat_patients(request.user):
        return render(request, "reminders/not_allowed.html", status=403)
    return None


@login_required
def doctor_patients(request):
    refused = _require_verified_doctor(request)
    if refused:
        return refused
    patients = Patient.objects.filter(doctor=request.user).select_related("programme").order_by("-created_at")
    adherence = selectors.adherence_by_patient(patients)
    rows = [(p, adherence.get(p.pk, selectors.Adherence(0, 0))) for p in patients]
    return render(request, "reminders/doctor_patients.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def doctor_enrol(request):
    refused = _require_verified_doctor(request)
    if refused:
        return refused
    programmes = Programme.objects.filter(is_active=True)
    form = EnrolmentForm(request.POST or None, programmes=programmes)
    del form.fields["consent_wechat"]  # the doctor's device: no patient openid to capture here
    texts = {p.pk: p.current_consent_text() for p in programmes}
    if request.method == "POST" and form.is_valid():
        try:
            patient = _enrolment_from_form(form, programme=form.cleaned_data["programme"],
                                           method=Patient.EnrolmentMethod.DOCTOR_PORTAL, doctor=request.user)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Patient enrolled. Add a medication plan."))
            return redirect("reminders_doctor_patient", patient_id=patient.pk)
    return render(request, "reminders/enrol.html", {"form": form, "texts": texts, "self_enrolment": False},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def doctor_patient(request, patient_id: int):
    """The treating doctor's (or programme staff's) view of one patient: plans, adherence, reported values."""
    try:
        patient = selectors.access_patient(user=request.user, patient_id=patient_id)
    except DomainError as exc:
        raise Http404(str(exc.message)) from exc
    can_edit = selectors.can_edit_plans(request.user, patient)
    form = PlanForm(request.POST or None, initial={"start_date": timezone.localdate(), "times": "08:00, 20:00"})
    if request.method == "POST":
        if not can_edit:
            return render(request, "reminders/not_allowed.html", status=403)
        if form.is_valid():
            try:
                services.medication_plan_create(patient=patient, schedule=form.schedule(), actor=request.user)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Plan added. Reminders start with the next dose time."))
                return redirect(request.path)
    context = {
        "patient": patient, "can_edit": can_edit, "form": form,
        "plans": [(plan, selectors.plan_times_summary(plan))
                  for plan in patient.plans.order_by("-is_active", "-created_at")],
        "follow_ups": patient.follow_ups.order_by("-is_active", "next_due_date", "id"),
        "adherence": selectors.adherence_of_patient(patient),
        "values": patient.reported_values.all()[:50],
        "consents": patient.consents.all(),
        "overview": selectors.dose_overview(patient, history_page=request.GET.get("page")),
        "show_name": patient.doctor_id == request.user.pk,
    }
    return render(request, "reminders/doctor_patient.html", context, status=400 if form.errors else 200)


def _accessed(access, **ids):
    """The object `access` (a selectors.access_* function) returns for these ids, or a 404."""
    try:
        return access(**ids)
    except DomainError as exc:
        raise Http404(str(exc.message)) from exc


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def plan_edit(request, medication_plan_id: int):
    """The treating doctor changes a plan (its dose events ahead are recomputed)."""
    plan = _accessed(selectors.access_medication_plan, user=request.user, medication_plan_id=medication_plan_id)
    if not selectors.can_edit_plans(request.user, plan.patient):
        return render(request, "reminders/not_allowed.html", status=403)
    form = PlanForm(request.POST or None, initial=PlanForm.initial_of(plan))
    if request.method == "POST" and form.is_valid():
        try:
            services.medication_plan_update(plan=plan, schedule=form.schedule(), actor=request.user)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Plan changed. Reminders ahead follow the new plan."))
            return redirect("reminders_doctor_patient", patient_id=plan.patient_id)
    return render(request, "reminders/plan_edit.html", {"plan": plan, "patient": plan.patient, "form": form},
                  status=400 if form.errors else 200)


PLAN_ACTIONS = {
    "pause": (services.medication_plan_pause, gettext_lazy("Plan paused: no reminders until you resume it.")),
    "resume": (services.medication_plan_resume, gettext_lazy("Plan resumed: reminders from the next dose time.")),
    "stop": (services.medication_plan_stop, gettext_lazy("Plan stopped.")),
}


@login_required
@require_POST
def plan_status(request, medication_plan_id: int):
    """The plan's pause, resume and stop buttons."""
    plan = _accessed(selectors.access_medication_plan, user=request.user, medication_plan_id=medication_plan_id)
    if not selectors.can_edit_plans(request.user, plan.patient):
        return render(request, "reminders/not_allowed.html", status=403)
    action = PLAN_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Unknown action."))
    else:
        service, done = action
        try:
            service(plan=plan, actor=request.user)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, done)
    return redirect("reminders_doctor_patient", patient_id=plan.patient_id)


def _follow_up_page(request, form, *, patient, follow_up=None):
    return render(request, "reminders/follow_up_form.html",
                  {"patient": patient, "follow_up": follow_up, "form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def follow_up_create(request, patient_id: int):
    patient = _accessed(selectors.access_patient, user=request.user, patient_id=patient_id)
    if not selectors.can_edit_plans(request.user, patient):
        return render(request, "reminders/not_allowed.html", status=403)
    form = FollowUpForm(request.POST or None, initial={"due_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.follow_up_plan_create(patient=patient, schedule=form.schedule(), actor=request.user)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Check-up added."))
            return redirect("reminders_doctor_patient", patient_id=patient.pk)
    return _follow_up_page(request, form, patient=patient)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def follow_up_edit(request, follow_up_plan_id: int):
    follow_up = _accessed(selectors.access_follow_up_plan, user=request.user, follow_up_plan_id=follow_up_plan_id)
    if not selectors.can_edit_plans(request.user, follow_up.patient):
        return render(request, "reminders/not_allowed.html", status=403)
    form = FollowUpForm(request.POST or None, initial=FollowUpForm.initial_of(follow_up), editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.follow_up_plan_update(plan=follow_up, schedule=form.schedule(),
                                           is_active=form.cleaned_data["is_active"], actor=request.user)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Check-up changed."))
            return redirect("reminders_doctor_patient", patient_id=follow_up.patient_id)
    return _follow_up_page(request, form, patient=follow_up.patient, follow_up=follow_up)


@login_required
def programme_list(request):
    """The programmes whose staff list names the user, each with its adherence page and enrolment QR code."""
    if not selectors.can_view_programmes(request.user):
        return render(request, "reminders/not_allowed.html",
                      {"message": _("Only programme staff can see programme adherence.")}, status=403)
    programmes = selectors.programmes_visible_to(request.user).order_by("name", "id")
    return render(request, "reminders/programme_list.html", {"programmes": programmes})


@login_required
def programme_adherence(request, programme_id: int):
    try:
        programme = selectors.access_programme(user=request.user, programme_id=programme_id)
    except DomainError as exc:
        raise Http404(str(exc.message)) from exc
    patients = programme.patients.order_by("pk")
    adherence = selectors.adherence_by_patient(patients)
    rows = [(p, adherence.get(p.pk, selectors.Adherence(0, 0))) for p in patients]
    return render(request, "reminders/programme_adherence.html", {
        "programme": programme, "overall": selectors.adherence_of_programme(programme), "rows": rows})


# --- Development: a phone per demo patient ----------------------------------------------------------------


def _debug_only():
    if not settings.DEBUG:
        raise Http404


def dev_phone(request):
    """DEBUG only: what each demo patient received (the outbox) and a box to reply, through the same inbound
    path as the Twilio webhook."""
    _debug_only()

    phones = []
    for patient in demo_patients():
        hashes = [h for h in (patient.mobile_hash, patient.openid_hash) if h]
        received = list(OutboundMessage.objects.filter(recipient_hash__in=hashes).order_by("-created_at", "-id")[:20])
        # The patient's own replies with the acknowledgement each got (a TwiML reply is no outbox row).
        replies = list(InboundMessage.objects.filter(sender_hash__in=hashes).order_by("-received_at", "-id")[:10])
        phones.append({"patient": patient, "received": received, "replies": replies,
                       "link": selectors.patient_link(patient)})
    return render(request, "reminders/dev_phone.html", {"phones": phones, "form": PhoneReplyForm()})


@require_POST
def dev_phone_reply(request):
    _debug_only()

    form = PhoneReplyForm(request.POST)
    if form.is_valid():
        patient = next((p for p in demo_patients() if p.pk == form.cleaned_data["patient"]), None)
        if patient is None:
            raise Http404
        text = form.cleaned_data["text"]
        row, _created = inbound_receive(channel="sms", sender=patient.mobile, text=text, kind=classify_text(text),
                                        provider_id=f"dev-phone-{uuid.uuid4().hex}")
        messages.info(request, _("Reply: %(reply)s") % {"reply": row.reply or "—"})
    return redirect("reminders_dev_phone")
