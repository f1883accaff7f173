"""The role × surface matrix: every page, API operation and admin area, for eight kinds of user, from ONE table.

The table is tests/engage/core/role_matrix_table.py. `test_surface_answers_each_kind_as_intended` walks it (one case
per surface and kind); `test_the_table_covers_every_surface` fails when an API operation, a project URL or a project
admin menu item is missing from it.

Speed: the objects every case needs (users with their sessions, pages through the real review workflow, a meeting
with a registration, a quota, a survey, a photo, a patient …) are built ONCE for the module inside an outer
transaction that is rolled back at the end; each case runs in its own savepoint, so what a request writes is undone
before the next case. Files go to a temporary directory.

A third test checks the admin menu against the areas: no staff member is shown a menu item that refuses them.
"""

import json
import re
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from tests.engage.core.role_matrix_table import (
    ADMIN_LOGIN,
    EXCLUDED,
    KINDS,
    LOGIN,
    NO_PERM,
    PROJECT_MODULES,
    REDIRECT,
    TABLE,
)

# --- the world: built once for the module ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Users, their sessions and every object a URL needs, in a transaction rolled back when the module ends."""
    from django.db import transaction

    patcher = pytest.MonkeyPatch()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            _restore_migration_rows()
            yield _build_world(patcher, tmp_path_factory.mktemp("role-matrix"))
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            patcher.undo()


def _restore_migration_rows():
    """A transactional test that ran before this module emptied every table, the rows migrations create (roles,
    policies, Wagtail's root page) included: put them back, as serialized rollback does (undone with the rest)."""
    from django.contrib.auth.models import Group
    from django.db import connection

    if not Group.objects.exists() and getattr(connection, "_test_serialized_contents", None):
        connection.creation.deserialize_db_from_string(connection._test_serialized_contents)


