"""Demo live session for `manage.py seed_demo` (`make run` shows a working room): the demo webinar gets a live
session of the plain provider whose HLS URL is the clip committed under static/live/demo/, set live, with a few
chat messages, approved questions (one still in the queue) and an open poll with some votes.

Everything goes through the services (audit, events, PV detector). Idempotent: a webinar that has a live session
is left as it is.
"""

from django.templatetags.static import static

from engage.core.demo import demo_seeder
from events.live.models import LiveSession
from events.live.services import (
    LiveSessionInput,
    chat_post,
    live_session_save,
    live_state_set,
    poll_create,
    poll_open,
    poll_vote,
    question_ask,
    question_moderate,
    question_vote,
)
from events.pages.models import EventPage, EventType
from members.accounts.models import User
from members.profiles.models import DoctorProfile

WEBINAR_SLUG = "demo-webinar-cgm"
CHAT = [
    "各位老师晚上好，准时来听课。",
    "CGM 的 TIR 目标是 70% 以上吗？",
    "图谱讲得很清楚，谢谢！",
    "请问课件会分享吗？",
]
QUESTIONS = [
    ("夜间低血糖在图谱上有什么典型特征？", False, True),
    ("老年患者的 TIR 目标是否应当放宽？", True, True),
    ("扫描式和实时 CGM 在门诊如何选择？", False, False),  # stays in the moderators' queue
]
POLL = ("您的门诊目前有多少患者在使用 CGM？", ["几乎没有", "不到 10%", "10%–30%", "30% 以上"])


def _doctors(count: int) -> list[User]:
    ids = (DoctorProfile.objects.filter(status=DoctorProfile.Status.VERIFIED, user__is_active=True,
                                        user__username__startswith="demo-doctor-")
           .order_by("user__username").values_list("user_id", flat=True)[1: 1 + count])
    return list(User.objects.filter(pk__in=list(ids)).order_by("username"))


@demo_seeder(order=45)
def seed_demo_live_session() -> dict[str, int]:
    created = {"live sessions": 0, "live chat messages": 0, "live questions": 0, "live polls": 0}
    event = EventPage.objects.filter(slug=WEBINAR_SLUG, event_type=EventType.WEBINAR).first()
    staff = User.objects.filter(username="demo-marketing", is_active=True).first()
    moderator = User.objects.filter(username="demo-reviewer", is_active=True).first()
    if event is None or staff is None or moderator is None or LiveSession.objects.filter(event=event).exists():
        return created
    data = LiveSessionInput(provider=LiveSession.Provider.PLAIN, stream_name="demo-cgm",
                            plain_url=static("live/demo/index.m3u8"), registration_required=False,
                            questions_moderated=True, credit_min_live_minutes=30)
    session = live_session_save(event=event, data=data, actor=staff)
    session = live_state_set(session=session, state=LiveSession.State.LIVE, actor=moderator)
    created["live sessions"] = 1
    doctors = _doctors(len(CHAT) + len(QUESTIONS))
    if len(doctors) < len(CHAT) + len(QUESTIONS):
        return created
    for doctor, text in zip(doctors, CHAT, strict=False):
        chat_post(session=session, author=doctor, text=text)
        created["live chat messages"] += 1
    askers = doctors[len(CHAT):]
    approved = []
    for doctor, (text, anonymous, approve) in zip(askers, QUESTIONS, strict=False):
        question = question_ask(session=session, author=doctor, text=text, anonymous=anonymous)
        created["live questions"] += 1
        if approve:
            approved.append(question_moderate(question=question, actor=moderator, action="approve"))
    for voter in doctors[:3]:
        question_vote(question=approved[0], user=voter)
    poll = poll_create(session=session, actor=moderator, question=POLL[0], options=POLL[1], kind="single")
    poll = poll_open(poll=poll, actor=moderator)
    created["live polls"] = 1
    options = list(poll.options.order_by("pk").values_list("pk", flat=True))
    for n, voter in enumerate(doctors[:5]):
        poll_vote(poll=poll, user=voter, option_ids=[options[min(n % 3 + 1, len(options) - 1)]])
    return created
