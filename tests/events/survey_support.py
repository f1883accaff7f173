"""Builders for the survey and evidence tests: surveys with questions, check-ins written directly."""

from django.utils import timezone

from events.models import CheckIn, Scan, Survey, SurveyQuestion
from tests.events.factories import make_registration

DEFAULT_QUESTIONS = [
    ("single", "讲者的内容对您的临床工作是否有帮助？", "非常有帮助\n有一定帮助\n帮助不大", True),
    ("multiple", "您希望下次会议讨论哪些主题？", "胰岛素起始\nGLP-1受体激动剂\n低血糖管理\n肾功能不全患者用药", False),
    ("rating", "您对本次会议的整体评分", "", True),
    ("nps", "您向同事推荐本系列会议的可能性有多大？", "", True),
    ("text", "其他意见和建议", "", False),
]


def make_survey(*, event=None, anonymous: bool = False, questions=DEFAULT_QUESTIONS, **fields) -> Survey:
    survey = Survey.objects.create(title=fields.pop("title", "会后问卷"), event=event, anonymous=anonymous, **fields)
    for order, (kind, text, choices, required) in enumerate(questions):
        SurveyQuestion.objects.create(survey=survey, sort_order=order, kind=kind, text=text, choices=choices,
                                      required=required)
    return survey


def check_in(event, doctor, *, method: str = "camera", staff=None, registration=None, when=None) -> CheckIn:
    """A confirmed registration (unless given) checked in through a successful scan row."""
    registration = registration or make_registration(event, doctor)
    ticket = registration.ticket
    scan = Scan.objects.create(event=event, ticket=ticket, staff=staff, method=method, raw_input=ticket.secret,
                               result=Scan.Result.OK, http_status=201, device="test-phone")
    return CheckIn.objects.create(ticket=ticket, event=event, registration=registration, scan=scan, method=method,
                                  checked_in_at=when or timezone.now())


def answers_for(survey, **overrides) -> dict[str, list[str]]:
    """Valid raw answers to DEFAULT_QUESTIONS keyed by question id; `overrides` by position: q0=[...]."""
    questions = list(survey.questions.all())
    values = {"q0": ["0"], "q1": ["1", "2"], "q2": ["5"], "q3": ["9"], "q4": ["讲得很好"]}
    values.update(overrides)
    return {str(q.pk): values[f"q{i}"] for i, q in enumerate(questions) if f"q{i}" in values}