def _build_world(patcher, tmp):
    from datetime import date, timedelta

    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage
    from django.utils import timezone
    from wagtail.documents import get_document_model
    from wagtail.images import get_image_model
    from wagtail.images.tests.utils import get_test_image_file

    from cms.pages.models import ArticlePage, Audience
    from cms.pages.storage import MediaStorage
    from cms.review.services import content_approve, content_submit_for_review
    from engage.audit.models import AuditEntry
    from engage.core.storage import PrivateFileSystemStorage
    from engage.inbox.models import Notification
    from engage.messaging.models import InboundMessage, OutboundMessage
    from engage.reminders import selectors as reminder_selectors
    from engage.reminders import services as reminder_services
    from engage.reminders.models import (
        AdverseEventTerm,
        Patient,
        PharmacovigilanceCase,
        Programme,
        ProgrammeConsentText,
    )
    from events.pages.models import EventSettings, Speaker
    from events.photos.models import Photo
    from events.photos.services import photo_upload
    from events.registrations.models import FrequencyRule
    from members.hospitals.models import Hospital, HospitalImport, Territory
    from members.points.models import PointsAccount, PointsRule, PointsSettings, PointsTransaction, Reward
    from members.points.services import reward_redeem
    from members.profiles.models import DoctorProfile
    from members.segments.models import Potential, Support
    from tests.cms.factories import REVIEW_PASSWORD, area_page, make_article, make_document, make_literature, reviewer
    from tests.events.factories import (
        check_in,
        jpeg_bytes,
        make_doctor,
        make_event,
        make_event_index,
        make_quota,
        make_registration,
        make_survey,
        picture,
        upload,
    )
    from tests.factories import HospitalFactory, user_with_role
    from tests.members.factories import approved_reward, give_points

    # Files (certificates, photos, imports, documents) go to a temporary directory for the module.
    storage = PrivateFileSystemStorage(location=tmp / "private")
    for model, field in ((DoctorProfile, "certificate"), (Photo, "image"), (HospitalImport, "file")):
        patcher.setattr(model._meta.get_field(field), "storage", storage)
    document_model = get_document_model()
    patcher.setattr(document_model._meta.get_field("file"), "storage", FileSystemStorage(location=tmp / "media"))
    image_model = get_image_model()
    patcher.setattr(settings, "PRIVATE_ROOT", tmp / "private")  # where gated images go (cms.pages.storage)
    for model in (image_model, image_model.get_rendition_model()):
        patcher.setattr(model._meta.get_field("file"), "storage", MediaStorage(location=tmp / "media"))

    users = {
        "member": make_doctor(verified=False),  # the doctor role, profile waiting for verification
        "doctor": make_doctor(),
        "rep": user_with_role("rep"),
        "marketing": user_with_role("marketing"),
        "medical_reviewer": user_with_role("medical_reviewer"),
        "compliance": user_with_role("compliance"),
        "admin": user_with_role("admin"),
    }
    doctor, rep = users["doctor"], users["rep"]
    sessions = {}
    for kind, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[kind] = client.cookies[settings.SESSION_COOKIE_NAME].value

    # Content: the therapy-area page, a public and a verified-only article (through the review workflow).
    area = area_page()
    public_article = make_article(area, audience=Audience.PUBLIC, slug="public-article", title="公开文章")
    figure = get_image_model().objects.create(title="图", file=get_test_image_file(filename="figure.png"))
    verified_article = make_article(area, audience=Audience.VERIFIED, slug="verified-article", title="专业文章",
                                    body=[("image", {"image": figure, "caption": "", "source": ""})])
    figure.refresh_from_db()
    gated_image = figure.get_rendition("width-400").file.name  # a verified page shows it: private, checked
    document = make_document()
    # Review: a page waiting for medical approval, another (medically approved) waiting for compliance approval.
    in_review = {}
    for step in ("medical", "compliance"):
        page = ArticlePage(title=f"待审文章 {step}", slug=f"in-review-{step}", summary="摘要", body=[],
                           audience=Audience.VERIFIED)
        area.add_child(instance=page)
        page.save_revision()
        content_submit_for_review(page=page, user=None)
        if step == "compliance":
            content_approve(task_state=page.current_workflow_state.current_task_state,
                            reviewer=reviewer("medical_reviewer"), password=REVIEW_PASSWORD)
        task_state = page.current_workflow_state.current_task_state
        assert task_state.task.specific.meaning == step
        in_review[f"{step}_review_page"], in_review[f"{step}_task_state"] = page.pk, task_state.pk
    make_literature(area, audience=Audience.VERIFIED, full_text=document, download_allowed=True, slug="literature")

    # Meetings: the index, a meeting in half an hour (registration and check-in open) the doctor is registered for
    # and checked in at, the rep's quota there, its survey and a photo; another meeting where the rep has no quota.
    index = make_event_index()
    event = make_event(starts_at=timezone.now() + timedelta(minutes=30))
    registration = make_registration(event, doctor)
    checkin = check_in(event, doctor, registration=registration)
    quota = make_quota(event, seats=5, rep=rep)
    other_event = make_event()
    survey = make_survey(event=event)
    photo = photo_upload(event=event, uploaded_by=users["marketing"], file=upload(jpeg_bytes(picture(1))))
    speaker = Speaker.objects.create(name="李教授")
    # The meeting's live session, live now, with a chat message, an approved question and an open poll.
    from events.live.models import ChatMessage, LiveSession, Poll, PollOption, Question

    live_session = LiveSession.objects.create(event=event, provider="plain", plain_url="/static/live/demo.m3u8",
                                              stream_name="matrix-live", state="live", started_at=timezone.now())
    live_message = ChatMessage.objects.create(session=live_session, author=doctor, text="你好")
    live_question = Question.objects.create(session=live_session, author=doctor, text="剂量？", state="approved")
    live_poll = Poll.objects.create(session=live_session, question="首选？", state="open",
                                    created_by=users["marketing"])
    PollOption.objects.create(poll=live_poll, text="A")
    frequency_rule = FrequencyRule.objects.create(max_meetings=12)

    # Members: the verified doctor's certificate, a hospital proposal, an import, a territory, points.
    profile = DoctorProfile.objects.get(user=doctor)
    profile.certificate.save("certificate.jpg", ContentFile(jpeg_bytes(picture(2))), save=False)
    profile.certificate_content_type = "image/jpeg"
    profile.save(update_fields=["certificate", "certificate_content_type"])
    pending_profile = DoctorProfile.objects.get(user=users["member"])
    proposal = HospitalFactory(status=Hospital.Status.PROPOSED, proposed_by=users["member"])
    hospital_import = HospitalImport.objects.create(original_name="hospitals.csv", file="imports/hospitals.csv",
                                                    created_by=users["marketing"])
    territory = Territory.objects.create(code="east", name="华东")
    territory.reps.add(rep)
    territory.hospitals.add(profile.hospital)
    reward = approved_reward()
    draft_reward = Reward.objects.create(name="草稿奖励", kind=Reward.Kind.LITERATURE, value_rmb=10, points_cost=10,
                                         stock=1)
    give_points(doctor, 600, actor=users["admin"])
    redemption = reward_redeem(member=doctor, reward_id=reward.pk).redemption  # 500 points are left
    account = PointsAccount.objects.get(user=doctor)

    # Patients: a programme whose staff list names marketing, the medical reviewer AND the rep (the rule must still
    # keep the rep out; compliance and admin are not listed), a patient the verified doctor enrolled, a patient of
    # another doctor, a pharmacovigilance case.
    programme = Programme.objects.create(name="糖尿病依从性项目", sponsor="某制药", template_keys=["dose_reminder"])
    ProgrammeConsentText.objects.create(programme=programme, version="1.0", text="参加项目……",
                                        health_info_text="处理健康信息……")
    programme.staff.add(rep, users["marketing"], users["medical_reviewer"])

    def enrol(treating_doctor, mobile):
        return reminder_services.patient_enrol(
            programme=programme,
            contact=reminder_services.PersonContact(name="王小明", mobile=mobile, language="zh-hans"),
            consent=reminder_services.ConsentGiven(kinds=frozenset({"programme", "health_information", "sms"}),
                                                   text_version="1.0"),
            method=Patient.EnrolmentMethod.DOCTOR_PORTAL, time_zone="Asia/Shanghai", preferred_channel="sms",
            doctor=treating_doctor, birth_date=date(1970, 1, 1),
        )

    patient = enrol(doctor, "+8613900000001")
    other_patient = enrol(make_doctor(), "+8613900000002")
    plan = reminder_services.medication_plan_create(
        patient=patient, schedule=reminder_services.PlanSchedule(drug="二甲双胍", dose_text="500 mg", times=["08:00"],
                                                                 start_date=timezone.localdate()), actor=doctor)
    follow_up = reminder_services.follow_up_plan_create(
        patient=patient, schedule=reminder_services.FollowUpSchedule(title="HbA1c", due_date=timezone.localdate(),
                                                                     interval_days=90), actor=doctor)
    pv_case = PharmacovigilanceCase.objects.create(patient=patient, programme=programme, text="吃药后头晕",
                                                   matched_keywords=["头晕"], source="sms", source_key="matrix-pv-1",
                                                   received_at=timezone.now(), review_due_at=timezone.now())
    patient_token = reminder_selectors.patient_link(patient).rstrip("/").rsplit("/", 1)[-1]

    # Messages: a failed outbound message (resendable), an in-app notification of the doctor.
    message = OutboundMessage.objects.create(channel=OutboundMessage.Channel.SMS, template_key="dose_reminder",
                                             idempotency_key="matrix-1", status=OutboundMessage.Status.FAILED)
    notification = Notification.objects.create(user=doctor, kind="test", title="通知", url="/", key="matrix-1")
    inbound = InboundMessage.objects.create(channel=InboundMessage.Channel.SMS, provider_id="matrix-1",
                                            sender_hash="0" * 64, sender_masked="+86137****0001",
                                            kind=InboundMessage.Kind.TEXT, text="1", received_at=timezone.now())
    from tests.learning.knowledge.matrix import knowledge_scorm_world

    knowledge_scorm = knowledge_scorm_world(users=users, patcher=patcher, tmp=tmp)
    from tests.learning.exams.matrix import exams_world

    exams = exams_world(users=users)
    from tests.learning.assignments.matrix import quals_world

    quals = quals_world(users=users)

    ids = {
        # content
        "verified_article": verified_article.pk, "event_index": index.pk,
        # meetings
        "event": event.pk, "other_event": other_event.pk, "ticket": registration.ticket.secret,
        "invite": quota.invite_code, "quota": quota.pk, "registration": registration.pk, "checkin": checkin.pk,
        "survey": survey.pk, "photo": photo.pk, "speaker": speaker.pk, "frequency_rule": frequency_rule.pk,
        "event_settings": EventSettings.load().pk, "live_session": live_session.pk, "live_message": live_message.pk,
        "live_question": live_question.pk, "live_poll": live_poll.pk,
        # members
        "doctor": doctor.pk, "doctor_profile": profile.pk, "pending_profile": pending_profile.pk,
        "hospital": profile.hospital_id, "proposal": proposal.pk, "hospital_import": hospital_import.pk,
        "territory": territory.pk, "area_code": area.therapy_area.code, "cell": Potential.A + Support.HIGH,
        # points
        "reward": reward.pk, "draft_reward": draft_reward.pk, "redemption": redemption.pk, "account": account.pk,
        "transaction": PointsTransaction.objects.filter(account=account).order_by("pk").first().pk,
        "points_rule": PointsRule.objects.order_by("pk").first().pk, "points_settings": PointsSettings.load().pk,
        # patients
        "programme": programme.pk, "consent_text": programme.consent_texts.get().pk, "patient": patient.pk,
        "other_patient": other_patient.pk, "plan": plan.pk, "follow_up": follow_up.pk, "pv_case": pv_case.pk,
        "patient_token": patient_token, "pv_term": AdverseEventTerm.objects.get_or_create(term="皮疹")[0].pk,
        "enrol_token": programme.enrolment_token,
        # platform
        "audit_entry": AuditEntry.objects.order_by("pk").first().pk, "message": message.pk,
        "notification": notification.pk, "inbound": inbound.pk,
        **in_review,
        **knowledge_scorm,
        **exams,
        **quals,
        # page paths
        "public_article_url": public_article.url, "verified_article_url": verified_article.url,
        "area_url": area.url, "document_url": document.url, "gated_image": gated_image,
        "event_index_url": index.url, "event_url": event.url,
    }
    return SimpleNamespace(users=users, sessions=sessions, ids=ids)


