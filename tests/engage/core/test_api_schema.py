"""The API keeps its published contract: schemathesis generates requests for every operation from
/api/v1/openapi.json (a bounded number each, positive and negative data) and sends them to the app in-process,
anonymously and with a doctor's and a staff member's token. No answer may be a server error, carry a status the
operation does not document, or break the documented response schema."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from tests.events.factories import make_event
from tests.factories import make_doctor, user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]
EXAMPLES_PER_OPERATION = 4


def token_for(user) -> str:
    out = StringIO()
    call_command("create_api_token", user.username, "--name", "schemathesis", stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def api_schema():
    """The schema loaded from the WSGI app; requests stay inside the test's transaction (as with Django's test
    client, the handler must not close the test's database connection after each request)."""
    import schemathesis
    from django.core import signals
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def check_operation(operation, headers: dict, mode) -> list[str]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    failures = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                     content_type_conformance, response_schema_conformance])
        except Exception as exc:  # schemathesis' FailureGroup: collected, so one run reports every operation
            failures.append(f"{operation.label} {mode.value} -> {response.status_code}: {str(exc)[:600]}")

    run()
    return failures


@pytest.mark.parametrize("who", ["anonymous", "doctor", "staff"])
def test_every_operation_keeps_the_documented_contract(api_schema, who):
    from schemathesis import GenerationMode

    make_event()  # an event id for the path parameters to hit sometimes
    user = {"anonymous": None, "doctor": lambda: make_doctor(verified=True),
            "staff": lambda: user_with_role("marketing")}[who]
    headers = {"Authorization": f"Bearer {token_for(user())}"} if user else {}
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += check_operation(operation, headers, mode)
    assert not failures, json.dumps(failures, ensure_ascii=False, indent=1)
