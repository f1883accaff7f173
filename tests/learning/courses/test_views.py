from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from learning.courses.models import CoursePage, LessonPage, LessonProgress
from tests.factories import make_doctor, user_with_role
from tests.learning.exam_builders import make_bank, make_course, make_exam

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_a_rep_opens_a_lesson_and_sees_continue_learning_on_the_home_page():
    course = make_course(exam=make_exam(draws=[(make_bank(per_difficulty=1).root, None, 2)]), lessons=2)
    first = LessonPage.objects.child_of(course).order_by("path").first()
    rep = user_with_role("rep")
    client = _client(rep)
    page = client.get(first.url)
    assert page.status_code == 200 and b'data-testid="lesson-complete"' in page.content
    assert b"data-lesson-progress-url" in page.content
    assert LessonProgress.objects.filter(user=rep, lesson=first).exists()
    home = client.get("/")
    assert b'data-testid="continue-learning"' in home.content and first.url.encode() in home.content
    done = client.post(f"/learning/lessons/{first.pk}/complete/")
    assert done.status_code == 302
    outline = client.get(course.url)
    assert outline.content.count(b'data-completed="1"') == 1 and b'data-testid="course-exam"' in outline.content


def test_who_may_open_a_course():
    course = make_course(lessons=1)
    assert _client().get(course.url).status_code == 302
    assert _client(make_doctor()).get(course.url).status_code == 403
    assert _client(user_with_role("marketing")).get(course.url).status_code == 200
    assert not LessonProgress.objects.exists()  # authors read, they do not learn


def test_an_expired_course_answers_410():
    course = make_course(lessons=1)
    CoursePage.objects.filter(pk=course.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    lesson = LessonPage.objects.child_of(course).get()
    client = _client(user_with_role("rep"))
    assert client.get(course.url).status_code == 410
    assert client.get(lesson.url).status_code == 410


def test_lesson_progress_api():
    course = make_course(lessons=1)
    lesson = LessonPage.objects.child_of(course).get()
    client = _client(user_with_role("rep"))
    response = client.post(f"/api/v1/learning/lessons/{lesson.pk}/progress", {"seconds": 20, "position": "42"},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["seconds_spent"] == 20
    assert client.post(f"/api/v1/learning/lessons/{lesson.pk}/progress", {"seconds": -5},
                       content_type="application/json").status_code == 422
    done = client.post(f"/api/v1/learning/lessons/{lesson.pk}/complete")
    assert done.status_code == 200 and done.json()["completed_at"]


def _video_lesson(**video) -> LessonPage:
    course = make_course(lessons=1)
    lesson = LessonPage.objects.child_of(course).get()
    lesson.body = [("video", {"caption": "讲解", **video}), ("rich_text", "<p>正文</p>")]
    lesson.save_revision().publish()
    return lesson


def test_an_hls_lesson_video_loads_the_vendored_hls_js_and_the_stream():
    stream = "https://cdn.example.com/course/lesson-1/index.m3u8?sign=abc"
    lesson = _video_lesson(stream_url=stream)
    page = _client(user_with_role("rep")).get(lesson.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<script src="/static/vendor/hls.js/hls.light.min.js" defer data-testid="hls-script"></script>' in html
    assert html.index("vendor/hls.js/hls.light.min.js") < html.index("js/learning-lesson.js")  # Hls defined first
    assert f'data-lesson-video data-hls-src="{stream.replace("&", "&amp;")}"' in html
    assert "application/x-mpegURL" not in html  # the script attaches the stream (natively or via hls.js)


def test_an_mp4_lesson_video_plays_plain_without_hls_js():
    lesson = _video_lesson(mp4_url="https://cdn.example.com/course/lesson-1.mp4")
    html = _client(user_with_role("rep")).get(lesson.url).content.decode()
    assert '<source src="https://cdn.example.com/course/lesson-1.mp4" type="video/mp4">' in html
    assert "hls.light.min.js" not in html and "data-hls-src" not in html
    assert "data-lesson-progress-url" in html  # visible-time tracking stays on