# --- walking the table -------------------------------------------------------------------------------------------


def _outcome(response):
    """The answer as the table writes it: a status code, or where a redirect goes."""
    if response.status_code not in (301, 302, 303):
        return response.status_code
    target = urlparse(response["Location"]).path
    if target == reverse("account_login"):
        return LOGIN
    if target == reverse("wagtailadmin_login"):
        return ADMIN_LOGIN
    if target == reverse("wagtailadmin_home"):
        return NO_PERM
    return REDIRECT


def _request(client, surface, url):
    method = surface.method.lower()
    if surface.method == "GET":
        return client.get(url)
    if url.startswith("/api/"):
        body = "" if surface.body is None else json.dumps(surface.body)
        return getattr(client, method)(url, body, content_type="application/json")
    return getattr(client, method)(url, surface.body or {})


@pytest.fixture
def world(built_world):
    """The built world; what the case writes is rolled back afterwards (a savepoint in the module's transaction:
    the isolation of pytest-django's `db`, without setting up a TestCase class for each of the many cases)."""
    from django.db import connection, transaction

    savepoint = transaction.savepoint()
    try:
        yield built_world
    finally:
        transaction.savepoint_rollback(savepoint)
        connection.needs_rollback = False


CASES = [
    pytest.param(surface, kind, id=f"{surface.label}-{kind}")
    for surface in TABLE
    for kind in KINDS
]


