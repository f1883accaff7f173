"""DomainError crosses process boundaries (a worker pool's results, a task's failure) intact."""

import pickle
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest
from django.utils.translation import gettext_lazy

from engage.core.errors import Conflict, DomainError, NotFound


def _refuse():
    raise Conflict("already_registered", "您已报名本次会议。", seats=0)


@pytest.mark.parametrize("error", [
    DomainError("registration_closed", gettext_lazy("No such meeting."), status=410, field="starts_at"),
    NotFound("event_not_found", "没有这个会议。"),
    Conflict("already_registered", "您已报名本次会议。"),
])
def test_a_pickled_domain_error_keeps_its_type_code_message_status_and_details(error):
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert type(copy) is type(error)
    assert (copy.code, str(copy.message), copy.status, copy.details) == (
        error.code, str(error.message), error.status, error.details)
    assert copy.as_dict() == error.as_dict()


def test_a_domain_error_raised_in_a_worker_process_reaches_the_parent():
    with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
        with pytest.raises(Conflict) as raised:
            pool.submit(_refuse).result(timeout=60)
    assert raised.value.code == "already_registered" and raised.value.details == {"seats": 0}
    assert raised.value.status == 409
