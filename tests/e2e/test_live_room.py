"""The live room with two browsers: a doctor on a phone (WeChat's in-app browser) watches the demo HLS clip, asks a
question that a moderator at the desktop console approves, and votes in the poll the moderator opens; the results
appear on both screens."""

import pytest

from events.live.models import PollVote, Question
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.events.factories import make_staff
from tests.events.live.core_helpers import make_live_session, registered_doctor

pytestmark = pytest.mark.e2e

ANDROID_WECHAT = ("Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.6099.193 Mobile Safari/537.36 XWEB/1220099 MMWEBSDK/20240301 "
                  "MicroMessenger/8.0.49.2600 WeChat/arm64 "
                  "Weixin NetType/WIFI Language/zh_CN")
PLAYING = """() => {
  const v = document.querySelector('[data-testid=live-video]');
  if (!v) return false;
  if (!window.__start && v.currentTime > 0) window.__start = v.currentTime;
  return v.readyState >= 3 && !v.paused && window.__start !== undefined && v.currentTime > window.__start + 0.5;
}"""


def _watch_csp(page, violations: list) -> None:
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)


def test_doctor_watches_asks_and_votes_while_a_moderator_runs_the_room(live_asgi_server, browser_page):
    session = make_live_session(state="live", plain_url="/static/live/demo/index.m3u8")
    doctor = registered_doctor(session)
    moderator = make_staff("medical_reviewer")
    browser = browser_page.context.browser
    violations: list[str] = []
    phone = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=ANDROID_WECHAT, locale="zh-CN",
                                is_mobile=True, has_touch=True)
    desk = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    doctor_page, console = phone.new_page(), desk.new_page()
    for page in (doctor_page, console):
        page.set_default_timeout(20000)
        _watch_csp(page, violations)
    sign_in(doctor_page, live_asgi_server, doctor)
    sign_in(console, live_asgi_server, moderator)

    doctor_page.goto(f"{live_asgi_server}/live/{session.pk}/")
    doctor_page.wait_for_selector("[data-testid=live-state][data-state=live]")
    doctor_page.wait_for_function(PLAYING, timeout=30000)
    console.goto(f"{live_asgi_server}/live/{session.pk}/console/")
    console.wait_for_selector("[data-testid=live-console]")
    console.wait_for_selector("[data-testid=console-conn][data-status=open]", state="attached")
    doctor_page.wait_for_selector("[data-testid=live-conn][data-status=open]", state="attached")
    doctor_page.screenshot(path=str(ARTIFACTS / "live_room_playing.png"))

    # The doctor asks; the question waits in the moderators' queue, and appears for the doctor once approved.
    doctor_page.click("[data-testid=tab-questions]")
    doctor_page.fill("[data-testid=question-input]", "老年患者的 TIR 目标是否应当放宽？")
    doctor_page.click("[data-testid=question-submit]")
    queued = console.locator("[data-testid=queued-question]", has_text="老年患者的 TIR 目标")
    queued.wait_for()
    assert doctor_page.locator("[data-testid=question]", has_text="老年患者").count() == 0
    queued.locator("[data-testid=question-approve]").click()
    doctor_page.locator("[data-testid=question]", has_text="老年患者的 TIR 目标").wait_for()
    assert Question.objects.get(session=session).state == Question.State.APPROVED

    # The moderator creates and opens a poll; the doctor votes; the results appear on both screens.
    console.fill("[data-testid=poll-question]", "您的门诊有多少患者使用 CGM？")
    console.fill("[data-testid=poll-options]", "几乎没有\n不到 10%\n10% 以上")
    console.click("[data-testid=poll-create]")
    poll_card = console.locator("[data-testid=console-poll]", has_text="您的门诊有多少患者")
    poll_card.locator("[data-testid=poll-open]").click()
    doctor_page.click("[data-testid=tab-polls]")
    doctor_poll = doctor_page.locator("[data-testid=poll][data-state=open]", has_text="您的门诊有多少患者")
    doctor_poll.get_by_text("不到 10%").click()
    doctor_poll.locator("[data-testid=poll-vote]").click()
    doctor_poll.get_by_text("不到 10% ✓").wait_for()
    console.locator("[data-testid=console-poll-result]", has_text="1").first.wait_for()
    poll_card.locator("[data-testid=poll-show]").click()
    doctor_page.locator("[data-testid=poll-result]").first.wait_for()
    shown = doctor_page.locator("[data-testid=poll-result]").all_inner_texts()
    assert any(text.startswith("1 ") for text in shown), shown
    assert PollVote.objects.filter(user=doctor).count() == 1
    doctor_page.screenshot(path=str(ARTIFACTS / "live_room_poll.png"))
    console.screenshot(path=str(ARTIFACTS / "live_console.png"), full_page=True)
    phone.close()
    desk.close()
    assert not violations, violations
