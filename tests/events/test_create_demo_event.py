"""manage.py create_demo_event: a published meeting (through the review workflow) with its quotas."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from events.models import EventPage, Quota
from tests.events.factories import make_rep

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_demo_event", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_creates_a_published_meeting_with_region_quotas_and_prints_its_id():
    out, err = run("--capacity", "50", "--quotas", "4", "--starts-in", "30", "-v", "2")
    event = EventPage.objects.get(pk=int(out))
    assert event.live and event.capacity == 50 and event.approval_code.startswith("CN-MTG-")
    quotas = list(Quota.objects.filter(event=event).order_by("pk"))
    assert sorted(q.seats for q in quotas) == [12, 12, 13, 13] and sum(q.seats for q in quotas) == 50
    assert [q.kind for q in quotas].count("open") == 1 and [q.kind for q in quotas].count("region") == 3
    assert all(q.invite_code in err for q in quotas if q.kind != "open")
    delta = (event.starts_at - __import__("django.utils.timezone", fromlist=["now"]).now()).total_seconds()
    assert 25 * 60 <= delta <= 31 * 60


def test_uses_demo_reps_when_there_are_enough():
    reps = [make_rep(username=f"demo-rep-{n:02d}") for n in (1, 2)]
    out, _err = run("--capacity", "9", "--quotas", "3")
    quotas = Quota.objects.filter(event_id=int(out), kind="rep")
    assert {q.rep for q in quotas} == set(reps)


def test_defaults_and_a_second_run_makes_another_meeting():
    first, _ = run()
    second, _ = run()
    assert first != second
    assert Quota.objects.get(event_id=int(first), kind="open").seats == 100


@pytest.mark.parametrize("args", [["--capacity", "0"], ["--quotas", "0"], ["--capacity", "3", "--quotas", "4"],
                                  ["--capacity", "x"]])
def test_bad_arguments(args):
    with pytest.raises((CommandError, SystemExit)):
        run(*args)
    assert not EventPage.objects.exists()
