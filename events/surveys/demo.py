"""Demo surveys for `manage.py seed_demo`: a named survey of the past meeting answered by most of its attendees,
a survey of today's meeting for the doctors who check in during the demo, and an anonymous stand-alone survey.

Surveys go through the builder's service and answers through the submission service (points and engagement
included). Idempotent: a survey is keyed by its title and meeting; doctors who answered are skipped.
"""

import random

from django.utils import timezone

from engage.core.demo import demo_seeder
from events.pages.models import EventPage
from events.surveys.models import Survey, SurveyParticipation, SurveyQuestion
from events.surveys.selectors import checked_in_doctor_ids
from events.surveys.services import survey_save, survey_submit
from members.accounts.models import User

_SEED = 20261123
ANSWERING_SHARE = 0.7
MEETING_QUESTIONS = [
    ("single", "本次会议内容对您的临床工作是否有帮助？", "非常有帮助\n有一定帮助\n帮助不大", True),
    ("multiple", "您希望后续会议讨论哪些主题？", "指南更新解读\n疑难病例讨论\n新药循证证据\n患者长期随访管理", False),
    ("rating", "您对讲者的整体评价", "", True),
    ("nps", "您向同事推荐本系列会议的可能性有多大？", "", True),
    ("text", "其他意见和建议", "", False),
]


STANDALONE_QUESTIONS = [
    ("single", "您所在科室每周接诊的2型糖尿病患者大约有多少？", "少于50人\n50–100人\n100–200人\n200人以上", True),
    ("multiple", "您启动胰岛素治疗时最常考虑的因素是？", "HbA1c水平\n患者意愿\n低血糖风险\n费用与医保", True),
    ("rating", "您对目前可获得的学术资料的满意度", "", True),
    ("text", "您最希望获得哪方面的学术支持？", "", False),
]


COMMENTS = ["病例讨论很实用，希望时间再长一些。", "讲者讲解清晰，指南解读很有帮助。", "建议提供会议课件下载。", ""]


def _survey(*, title: str, event: EventPage | None, anonymous: bool, questions, actor) -> tuple[Survey, bool]:
    existing = Survey.objects.filter(title=title, event=event).first()
    if existing is not None:
        return existing, False
    intro = "感谢您参加本次学术活动，问卷约需 2 分钟。" if event else "本问卷匿名填写，结果仅用于改进学术服务。"
    survey = Survey(title=title, event=event, anonymous=anonymous, intro=intro)
    survey.questions = [SurveyQuestion(kind=k, text=t, choices=c, required=r, sort_order=i)
                        for i, (k, t, c, r) in enumerate(questions)]
    return survey_save(survey=survey, actor=actor), True


def _answers(survey: Survey, rng: random.Random) -> dict[str, list[str]]:
    answers = {}
    for question in survey.questions.all():
        if question.kind == "single":
            count = len(question.choice_list)
            answers[str(question.pk)] = [str(rng.choices(range(count), weights=range(count, 0, -1))[0])]
        elif question.kind == "multiple":
            picks = rng.sample(range(len(question.choice_list)), rng.randint(1, 2))
            answers[str(question.pk)] = [str(i) for i in picks]
        elif question.kind == "rating":
            answers[str(question.pk)] = [str(rng.choice([3, 4, 4, 5, 5]))]
        elif question.kind == "nps":
            answers[str(question.pk)] = [str(rng.choice([6, 7, 8, 9, 9, 10, 10]))]
        else:
            answers[str(question.pk)] = [rng.choice(COMMENTS)]
    return answers


@demo_seeder(order=50)
def seed_demo_surveys() -> dict[str, int]:
    created = {"surveys": 0, "survey responses": 0}
    marketing = User.objects.filter(username="demo-marketing").first()
    past = EventPage.objects.filter(slug="demo-past-hypertension").first()
    today = (EventPage.objects.filter(slug__startswith="demo-today-", starts_at__date__gte=timezone.localdate())
             .order_by("-starts_at").first())
    plan = [("临床用药习惯调研（匿名）", None, True, STANDALONE_QUESTIONS)]
    if past is not None:
        plan.append(("会后满意度调查", past, False, MEETING_QUESTIONS))
    if today is not None:
        plan.append(("会后问卷：2型糖尿病综合管理", today, False, MEETING_QUESTIONS))
    for title, event, anonymous, questions in plan:
        survey, new = _survey(title=title, event=event, anonymous=anonymous, questions=questions, actor=marketing)
        created["surveys"] += int(new)
        if event is None or event != past:
            continue  # today's and the stand-alone survey are answered during the demo
        answered = SurveyParticipation.objects.filter(survey=survey).values("doctor_id")
        attendees = (User.objects.filter(pk__in=checked_in_doctor_ids(event.pk)).exclude(pk__in=answered)
                     .order_by("pk"))
        for doctor in attendees:
            rng = random.Random(f"{_SEED}:{survey.title}:{doctor.username}")  # the same choice on every run
            if rng.random() > ANSWERING_SHARE:
                continue
            survey_submit(survey_id=survey.pk, doctor=doctor, answers=_answers(survey, rng))
            created["survey responses"] += 1
    return created
