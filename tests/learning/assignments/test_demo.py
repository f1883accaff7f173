"""The demo's rep learning: a manager and team, the onboarding curriculum required for the first product, one
overdue round, certificates for some reps, and demo rep 02 refused on today's meeting about that product."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from engage.core.qualification import qualification_gaps
from learning.assignments.models import ProductRequirement, RepAssignment
from learning.certificates.models import Certificate
from members.accounts.models import User
from members.teams.selectors import reps_led_by

pytestmark = pytest.mark.django_db


def test_the_demo_shows_qualification_assignments_and_certificates(client):
    call_command("seed_demo", "--force", stdout=StringIO(), stderr=StringIO())
    requirement = ProductRequirement.objects.select_related("product").get()
    rep01, rep02 = User.objects.get(username="demo-rep-01"), User.objects.get(username="demo-rep-02")
    assert Certificate.objects.filter(user=rep01, curriculum=requirement.curriculum).exists()
    assert [m.product_id for m in qualification_gaps(user=rep02)] == [requirement.product_id]
    assert qualification_gaps(user=rep01) == []
    overdue = [r for r in RepAssignment.objects.filter(completed_at__isnull=True) if r.is_overdue]
    assert [r.rep.username for r in overdue] == ["demo-rep-05"]
    manager = User.objects.get(username="demo-manager")
    assert reps_led_by(manager).count() == 5
    client.force_login(rep02)
    page = client.get(reverse("events:rep_quotas")).content.decode()
    assert 'data-testid="not-qualified-product"' in page and requirement.product.name in page
