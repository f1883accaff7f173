"""The member page leads doctors to their meetings, surveys and (verified doctors) their patients' reminders."""

import pytest
from django.urls import reverse

from tests.events.factories import make_doctor

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("verified", [True, False])
def test_member_page_links_lead_somewhere(client, verified):
    client.force_login(make_doctor(verified=verified))
    html = client.get(reverse("member_home")).content.decode()
    assert 'data-testid="link-my-meetings"' in html and 'data-testid="link-surveys"' in html
    assert ('data-testid="link-my-patients"' in html) is verified
    assert client.get(reverse("events:survey_list")).status_code == 200
    if verified:
        assert client.get(reverse("reminders_doctor_patients")).status_code == 200
