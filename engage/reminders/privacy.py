"""Patients a doctor enrolled, in the doctor's personal data export as references only (the patients' own data
is theirs, not the doctor's); kept on closing as part of each patient's programme record."""

from engage.core.personal_data import Closing, iso, personal_data
from engage.reminders.models import Patient, PharmacovigilanceCase


@personal_data(section="patients_enrolled", model="reminders.Patient", user_fields=("doctor",), order=80,
               closing=Closing.RETAIN,
               reason="the treating doctor is part of the patient's programme and consent record")
def patients_export(user) -> list[dict]:
    return [{"patient_reference": p.pk, "programme": p.programme.name, "enrolled_at": iso(p.created_at),
             "enrolment_method": p.enrolment_method}
            for p in Patient.objects.filter(doctor=user).select_related("programme").order_by("created_at", "id")]


@personal_data(section="pharmacovigilance_reports", model="reminders.PharmacovigilanceCase", user_fields=("doctor",),
               order=81, closing=Closing.RETAIN,
               reason="a possible adverse reaction a doctor described is pharmacovigilance evidence kept by law")
def doctor_pv_reports_export(user) -> list[dict]:
    return [{"received_at": iso(c.received_at), "where": c.context, "text": c.text, "status": c.status}
            for c in PharmacovigilanceCase.objects.filter(doctor=user).order_by("received_at", "id")]
