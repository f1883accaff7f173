"""One client IP (engage.core.clients): X-Forwarded-For believed only from trusted proxies, and the same address in a
check-in's scan row, its audit entry, consents and rate limits."""

import pytest
from django.test import RequestFactory

from engage.audit.models import AuditEntry
from engage.core.clients import client_ip
from events.checkin.models import Scan
from members.accounts.adapters import AccountAdapter
from tests.events.factories import make_staff, open_event, post_checkin, ticket_for

LB = ["127.0.0.1", "10.0.0.0/8"]


def request(remote: str = "127.0.0.1", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), [
    ([], "198.51.100.4", None, "198.51.100.4"),
    ([], "198.51.100.4", "203.0.113.9", "198.51.100.4"),  # nobody trusted: the header is anyone's to write
    (LB, "203.0.113.50", "1.2.3.4", "203.0.113.50"),  # not from a proxy: a forged header is ignored
    (LB, "10.0.0.5", "203.0.113.9", "203.0.113.9"),
    (LB, "10.0.0.5", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # a chain of trusted proxies is skipped
    (LB, "10.0.0.5", "6.6.6.6, 203.0.113.9, 10.0.0.7", "203.0.113.9"),  # the client prepended a fake hop
    (LB, "10.0.0.5", "10.0.0.8, 10.0.0.7", "10.0.0.8"),  # only proxies: the farthest one
    (LB, "10.0.0.5", "", "10.0.0.5"),
    (LB, "10.0.0.5", "203.0.113.9, garbage", None),  # a garbled hop: nothing left of it can be believed
    (["::1"], "::1", "2001:db8::7", "2001:db8::7"),
    ([], "not-an-ip", None, None),
])
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.ENGAGE_TRUSTED_PROXIES = proxies
    assert client_ip(request(remote, forwarded)) == expected


def test_rate_limits_count_by_the_same_address(settings):
    settings.ENGAGE_TRUSTED_PROXIES = LB
    assert AccountAdapter().get_client_ip(request("10.0.0.5", "203.0.113.9")) == "203.0.113.9"
    assert AccountAdapter().get_client_ip(request("203.0.113.50", "1.2.3.4")) == "203.0.113.50"


@pytest.mark.django_db
@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    ("10.0.0.5", "198.51.100.23, 10.0.0.9", "198.51.100.23"),  # behind the load balancer
    ("198.51.100.77", "1.2.3.4", "198.51.100.77"),  # straight from the internet, header forged
])
def test_a_scan_and_its_audit_entry_record_one_address(client, settings, remote, forwarded, expected):
    settings.ENGAGE_TRUSTED_PROXIES = LB
    event = open_event()
    ticket = ticket_for(event)
    client.force_login(make_staff())
    response = client.post(f"/api/v1/events/{event.pk}/checkins", {"secret": ticket.secret},
                           content_type="application/json", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 201, response.content
    scan = Scan.objects.get(ticket=ticket)
    entry = AuditEntry.objects.get(action="event.checkin")
    assert scan.ip_address == entry.ip_address == expected


def test_post_checkin_helper_still_posts_from_loopback(client, db):
    """The other check-in tests post without a proxy: the address is the test client's own."""
    event = open_event()
    ticket = ticket_for(event)
    client.force_login(make_staff())
    assert post_checkin(client, event, secret=ticket.secret).status_code == 201
    assert Scan.objects.get(ticket=ticket).ip_address == "127.0.0.1"