@pytest.mark.parametrize(("surface", "kind"), CASES)
def test_surface_answers_each_kind_as_intended(world, surface, kind):
    client = Client(raise_request_exception=False)  # a server error is an answer like any other (500)
    if kind != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[kind]
    url = surface.url.format(**world.ids)
    response = _request(client, surface, url)
    expected = surface.expect[KINDS.index(kind)]
    observed = _outcome(response)
    where = response.get("Location", "")
    assert observed == expected, f"{surface.method} {url} as {kind}: got {observed} {where}, intended {expected}"


# --- the table is complete ---------------------------------------------------------------------------------------

_STR_IDS = {"ticket", "invite", "patient_token", "enrol_token", "area_code", "cell"}


class _DummyIds(dict):
    """Placeholder values that resolve like real ones: ids are 1, codes are a valid code, page paths are /."""

    def __missing__(self, key):
        if key.endswith("_url"):
            return "/"
        return "ABCD1234" if key in _STR_IDS else "1"


def _url_key(path: str) -> str:
    """What identifies a URL pattern: its name (namespaced), or its route when it has none."""
    match = resolve(path)
    return match.view_name if match.url_name else match.route


def _view_module(callback) -> str:
    view_class = getattr(callback, "view_class", None)
    return (view_class or callback).__module__ or ""


