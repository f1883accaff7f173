"""SCORM uploads and commits: stored only when safe, each commit applied once, passed/completed complete the lesson,
a late score is kept, resume data comes back, malformed or forged commits change nothing."""

import io
from decimal import Decimal

import pytest
from django.core.files.storage import storages

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from learning.courses.models import LessonProgress
from learning.scorm.exporters import scorm_sample_package
from learning.scorm.models import ScormCommit, ScormPackage, ScormRegistration
from learning.scorm.selectors import scorm_resume_data
from learning.scorm.services import launch_token, scorm_commit, scorm_package_upload
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

SESSION = "a1b2c3d4e5f6"


def _commit(user, package, sequence, values, *, session=SESSION, token=None):
    return scorm_commit(user=user, package=package, token=token or launch_token(user=user, package=package),
                        session=session, sequence=sequence, values=values)


def test_upload_stores_the_files_privately_and_attaches_the_lesson(scorm_lesson):
    package = scorm_lesson
    storage = storages["private"]
    assert package.launch_path == "index.html"
    assert package.file_count == 3
    assert storage.exists(package.file_name("sco.js"))
    assert package.lesson is not None
    assert AuditEntry.objects.filter(action="scorm.package_upload").count() == 1


def test_a_refused_upload_stores_nothing():
    bad = scorm_sample_package(extra={"../escape.html": b"x"})
    with pytest.raises(DomainError) as caught:
        scorm_package_upload(actor=user_with_role("marketing"), upload=io.BytesIO(bad))
    assert caught.value.code == "scorm_unsafe_path"
    assert ScormPackage.objects.count() == 0
    root = storages["private"].location
    assert not list(__import__("pathlib").Path(root).rglob("*.js"))


def test_only_package_managers_upload():
    with pytest.raises(DomainError) as caught:
        scorm_package_upload(actor=user_with_role("rep"), upload=io.BytesIO(scorm_sample_package()))
    assert caught.value.code == "scorm_upload_not_allowed"


def test_a_new_package_replaces_the_lessons_earlier_one(scorm_lesson):
    lesson = scorm_lesson.lesson
    newer = scorm_package_upload(actor=user_with_role("admin"), upload=io.BytesIO(scorm_sample_package()),
                                 lesson_id=lesson.pk)
    scorm_lesson.refresh_from_db()
    assert scorm_lesson.lesson is None and newer.lesson_id == lesson.pk


@pytest.mark.parametrize("final", ["passed", "completed"])
def test_passed_and_completed_both_complete_the_lesson(scorm_lesson, final):
    rep = user_with_role("rep")
    _commit(rep, scorm_lesson, 1, {"cmi.core.lesson_status": "incomplete"})
    assert not LessonProgress.objects.filter(user=rep, completed_at__isnull=False).exists()
    registration, applied = _commit(rep, scorm_lesson, 2, {"cmi.core.lesson_status": final})
    assert applied and registration.completed_at is not None
    progress = LessonProgress.objects.get(user=rep, lesson=scorm_lesson.lesson)
    assert progress.completed_at is not None


def test_failed_does_not_complete_the_lesson(scorm_lesson):
    rep = user_with_role("rep")
    registration, _applied = _commit(rep, scorm_lesson, 1, {"cmi.core.lesson_status": "failed",
                                                            "cmi.core.score.raw": "40"})
    assert registration.completed_at is None
    assert not LessonProgress.objects.filter(user=rep, completed_at__isnull=False).exists()


def test_a_score_after_the_status_is_kept_and_the_completion_stays(scorm_lesson):
    rep = user_with_role("rep")
    _commit(rep, scorm_lesson, 1, {"cmi.core.lesson_status": "passed"})
    registration, _applied = _commit(rep, scorm_lesson, 2, {"cmi.core.score.raw": "88.5",
                                                            "cmi.core.lesson_status": "incomplete"})
    assert registration.score_raw == Decimal("88.50")
    assert registration.lesson_status == "passed"  # a completion is never undone by a later commit
    assert registration.completed_at is not None


def test_a_repeated_commit_is_applied_once(scorm_lesson):
    rep = user_with_role("rep")
    values = {"cmi.core.lesson_location": "page-2", "cmi.core.session_time": "00:05:00"}
    _first, applied = _commit(rep, scorm_lesson, 7, values)
    again, applied_again = _commit(rep, scorm_lesson, 7, {**values, "cmi.core.lesson_location": "forged"})
    assert applied and not applied_again
    assert again.lesson_location == "page-2"
    assert ScormCommit.objects.filter(registration=again).count() == 1


