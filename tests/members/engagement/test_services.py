"""Membership events in the engagement history: signing up writes `joined` once."""

import pytest
from django.urls import reverse

from members.accounts.models import User
from members.engagement.models import EngagementEvent, EngagementKind

pytestmark = pytest.mark.django_db


def test_sign_up_records_joined_once(client):
    response = client.post(reverse("account_signup"),
                           {"phone": "13800138123", "display_name": "赵医生", "accept_privacy": "1"})
    assert response.status_code == 302
    user = User.objects.get(mobile="+8613800138123")
    joined = EngagementEvent.objects.get(doctor=user, kind=EngagementKind.JOINED)
    assert joined.occurred_at == user.date_joined

    # A repeated sign-up attempt with the same number is refused and writes nothing more.
    client.post(reverse("account_signup"), {"phone": "13800138123", "accept_privacy": "1"})
    assert EngagementEvent.objects.filter(kind=EngagementKind.JOINED).count() == 1


def test_refused_sign_up_records_nothing(client):
    client.post(reverse("account_signup"), {"phone": "12345", "accept_privacy": "1"})
    assert not EngagementEvent.objects.exists()
