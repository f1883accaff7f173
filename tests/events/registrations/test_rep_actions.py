"""A rep acting from the phone: invite a doctor of the territory into the rep's quota (inbox, and SMS/WeChat only
with consent), share approved content or a meeting with the rep's share code (card, copy button, QR), and follow the
invited doctors (registered, attended, answered). Reps never see points nor anything outside their territory."""

import pytest
from django.test import Client
from django.utils import timezone

from cms.reading.services import share_code_for
from engage.audit.models import AuditEntry
from engage.core.errors import Conflict, NotFound, PermissionDenied
from engage.inbox.models import Notification
from engage.messaging.models import OutboundMessage
from events.registrations.models import RepInvitation
from events.registrations.selectors import rep_invited_doctors
from events.registrations.services import registration_create, rep_invitation_send
from members.consents.delivery import notification_deliver
from members.consents.services import consent_give
from members.hospitals.models import Territory
from members.points.services import points_award
from members.profiles.models import DoctorProfile
from tests.cms.factories import make_article
from tests.events.factories import make_doctor, make_event, make_quota, make_rep, make_staff, open_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    rep = make_rep()
    mine = make_doctor(city="上海市")
    mine.mobile = "+8613700137001"
    mine.save(update_fields=["mobile"])
    theirs = make_doctor(city="北京市")
    territory = Territory.objects.create(code="sh", name="上海")
    territory.reps.add(rep)
    territory.hospitals.add(DoctorProfile.objects.get(user=mine).hospital)
    event = make_event(title="糖尿病城市会", capacity=20)
    quota = make_quota(event, seats=2, rep=rep)
    return {"rep": rep, "mine": mine, "theirs": theirs, "event": event, "quota": quota}


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_doctor_list_offers_actions_and_the_invite_reaches_the_inbox(world, settings):
    settings.ENGAGE_PUBLIC_URL = "https://engage.test"
    rep, mine, quota = world["rep"], world["mine"], world["quota"]
    client = _client(rep)
    html = client.get("/members/rep/doctors/").content.decode()
    assert f'href="/events/rep/doctors/{mine.pk}/invite/"' in html
    assert 'href="/events/rep/share/"' in html and 'href="/events/rep/invited/"' in html
    page = client.get(f"/events/rep/doctors/{mine.pk}/invite/")
    assert page.status_code == 200 and f'value="{quota.pk}"' in page.content.decode()
    response = client.post(f"/events/rep/doctors/{mine.pk}/invite/", {"quota": quota.pk})
    assert response.status_code == 302 and response["Location"] == "/events/rep/invited/"
    invitation = RepInvitation.objects.get()
    assert (invitation.rep, invitation.doctor, invitation.quota) == (rep, mine, quota)
    note = Notification.objects.get(user=mine)
    assert note.url == f"/events/invite/{quota.invite_code}/" and "糖尿病城市会" in note.title
    assert AuditEntry.objects.filter(action="events.rep_invitation.sent").count() == 1
    # Over SMS only with the doctor's marketing consent.
    assert notification_deliver(notification=note) is None
    consent_give(user=mine, kind="marketing_sms")
    message = notification_deliver(notification=note)
    assert message.channel == OutboundMessage.Channel.SMS and quota.invite_code in message.rendered
    # The doctor registers through it: a seat of the rep's quota.
    registration = registration_create(event=world["event"], doctor=mine, invite=quota.invite_code)
    assert registration.quota_id == quota.pk


def test_invitations_are_refused_outside_the_rules(world):
    rep, mine, theirs, quota = world["rep"], world["mine"], world["theirs"], world["quota"]
    with pytest.raises(NotFound):  # outside the territory: as if there were no such doctor
        rep_invitation_send(rep=rep, quota_id=quota.pk, doctor_id=theirs.pk)
    other_rep = make_rep()
    other_quota = make_quota(world["event"], seats=1, rep=other_rep)
    with pytest.raises(NotFound):  # another rep's quota
        rep_invitation_send(rep=rep, quota_id=other_quota.pk, doctor_id=mine.pk)
    with pytest.raises(NotFound):
        rep_invitation_send(rep=rep, quota_id=999999, doctor_id=mine.pk)
    with pytest.raises(PermissionDenied):  # not a rep
        rep_invitation_send(rep=make_staff(), quota_id=quota.pk, doctor_id=mine.pk)
    rep_invitation_send(rep=rep, quota_id=quota.pk, doctor_id=mine.pk)
    with pytest.raises(Conflict) as twice:
        rep_invitation_send(rep=rep, quota_id=quota.pk, doctor_id=mine.pk)
    assert twice.value.code == "already_invited"
    assert RepInvitation.objects.count() == 1 and Notification.objects.filter(user=mine).count() == 1


