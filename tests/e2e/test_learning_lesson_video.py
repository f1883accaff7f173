"""A rep on a phone (WeChat's Android in-app browser, which has no native HLS) opens a lesson whose video is the
demo HLS clip: the page plays it through the vendored hls.js without console errors, and when the phone locks the
page reports the visible time and the video position for resuming."""

import pytest

from learning.courses.models import LessonPage, LessonProgress
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.factories import user_with_role
from tests.learning.exam_builders import make_course

pytestmark = pytest.mark.e2e

ANDROID_WECHAT = ("Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.6099.193 Mobile Safari/537.36 XWEB/1220099 MMWEBSDK/20240301 "
                  "MicroMessenger/8.0.49.2600 WeChat/arm64 Weixin NetType/WIFI Language/zh_CN")
PLAYING = """() => {
  const v = document.querySelector('video[data-lesson-video]');
  if (!v) return false;
  if (!window.__start && v.currentTime > 0) window.__start = v.currentTime;
  return v.readyState >= 3 && !v.paused && window.__start !== undefined && v.currentTime > window.__start + 1.5;
}"""


def test_a_rep_plays_an_hls_lesson_video_and_the_time_is_tracked(live_asgi_server, browser_page):
    course = make_course(lessons=1)
    lesson = LessonPage.objects.child_of(course).get()
    stream = f"{live_asgi_server}/static/live/demo/index.m3u8"  # the live feature's demo clip, same origin
    lesson.body = [("video", {"stream_url": stream, "caption": "演示视频"}), ("rich_text", "<p>正文</p>")]
    lesson.save_revision().publish()
    rep = user_with_role("rep")

    phone = browser_page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                                     user_agent=ANDROID_WECHAT, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_asgi_server, rep)

    page.goto(live_asgi_server + lesson.url)
    video = page.locator("video[data-lesson-video]")
    assert video.get_attribute("data-hls-src") == stream
    page.wait_for_function("() => document.querySelector('video[data-lesson-video]').dataset.player")
    assert video.get_attribute("data-player") == "hls.js"
    video.evaluate("v => { v.muted = true; return v.play(); }")  # autoplay rules: a muted start needs no tap
    page.wait_for_function(PLAYING, timeout=30000)
    page.screenshot(path=str(ARTIFACTS / "learning-lesson-hls.png"))
    page.wait_for_timeout(2500)  # a few visible seconds to report (not a timing assertion: any count > 0 passes)
    # The phone locks (WeChat goes to the background): the page is hidden and reports what it counted.
    with page.expect_response(lambda response: response.url.endswith(f"/lessons/{lesson.pk}/progress")) as sent:
        page.evaluate("""() => {
          Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
          document.dispatchEvent(new Event("visibilitychange"));
        }""")
    assert sent.value.status == 200
    phone.close()

    progress = LessonProgress.objects.get(user=rep, lesson=lesson)
    assert progress.seconds_spent > 0 and int(progress.position) > 0
    assert errors == []
