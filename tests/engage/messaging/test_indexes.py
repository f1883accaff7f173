"""The outbox and the dose events change status several times per message in a burst, and each change writes a new
row version into every index of the table (none of the changes is HOT): only indexes some query uses are kept."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


def test_the_outbox_keeps_one_index_per_lookup():
    indexes = _indexes("messaging_outboundmessage")
    assert not [name for name, definition in indexes.items() if "pattern_ops" in definition]
    columns = sorted(definition.split("(", 1)[1].split(")", 1)[0] for definition in indexes.values())
    assert columns == ["created_at", "fallback_of_id", "id", "idempotency_key", "provider_message_id", "purpose",
                       "recipient_hash", "resend_of_id", "status, next_attempt_at", "user_id"]
    for name in ("outbox_user_idx", "outbox_fallback_of_idx", "outbox_resend_of_idx"):  # foreign keys: full
        assert "WHERE" not in indexes[name]
    assert "WHERE" in indexes["outbox_provider_id_idx"]  # empty until the provider call
    assert "UNIQUE" in indexes["outbox_idempotency_key_uniq"]


def test_dose_events_index_their_message_once():
    indexes = _indexes("reminders_doseevent")
    by_column = [definition.split("(", 1)[1].split(")", 1)[0] for definition in indexes.values()]
    assert by_column.count("message_id") == 1 and "WHERE" not in indexes["dose_message_idx"]