def test_what_scorm_again_sends_besides_the_stored_values_is_accepted(scorm_lesson):
    rep = user_with_role("rep")
    registration, applied = _commit(rep, scorm_lesson, 1, {
        "cmi.core.lesson_status": "incomplete", "cmi.objectives": {}, "cmi.interactions": {},
        "cmi.core.student_id": str(rep.pk), "cmi.core.score.raw": ""})
    assert applied and registration.lesson_status == "incomplete" and registration.score_raw is None


def test_session_time_counts_each_session_once(scorm_lesson):
    rep = user_with_role("rep")
    _commit(rep, scorm_lesson, 1, {"cmi.core.session_time": "00:02:00"})
    _commit(rep, scorm_lesson, 2, {"cmi.core.session_time": "00:05:00"})  # the same session, later
    registration, _applied = _commit(rep, scorm_lesson, 1, {"cmi.core.session_time": "00:01:30"},
                                     session="ffffeeee0000")
    assert registration.time_spent_seconds == 5 * 60 + 90


def test_resume_returns_suspend_data_and_location(scorm_lesson):
    rep = user_with_role("rep")
    assert scorm_resume_data(user=rep, package=scorm_lesson)["core"]["entry"] == "ab-initio"
    _commit(rep, scorm_lesson, 1, {"cmi.core.lesson_location": "page-2", "cmi.suspend_data": "visited=1,2",
                                   "cmi.core.lesson_status": "incomplete", "cmi.core.exit": "suspend"})
    data = scorm_resume_data(user=rep, package=scorm_lesson)
    assert data["suspend_data"] == "visited=1,2"
    assert data["core"]["lesson_location"] == "page-2"
    assert data["core"]["entry"] == "resume"
    assert data["core"]["lesson_status"] == "incomplete"


@pytest.mark.parametrize("values", [
    None, [], "cmi.core.lesson_status=passed",
    {"cmi.core.lesson_status": "finished"},
    {"cmi.core.score.raw": "abc"},
    {"cmi.core.score.raw": "150"},
    {"cmi.core.score.raw": "NaN"},
    {"cmi.suspend_data": "x" * 4097},
    {"cmi.core.lesson_location": "x" * 256},
    {"cmi.core.session_time": "5 minutes"},
    {"cmi.core.exit": "bye"},
    {"cmi.core.lesson_status": {"nested": "passed"}},
])
def test_malformed_commits_are_refused_and_change_nothing(scorm_lesson, values):
    rep = user_with_role("rep")
    with pytest.raises(DomainError) as caught:
        _commit(rep, scorm_lesson, 1, values)
    assert caught.value.code == "scorm_commit_invalid"
    assert not ScormRegistration.objects.filter(user=rep).exists()


@pytest.mark.parametrize(("session", "sequence"), [("", 1), ("../../x", 1), (SESSION, "1"), (SESSION, -1),
                                                    (SESSION, True), (SESSION, None)])
def test_commits_without_a_session_or_sequence_are_refused(scorm_lesson, session, sequence):
    rep = user_with_role("rep")
    with pytest.raises(DomainError) as caught:
        _commit(rep, scorm_lesson, sequence, {"cmi.core.lesson_status": "passed"}, session=session)
    assert caught.value.code == "scorm_commit_invalid"
    assert not ScormRegistration.objects.exists()


def test_a_commit_with_another_learners_token_is_refused(scorm_lesson):
    victim, forger = user_with_role("rep"), user_with_role("rep")
    _commit(victim, scorm_lesson, 1, {"cmi.core.lesson_status": "incomplete"})
    with pytest.raises(DomainError) as caught:
        _commit(forger, scorm_lesson, 2, {"cmi.core.lesson_status": "passed"},
                token=launch_token(user=victim, package=scorm_lesson))
    assert caught.value.code == "scorm_token_invalid"
    assert ScormRegistration.objects.get(user=victim).lesson_status == "incomplete"
    assert not ScormRegistration.objects.filter(user=forger).exists()


def test_a_tampered_token_is_refused(scorm_lesson):
    rep = user_with_role("rep")
    token = launch_token(user=rep, package=scorm_lesson)
    with pytest.raises(DomainError) as caught:
        _commit(rep, scorm_lesson, 1, {"cmi.core.lesson_status": "passed"}, token=token[:-2] + "xx")
    assert caught.value.code == "scorm_token_invalid"


