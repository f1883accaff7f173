import pytest

from engage.messaging import ratelimit
from tests.engage.messaging.fixtures_templates import PARAMS  # noqa: F401  (registers the test template)


@pytest.fixture(autouse=True)
def _clean_buckets():
    for provider in ("sms", "wechat", "outbox"):
        ratelimit.reset(provider)
    yield