def test_invite_views_answer_forged_and_malformed_input(world):
    rep, theirs, quota = world["rep"], world["theirs"], world["quota"]
    client = _client(rep)
    assert client.get(f"/events/rep/doctors/{theirs.pk}/invite/").status_code == 404
    assert client.post(f"/events/rep/doctors/{world['mine'].pk}/invite/", {"quota": "abc"}).status_code == 404
    assert client.post(f"/events/rep/doctors/{world['mine'].pk}/invite/", {}).status_code == 404
    assert not RepInvitation.objects.exists()
    doctor = _client(world["mine"])
    for url in (f"/events/rep/doctors/{theirs.pk}/invite/", "/events/rep/invited/", "/events/rep/share/"):
        assert doctor.get(url).status_code == 403
    assert Client().get("/events/rep/invited/").status_code == 302
    assert quota.taken == 0


def test_share_card_carries_the_reps_code_a_copy_button_and_the_qr(world):
    rep = world["rep"]
    article = make_article(title="血糖管理新进展", slug="share-me")
    client = _client(rep)
    listing = client.get("/events/rep/share/").content.decode()
    assert f'data-page="{article.pk}"' in listing and f'data-page="{world["event"].pk}"' in listing
    html = client.get(f"/events/rep/share/{article.pk}/").content.decode()
    code = share_code_for(user=rep).code
    assert f"{article.url}?ref={code}" in html and 'data-testid="rep-share-copy"' in html
    assert f'/events/rep/share/{article.pk}/qr.svg' in html
    qr = client.get(f"/events/rep/share/{article.pk}/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    # A meeting of the rep's quota is shared through the rep's own invitation link.
    meeting = client.get(f"/events/rep/share/{world['event'].pk}/").content.decode()
    assert f"/events/invite/{world['quota'].invite_code}/" in meeting
    # Drafts and unknown pages are not shareable.
    article.unpublish()
    assert client.get(f"/events/rep/share/{article.pk}/").status_code == 404
    assert client.get("/events/rep/share/99999999/").status_code == 404
    assert client.get(f"/events/rep/share/{article.pk}/qr.svg").status_code == 404


def test_the_rep_follows_invited_doctors_without_points_or_other_territories(world):
    from events.checkin.services import checkin_perform
    from events.surveys.models import Survey, SurveyResponse

    rep, mine, theirs = world["rep"], world["mine"], world["theirs"]
    today = open_event(title="今天的会")
    quota = make_quota(today, seats=3, rep=rep)
    rep_invitation_send(rep=rep, quota_id=quota.pk, doctor_id=mine.pk)
    registration = registration_create(event=today, doctor=mine, invite=quota.invite_code)
    checkin_perform(event=today, secret=registration.ticket.secret, staff=make_staff())
    survey = Survey.objects.create(title="会后问卷", event=today)
    SurveyResponse.objects.create(survey=survey, doctor=mine, submitted_on=timezone.localdate())
    # Someone outside the territory registered through the rep's link: not shown to the rep.
    registration_create(event=today, doctor=theirs, invite=quota.invite_code)
    points_award(member=mine, rule_code="attend_meeting", source=today, idempotency_key="t-attend")
    rows = rep_invited_doctors(rep=rep)
    assert [(row.doctor_id, row.attended, row.answered_survey) for row in rows] == [(mine.pk, True, True)]
    html = _client(rep).get("/events/rep/invited/").content.decode()
    assert 'data-testid="rep-invited-attended"' in html and 'data-testid="rep-invited-answered"' in html
    assert DoctorProfile.objects.get(user=theirs).real_name not in html
    for word in ("积分", "points"):
        assert word not in html
    list_html = _client(rep).get("/members/rep/doctors/").content.decode()
    assert "积分" not in list_html