MASTERY_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="mastery-test" version="1.0" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
    xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org"><organization identifier="org"><title>掌握分数测试</title>
    <item identifier="i1" identifierref="r1"><title>测验</title>
      <adlcp:masteryscore>{mastery}</adlcp:masteryscore></item>
  </organization></organizations>
  <resources><resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="quiz.html">
    <file href="quiz.html"/></resource></resources>
</manifest>"""
QUIZ_PAGE = b"""<!DOCTYPE html><html><body><script>
var api = window.parent.API; api.LMSInitialize(""); api.LMSSetValue("cmi.core.score.raw", "65");
api.LMSSetValue("cmi.core.lesson_status", "completed"); api.LMSCommit(""); api.LMSFinish("");
</script></body></html>"""


@pytest.fixture
def mastery_lesson(db):
    """A lesson running a one-page SCORM 1.2 quiz whose manifest sets adlcp:masteryscore to 70."""
    import zipfile

    from tests.learning.exam_builders import make_course

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("imsmanifest.xml", MASTERY_MANIFEST.format(mastery="70"))
        archive.writestr("quiz.html", QUIZ_PAGE)
    lesson = make_course(lessons=1).get_children().specific().first()
    buffer.seek(0)
    return scorm_package_upload(actor=user_with_role("marketing"), upload=buffer, lesson_id=lesson.pk)


def test_the_mastery_score_is_read_at_import_and_offered_to_the_sco(mastery_lesson):
    assert mastery_lesson.mastery_score == Decimal("70")
    data = scorm_resume_data(user=user_with_role("rep"), package=mastery_lesson)
    assert data["student_data"] == {"mastery_score": "70"}


@pytest.mark.parametrize(("reported", "score", "decided", "completes"), [
    ("completed", "65", "failed", False),    # below the mastery score: failed, the lesson stays open
    ("incomplete", "65", "failed", False),
    ("completed", "70", "passed", True),     # reaching it passes
    ("incomplete", "92.5", "passed", True),
    ("failed", "95", "failed", False),       # the SCO's own verdict stands
    ("passed", "10", "passed", True),
])
def test_the_server_decides_passed_or_failed_from_the_mastery_score(mastery_lesson, reported, score, decided,
                                                                    completes):
    rep = user_with_role("rep")
    registration, applied = _commit(rep, mastery_lesson, 1, {"cmi.core.lesson_status": reported,
                                                             "cmi.core.score.raw": score})
    assert applied and registration.lesson_status == decided
    assert (registration.completed_at is not None) is completes
    done = LessonProgress.objects.filter(user=rep, lesson=mastery_lesson.lesson, completed_at__isnull=False)
    assert done.exists() is completes


def test_without_a_score_completed_stands_and_a_later_score_is_decided(mastery_lesson):
    rep = user_with_role("rep")
    first, _applied = _commit(rep, mastery_lesson, 1, {"cmi.core.lesson_status": "incomplete"})
    assert first.lesson_status == "incomplete"  # no score yet: nothing to compare
    failed, _applied = _commit(rep, mastery_lesson, 2, {"cmi.core.score.raw": "40"})
    assert failed.lesson_status == "failed" and failed.completed_at is None
    retried, _applied = _commit(rep, mastery_lesson, 3, {"cmi.core.lesson_status": "completed",
                                                         "cmi.core.score.raw": "80"})
    assert retried.lesson_status == "passed" and retried.completed_at is not None
    later, _applied = _commit(rep, mastery_lesson, 4, {"cmi.core.lesson_status": "completed",
                                                       "cmi.core.score.raw": "20"})
    assert later.lesson_status == "passed"  # a completion is never undone by a later, lower score


def test_without_a_mastery_score_completed_completes_whatever_the_score(scorm_lesson):
    ScormPackage.objects.filter(pk=scorm_lesson.pk).update(mastery_score=None)
    scorm_lesson.refresh_from_db()
    rep = user_with_role("rep")
    registration, _applied = _commit(rep, scorm_lesson, 1, {"cmi.core.lesson_status": "completed",
                                                            "cmi.core.score.raw": "5"})
    assert registration.lesson_status == "completed" and registration.completed_at is not None
    assert "student_data" not in scorm_resume_data(user=rep, package=scorm_lesson)
