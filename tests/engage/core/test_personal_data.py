"""Every key to the user model is either covered by a personal data registration (exported, and closed as it
declares) or exempt with a reason: a new model with a user key fails here until its area says what it holds."""

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.test.utils import isolate_apps

from engage.core.personal_data import (
    EXEMPT,
    Closing,
    personal_data,
    personal_data_registry,
    uncovered_user_keys,
    user_keys,
)


def test_every_key_to_the_user_is_exported_or_exempt_with_a_reason():
    assert uncovered_user_keys() == []


@isolate_apps("engage.core")
def test_a_new_model_with_a_user_key_is_reported():
    user_model = get_user_model()  # the class itself: the isolated registry cannot resolve "members.User"

    class TermList(models.Model):  # e.g. another area's new list with an author
        created_by = models.ForeignKey(user_model, on_delete=models.SET_NULL, null=True, related_name="+")
        reviewers = models.ManyToManyField(user_model, related_name="+")

        class Meta:
            app_label = "core"

        def __str__(self):
            return str(self.pk)

    assert uncovered_user_keys([*apps.get_models(), TermList]) == ["core.TermList.created_by",
                                                                   "core.TermList.reviewers"]


def test_exemptions_name_real_keys_and_give_reasons():
    keys = user_keys()
    labels = {label for label, _name in keys}
    stale = [key for key in EXEMPT if key not in labels and tuple(key.rsplit(".", 1)) not in keys]
    assert stale == []
    assert all(len(reason) > 10 for reason in EXEMPT.values())


def test_registrations_name_real_models_and_keys():
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for entry in personal_data_registry():
        model = apps.get_model(entry.model)
        for name in entry.user_fields:
            assert model._meta.get_field(name).related_model is user_model, f"{entry.section}: {name}"
        assert entry.closing == Closing.DELETE or entry.reason, entry.section


def test_a_registration_says_how_rows_are_closed():
    with pytest.raises(ValueError, match="close function"):
        personal_data(section="x", model="members.User", user_fields=(), closing=Closing.PSEUDONYMISE,
                      reason="kept")
    with pytest.raises(ValueError, match="why"):
        personal_data(section="x", model="members.User", user_fields=(), closing=Closing.RETAIN)
