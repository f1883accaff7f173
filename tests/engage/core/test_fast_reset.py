"""The SQL reset of transactional tests (tests/fast_reset.py) leaves the database as Django's flush and serialized
rollback would: empty after the tear-down, exactly the migrations' rows after the set-up."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from wagtail.models import Page

from tests import fast_reset

pytestmark = pytest.mark.django_db(transaction=True)


def _counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in fast_reset._tables(connection):
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (our table names)
            counts[table] = cursor.fetchone()[0]
    return counts


def test_the_snapshot_holds_the_migrations_rows_and_the_reset_restores_exactly_them():
    contents = connection._test_serialized_contents
    assert contents.startswith(fast_reset.MARKER)  # the test database's user is a superuser here and in CI
    after_migrations = _counts()
    assert after_migrations["auth_group"] > 0 and after_migrations["wagtailcore_page"] >= 2
    get_user_model().objects.create(username="made-by-this-test", email="made-by-this-test@example.com")
    # as TransactionTestCase flushes (the command alone would also restart the sequences)
    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True, reset_sequences=False)
    assert set(_counts().values()) == {0}  # the append-only tables too, as TRUNCATE empties them
    connection.creation.deserialize_db_from_string(contents)
    assert _counts() == after_migrations
    assert not get_user_model().objects.filter(username="made-by-this-test").exists()
    # the sequences hand out free ids
    get_user_model().objects.create(username="made-after-the-reset", email="made-after-the-reset@example.com")


def test_a_restore_after_the_sequences_were_restarted_leaves_them_past_the_copied_rows():
    contents = connection._test_serialized_contents
    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)  # restarts the sequences
    connection.creation.deserialize_db_from_string(contents)
    root = Page.objects.get(depth=1)
    root.add_child(instance=Page(title="a page made after the restore", slug="after-restore"))  # a free id


def test_restoring_over_rows_of_a_test_replaces_them():
    contents = connection._test_serialized_contents
    before = _counts()
    get_user_model().objects.create(username="left-behind", email="left-behind@example.com")
    connection.creation.deserialize_db_from_string(contents)
    assert _counts() == before and not get_user_model().objects.filter(username="left-behind").exists()
