"""What a patient's reply does: confirm a dose, opt out, report a glucose value, or raise a possible adverse
reaction. Registered with the messaging gateway, which calls `on_inbound` inside the transaction that stores the
inbound message (once per provider id) and `on_outcome` after a reminder's status changed."""

import unicodedata

from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from engage.core.crypto import lookup_hash
from engage.errors import DomainError

from . import services
from .models import Caregiver, DoseEvent, Patient, ReportedValue
from .services_dispatch import PURPOSE_DOSE

OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "T", "退订", "取消"}
TAKEN_WORDS = {"1", "YES", "Y", "OK", "TAKEN", "已服", "已服用", "已吃", "吃了", "好"}
SKIPPED_WORDS = {"0", "NO", "N", "SKIP", "SKIPPED", "跳过", "未服", "没吃", "不吃"}


def _word(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip().upper().rstrip("。.!！ ")


def _senders(channel: str, sender: str) -> tuple[list[Patient], list[Caregiver]]:
    digest = lookup_hash(sender)
    if not digest:
        return [], []
    lookup = Q(mobile_hash=digest) if channel == "sms" else Q(openid_hash=digest)
    return list(Patient.objects.filter(lookup).order_by("-created_at")), list(Caregiver.objects.filter(lookup))


def on_inbound(inbound) -> str | None:
    patients, caregivers = _senders(inbound.channel, inbound.sender)
    word = _word(inbound.text)
    kind = inbound.kind
    if kind == "text" and word in OPT_OUT_WORDS:
        kind = "opt_out"
    if not patients and not caregivers:
        if kind != "text":
            return None  # a follow or an opt-out from someone we do not remind: nothing to change or say
        with translation.override("zh-hans"):
            return _("Hello, this number is not enrolled in a medication reminder programme, so nothing was "
                     "changed. Please ask your doctor if you would like to join.")
    language = patients[0].language if patients else caregivers[0].language
    with translation.override(language):
        return _answer(inbound, kind, word, patients, caregivers)


def _answer(inbound, kind, word, patients, caregivers) -> str | None:
    if kind in ("opt_out", "unsubscribe"):
        services.patient_opt_out(patients=patients, source=f"{inbound.channel}:{kind}")
        services.caregiver_opt_out(caregivers=caregivers, source=f"{inbound.channel}:{kind}")
        if kind == "unsubscribe":
            return None  # WeChat delivers no reply to an unfollow
        return _("You will receive no more reminders. Your doctor can re-enrol you at any time.")
    if kind == "opt_in":
        services.patient_opt_in(patients=patients, source=f"{inbound.channel}:opt_in")
        return _("Reminders are on again from now on. Reply TD to stop them.") if patients else None
    if kind == "subscribe":
        return _("Welcome back. Your medication reminders arrive here.") if patients else None
    if not patients:
        return _("Thank you. Reply TD to stop receiving messages about your family member.")
    patient = patients[0]
    link = _link(patient)
    if word in TAKEN_WORDS or word in SKIPPED_WORDS:
        taken = word in TAKEN_WORDS
        status = DoseEvent.Status.TAKEN if taken else DoseEvent.Status.SKIPPED
        match = services.dose_confirm_by_reply(patients=patients, status=status, via=inbound.channel,
                                               now=inbound.received_at)
        if match.outcome == "confirmed":
            dose = match.doses[0]
            values = {"time": f"{dose.local_time:%H:%M}", "drug": dose.plan.drug}
            if taken:
                return _("Thank you: your %(time)s dose of %(drug)s is recorded as taken.") % values
            return _("Noted: your %(time)s dose of %(drug)s is recorded as skipped.") % values
        if match.outcome == "ambiguous":
            return _("Several doses are open right now. Please confirm each one on this page: %(link)s") % {
                "link": link}
        return _("There is no dose waiting for confirmation right now. Today's doses: %(link)s") % {"link": link}
    glucose = services.parse_glucose(inbound.text)
    if glucose is not None:
        value, unit = glucose
        try:
            row = services.reported_value_record(patient=patient, kind=ReportedValue.Kind.BLOOD_GLUCOSE, value=value,
                                                 unit=unit, source=inbound.channel, measured_at=inbound.received_at)
        except DomainError as exc:
            return str(exc.message)
        return _("Blood glucose %(value)s mmol/L recorded. Your doctor can see it.") % {"value": row.value}
    case = services.pv_case_open_if_needed(patient=patient, text=inbound.text, source=inbound.channel,
                                           source_key=f"inbound:{inbound.channel}:{inbound.provider_id}")
    if case is not None:
        return _("Thank you for telling us. Our medical team will review this and may contact you. If you feel "
                 "seriously unwell, see a doctor or call 120 at once.")
    return _("Reply 1 when you have taken your dose, 0 if you skipped it, \"血糖 6.5\" to report blood glucose, "
             "TD to stop reminders. Today's doses: %(link)s") % {"link": link}


def _link(patient: Patient) -> str:
    from .selectors import patient_link

    return patient_link(patient)


def on_outcome(messages) -> None:
    """Reminders (or the SMS that replaced an unreachable WeChat one) went out: their doses are `sent`. Registered
    with `many=True`: one call per delivered batch."""
    sent_at = {}
    for message in messages:
        if message.purpose == PURPOSE_DOSE and message.status in ("sent", "delivered"):
            sent_at[message.pk] = message.sent_at
            if getattr(message, "fallback_of_id", None):
                sent_at[message.fallback_of_id] = message.sent_at
    if sent_at:
        services.dose_outcome_apply(sent_at=sent_at)