def _project_patterns():
    """(key, path prefix) of every URL pattern whose view is the project's own (PROJECT_MODULES)."""
    found = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern),
                     f"{namespace}:{ns}" if namespace and ns else (ns or namespace))
            elif isinstance(pattern, URLPattern) and _view_module(pattern.callback).startswith(PROJECT_MODULES):
                if pattern.name:
                    key = f"{namespace}:{pattern.name}" if namespace else pattern.name
                else:
                    key = prefix + str(pattern.pattern)
                found.append((key, prefix + str(pattern.pattern)))

    walk(get_resolver().url_patterns, "", None)
    return found


def _admin_menu_urls(user):
    """(name, url, module of the item's class) of every link of the admin menu as `user` sees it, submenus
    included; URLs as drawn (some items compute theirs when they are drawn)."""
    from django.test import RequestFactory
    from wagtail.admin.menu import admin_menu

    request = RequestFactory().get("/admin/")
    request.user = user
    urls = []

    def walk(items):
        for item in items:
            submenu = getattr(item, "menu", None)
            if submenu is not None:
                walk(submenu.menu_items_for_request(request))
                continue
            url = item.render_component(request).url
            if urlparse(url).path.startswith("/admin/"):
                urls.append((str(item.label), url, type(item).__module__))

    walk(admin_menu.menu_items_for_request(request))
    return urls


def _project_app_labels():
    from django.apps import apps

    return {config.label for config in apps.get_app_configs() if f"{config.name}.".startswith(PROJECT_MODULES)}


def _project_admin_namespaces():
    from wagtail.admin.viewsets import viewsets

    labels = _project_app_labels()
    names = set()
    for viewset in viewsets.viewsets:
        meta = getattr(getattr(viewset, "model", None), "_meta", None)
        own = type(viewset).__module__.startswith(PROJECT_MODULES)
        if own or (meta is not None and meta.app_label in labels):
            names.add(viewset.url_namespace)
    return names


def test_the_table_covers_every_surface(db, make_user):
    from engage.api import api

    table_urls = {(s.method, s.url.format_map(_DummyIds())) for s in TABLE}
    table_keys = {_url_key(urlparse(url).path) for _method, url in table_urls}
    missing = []

    # Every operation of the OpenAPI document.
    for path, operations in api.get_openapi_schema()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        for method in operations:
            method = method.upper()
            if (method, path) in EXCLUDED:
                continue
            if not any(m == method and pattern.match(url) for m, url in table_urls):
                missing.append(f"API {method} {path}")

    # Every URL pattern whose view is the project's own: site pages and admin screens.
    for key, route in _project_patterns():
        if route.startswith("api/"):
            continue  # the API is checked operation by operation above
        if key not in table_keys and key not in EXCLUDED:
            missing.append(f"URL {key} ({route})")

    # Every admin menu item a superuser sees that belongs to the project (its own view, or a viewset / snippet of
    # a project model).
    namespaces = _project_admin_namespaces()
    labels = _project_app_labels()
    superuser = make_user(is_superuser=True)
    for name, url, item_module in _admin_menu_urls(superuser):
        match = resolve(urlparse(url).path)
        own = (item_module.startswith(PROJECT_MODULES) or _view_module(match.func).startswith(PROJECT_MODULES)
               or match.namespace.split(":")[0] in namespaces
               or match.kwargs.get("app_name", match.kwargs.get("app_label")) in labels)  # settings of our models
        key = _url_key(urlparse(url).path)
        if own and key not in table_keys and key not in EXCLUDED:
            missing.append(f"admin menu item {name} ({url})")

    assert not missing, "Not in the role × surface table:\n" + "\n".join(missing)


STAFF_KINDS = ("marketing", "medical_reviewer", "compliance", "admin")


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_every_admin_menu_item_a_staff_member_sees_opens_for_them(world, kind):
    """A menu item is shown to whoever may use its area: nobody is offered a link that refuses them."""
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[kind]
    refused = []
    for name, url, _module in _admin_menu_urls(world.users[kind]):
        answer = _outcome(client.get(url))
        if answer not in (200, REDIRECT):
            refused.append(f"{name} {url}: {answer}")
    assert not refused, f"menu items shown to {kind} that refuse them:\n" + "\n".join(refused)
