"""Survey results as an Excel workbook (for the admin download and the evidence pack)."""

import io

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font

from events.surveys.models import SurveyResponse
from events.surveys.selectors import SurveyResults


def doctor_label(user) -> str:
    profile = getattr(user, "doctor_profile", None)
    return profile.real_name if profile is not None else (user.display_name or user.username)


def survey_results_xlsx(results: SurveyResults) -> bytes:
    """The results as a workbook: a summary sheet, one row per option per question, every response's answers
    (with the doctor only for named surveys) and, for meeting surveys, who has not answered yet."""
    survey = results.survey
    book = Workbook()
    bold = Font(bold=True)
    summary = book.active
    summary.title = _("Summary")[:31]
    summary.append([_("Survey"), survey.title])
    summary.append([_("Meeting"), survey.event.title if survey.event_id else _("Stand-alone")])
    summary.append([_("Anonymous"), _("Yes") if survey.anonymous else _("No")])
    summary.append([_("Responses"), results.responses])
    if results.attendees is not None:
        summary.append([_("Checked-in attendees"), results.attendees])
        summary.append([_("Response rate"), f"{results.response_rate_percent}%" if results.attendees else "–"])
    summary.append([])
    summary.append([_("Question"), _("Kind"), _("Option"), _("Count"), _("Percent"), _("Average"), _("NPS")])
    for cell in summary[summary.max_row]:
        cell.font = bold
    for result in results.questions:
        question = result.question
        if not result.options:
            summary.append([question.text, question.get_kind_display(), "", result.answered, "", "", ""])
        for option in result.options:
            summary.append([question.text, question.get_kind_display(), option.label, option.count,
                            option.percent / 100, result.average, result.nps])
    sheet = book.create_sheet(_("Responses")[:31])
    questions = [result.question for result in results.questions]
    heading = ([pgettext("time", "Submitted")] + ([] if survey.anonymous else [_("Doctor")])
               + [q.text[:100] for q in questions])
    sheet.append(heading)
    for cell in sheet[1]:
        cell.font = bold
    responses = (SurveyResponse.objects.filter(survey=survey).select_related("doctor__doctor_profile")
                 .prefetch_related("answers").order_by("submitted_on", "id"))
    for response in responses.iterator(chunk_size=500):
        by_question = {answer.question_id: answer for answer in response.answers.all()}
        row = [response.submitted_on]
        if not survey.anonymous:
            row.append(doctor_label(response.doctor) if response.doctor_id else "")
        for question in questions:
            answer = by_question.get(question.pk)
            if answer is None:
                row.append("")
            elif answer.choices:
                row.append("; ".join(answer.choices))
            elif answer.number is not None:
                row.append(answer.number)
            else:
                row.append(answer.text)
        sheet.append(row)
    if results.non_responders is not None:
        missing = book.create_sheet(_("Not answered")[:31])
        missing.append([_("Doctor"), _("Hospital")])
        for user in results.non_responders:
            profile = getattr(user, "doctor_profile", None)
            missing.append([doctor_label(user), profile.hospital.name if profile else ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
