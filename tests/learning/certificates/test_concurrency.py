"""Two completions of the same course at once issue one certificate (the holder's row is locked)."""

import pytest

from learning.certificates.models import Certificate
from tests.learning.quals import certify, make_course, make_rep
from tests.race import race, raise_first

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_completions_issue_one_certificate():
    rep, course = make_rep(), make_course(lessons=0)
    results = raise_first(race(4, lambda _i: certify(rep, course)))
    assert Certificate.objects.filter(user=rep, course=course).count() == 1
    assert sum(len(issued) for issued in results) == 1
