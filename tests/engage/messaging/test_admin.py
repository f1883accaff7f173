"""Manual resend from the outbox: staff only, with a reason, a new message linked to the original, audited."""

import io
import zipfile

import pytest
from django.test import Client

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.messaging.models import OutboundMessage
from engage.messaging.services import message_deliver_now, message_enqueue, message_resend
from tests.engage.messaging.fixtures_templates import PARAMS

Status = OutboundMessage.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(fake_twilio):
    fake_twilio.script(("error", 400, 21614))
    message = message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder", params=PARAMS,
                              idempotency_key="f1", purpose="dose")
    return message_deliver_now(message_id=message.pk)


def test_resend_creates_linked_message_and_audits(failed, role_user, fake_twilio, deliver_outbox):
    staff = role_user("marketing")
    copy = message_resend(message=failed, actor=staff, reason="number corrected by the patient")
    assert copy.resend_of == failed and copy.recipient == "+8613800138000" and copy.purpose == "dose"
    entry = AuditEntry.objects.get(action="messaging.message_resend")
    assert entry.actor_id == staff.pk and entry.reason == "number corrected by the patient"
    assert entry.before["message"] == failed.pk and entry.after["message"] == copy.pk
    deliver_outbox()
    copy.refresh_from_db()
    assert copy.status == Status.SENT
    again = message_resend(message=failed, actor=staff, reason="second try")
    assert again.pk != copy.pk and failed.resends.count() == 2


@pytest.mark.parametrize("who,reason,code", [
    ("doctor", "x", "messaging_resend_forbidden"), (None, "x", "messaging_resend_forbidden"),
    ("marketing", "  ", "reason_required"),
])
def test_resend_refused(failed, role_user, who, reason, code):
    actor = role_user(who) if who else None
    with pytest.raises(DomainError) as exc:
        message_resend(message=failed, actor=actor, reason=reason)
    assert exc.value.code == code
    assert OutboundMessage.objects.count() == 1 and not AuditEntry.objects.filter(
        action="messaging.message_resend").exists()


def test_sent_message_cannot_be_resent(fake_twilio, role_user):
    message = message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder", params=PARAMS)
    message = message_deliver_now(message_id=message.pk)
    with pytest.raises(DomainError) as exc:
        message_resend(message=message, actor=role_user("marketing"), reason="again")
    assert exc.value.code == "message_not_resendable"


def test_admin_resend_view(failed, role_user):
    client = Client()
    staff = role_user("marketing")
    client.force_login(staff)
    url = f"/admin/outbox/resend/{failed.pk}/"
    assert client.get(url).status_code == 200
    inspect = client.get(f"/admin/outbox/inspect/{failed.pk}/")
    assert inspect.status_code == 200 and url.encode() in inspect.content
    assert b"13800138000" not in inspect.content  # the number is masked
    assert client.post(url, {"reason": ""}).status_code == 400
    response = client.post(url, {"reason": "patient asked"})
    assert response.status_code == 302
    copy = OutboundMessage.objects.get(resend_of=failed)
    assert AuditEntry.objects.get(action="messaging.message_resend").object_id == str(copy.pk)
    listing = client.get("/admin/outbox/", {"status": "failed"})
    assert listing.status_code == 200 and b"+86138****8000" in listing.content


def test_admin_resend_view_refuses_doctors(failed, role_user):
    client = Client()
    client.force_login(role_user("doctor"))
    response = client.post(f"/admin/outbox/resend/{failed.pk}/", {"reason": "x"})
    assert response.status_code in (302, 403)
    assert OutboundMessage.objects.count() == 1


def _signed_in_code_message(client, make_doctor_mobile, fake_twilio, deliver_outbox):
    """A sign-in code requested through allauth's view and sent through the fake Twilio: (message, code)."""
    import re

    from django.urls import reverse

    assert client.post(reverse("account_request_login_code"), {"phone": make_doctor_mobile}).status_code == 302
    deliver_outbox()
    (sent,) = fake_twilio.sent
    code = re.search(r"(?:验证码是|verification code is )([\w-]+)", sent["Body"]).group(1)
    return OutboundMessage.objects.get(template_key="verification_code"), code


def test_no_admin_surface_shows_a_sent_sign_in_code(fake_twilio, deliver_outbox, role_user):
    from tests.factories import make_doctor

    doctor = make_doctor()
    doctor.mobile = "+8613900000077"
    doctor.save(update_fields=["mobile"])
    message, code = _signed_in_code_message(Client(), "13900000077", fake_twilio, deliver_outbox)
    assert message.status == Status.SENT and len(code) >= 4
    admin = Client()
    admin.force_login(role_user("admin"))
    surfaces = [
        "/admin/outbox/", "/admin/outbox/results/", f"/admin/outbox/inspect/{message.pk}/",
        "/admin/outbox/?export=csv", "/admin/outbox/?export=xlsx", f"/admin/outbox/?export=csv&q={message.pk}",
        f"/admin/outbox/resend/{message.pk}/", f"/admin/outbox/history/{message.pk}/",
        f"/admin/outbox/usage/{message.pk}/", f"/admin/outbox/edit/{message.pk}/",
    ]
    seen = 0
    for url in surfaces:
        response = admin.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if url.endswith("xlsx"):
            workbook = zipfile.ZipFile(io.BytesIO(body))
            body = b"".join(workbook.read(name) for name in workbook.namelist())
        assert code.encode() not in body, url
        seen += response.status_code == 200
    inspect = admin.get(f"/admin/outbox/inspect/{message.pk}/").content.decode()
    assert "••••••" in inspect  # the masked text is still shown
    assert seen >= 5
    row = OutboundMessage.objects.filter(pk=message.pk).values().get()
    assert code not in str(row)  # nothing in the row, encrypted or not, holds the code after sending
