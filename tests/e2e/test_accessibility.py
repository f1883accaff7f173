"""Every doctor page in a phone-sized browser: axe-core (static/vendor/axe-core) finds no serious or critical
violation, no text sits flush against the screen edge (tests/e2e/edge_check.js), and each page is kept as a
screenshot at 360 px and 414 px (tests/e2e/artifacts/a11y/, for people to look at)."""

from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone

from tests.cms.factories import area_page, make_article, make_reader
from tests.e2e.conftest import ARTIFACTS, ROOT, sign_in
from tests.events.factories import make_event, make_registration

pytestmark = pytest.mark.e2e

AXE = (ROOT / "static" / "vendor" / "axe-core" / "axe.min.js").read_text()
EDGE_CHECK = (Path(__file__).parent / "edge_check.js").read_text()
WIDTHS = (360, 414)
# axe runs through the DevTools protocol (page.evaluate), which the page's strict CSP does not govern; an injected
# <script> tag would be refused by it (and fail the test on the CSP console message).
RUN_AXE = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                                          "best-practice"]},
                                          resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + (n.failureSummary || ""))}));
}"""


def _doctor_world():
    """A verified doctor with a read, a favourite, a meeting ticket, a patient and points: every page has content."""
    from cms.reading.services import favourite_toggle
    from engage.reminders import services as reminders
    from engage.reminders.models import Programme, ProgrammeConsentText

    doctor = make_reader("verified")
    area = area_page("diabetes")
    article = make_article(area, title="糖尿病患者的血糖管理", slug="a11y-article",
                           body=[("rich_text", "<p>血糖管理需要长期随访。</p>" * 5)])
    favourite_toggle(user=doctor, page_id=article.pk)
    event = make_event(title="糖尿病城市会", capacity=30, venue_name="上海国际会议中心")
    registration = make_registration(event, doctor)
    programme = Programme.objects.create(name="依从性项目", sponsor="某制药", template_keys=["dose_reminder"])
    ProgrammeConsentText.objects.create(programme=programme, version="1.0", text="参加项目……",
                                        health_info_text="处理健康信息……")
    patient = reminders.patient_enrol(
        programme=programme,
        contact=reminders.PersonContact(name="王小明", mobile="+8613912345678", wechat_openid="", language="zh-hans"),
        consent=reminders.ConsentGiven(kinds=frozenset({"programme", "health_information", "sms"}),
                                       text_version="1.0"),
        method="doctor_portal", time_zone="Asia/Shanghai", birth_date=date(1970, 1, 1), preferred_channel="sms",
        doctor=doctor)
    reminders.medication_plan_create(patient=patient, actor=doctor, schedule=reminders.PlanSchedule(
        drug="二甲双胍", dose_text="500 mg", times=["08:00", "20:00"], start_date=timezone.localdate()))
    pages = ["/", "/members/me/", "/members/profile/", "/members/me/points/", "/members/me/points/rewards/",
             "/members/me/points/redemptions/", "/content/search/?q=糖尿病", "/content/reading/history/",
             "/content/reading/favourites/", "/events/me/", "/inbox/", area.url, article.url, event.url,
             f"/events/tickets/{registration.ticket.secret}/", "/reminders/doctor/",
             f"/reminders/patients/{patient.pk}/", "/reminders/doctor/enrol/", "/members/consents/privacy/policy/",
             "/accounts/email/", "/members/me/close/"]
    return doctor, pages


def _check_pages(page, server, pages, out) -> list[str]:
    """Each page at each width: axe's serious/critical violations, text flush against the edge (at 360 px), and a
    screenshot kept in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for path in pages:
            response = page.goto(server + path)
            assert response.status < 400, (path, response.status)
            name = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-") or "home"
            page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.lang").startswith("zh"), path
            page.evaluate(AXE)
            for violation in page.evaluate(RUN_AXE):
                problems.append(f"{width}px {path}: {violation['impact']} {violation['id']} — {violation['help']}"
                                f" {violation['nodes']}")
            if width == 360:
                for flush in page.evaluate(EDGE_CHECK):
                    problems.append(f"{width}px {path}: text flush against the edge {flush}")
    return problems


def test_every_doctor_page_passes_axe_and_keeps_its_padding(live_asgi_server, browser_page):
    page = browser_page
    doctor, pages = _doctor_world()
    sign_in(page, live_asgi_server, doctor)
    problems = _check_pages(page, live_asgi_server, pages, ARTIFACTS / "a11y")
    assert not problems, "\n".join(problems)


def _rep_world():
    """A rep with a territory doctor, a meeting quota, a course with a lesson and an exam, and the knowledge base's
    ask page: the pages a rep works from on the phone."""
    from learning.courses.models import LessonPage
    from members.hospitals.models import Territory
    from members.profiles.models import DoctorProfile
    from tests.events.factories import make_doctor, make_quota, make_rep
    from tests.learning.exam_builders import make_bank, make_course, make_exam

    rep = make_rep()
    doctor = make_doctor(city="上海市")
    territory = Territory.objects.create(code="a11y", name="上海")
    territory.reps.add(rep)
    territory.hospitals.add(DoctorProfile.objects.get(user=doctor).hospital)
    make_quota(make_event(title="糖尿病城市会", capacity=20), seats=2, rep=rep)
    bank = make_bank(per_difficulty=1)
    course = make_course(exam=make_exam(draws=[(bank.root, None, 2)]), lessons=1)
    lesson = LessonPage.objects.child_of(course).get()
    pages = ["/members/rep/doctors/", "/events/rep/quotas/", "/events/rep/share/", "/events/rep/invited/",
             f"/events/rep/doctors/{doctor.pk}/invite/", course.url, lesson.url, "/learning/knowledge/ask/",
             "/learning/knowledge/questions/"]
    return rep, pages


def test_every_rep_page_passes_axe_and_keeps_its_padding(live_asgi_server, browser_page):
    page = browser_page
    rep, pages = _rep_world()
    sign_in(page, live_asgi_server, rep)
    problems = _check_pages(page, live_asgi_server, pages, ARTIFACTS / "a11y-rep")
    assert not problems, "\n".join(problems)


def test_the_live_room_passes_axe_and_keeps_its_padding(live_asgi_server, browser_page):
    from tests.events.live.core_helpers import make_live_session, registered_doctor

    session = make_live_session(state="live", plain_url="/static/live/demo/index.m3u8")
    doctor = registered_doctor(session)
    sign_in(browser_page, live_asgi_server, doctor)
    problems = _check_pages(browser_page, live_asgi_server, [f"/live/{session.pk}/"], ARTIFACTS / "a11y-live")
    assert not problems, "\n".join(problems)
