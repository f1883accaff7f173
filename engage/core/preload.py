"""What most pages ask about the signed-in person — their roles, what gated content they may read, whether they owe
a privacy consent, their unread count, their share code — read with their user row, in the one statement that loads
them from the session, instead of one query each later in the request.

Each area registers what it contributes in its AppConfig.ready(): an annotation built from its own queryset (the
rule stays in the area's selector, which uses the same expression when it asks on its own) and how the value is
remembered on the user object, where the area's selector finds it for the rest of the request. A user object that
did not come from the session (a service's argument, a test's factory) has nothing remembered, and the selectors ask
the database as before. Areas that change one of these facts for the signed-in person during a request forget the
remembered value (e.g. `forget_roles`), as they did for their own per-request caches before.

    register_user_preload("access_level", expression=access_level_expression, remember=remember_access_level)
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthAuthenticationBackend
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Expression, QuerySet
from django.utils import timezone

from engage.core.prepared import Prepared


@dataclass(frozen=True)
class UserPreload:
    name: str
    expression: Callable[[datetime], Expression]  # (now) -> annotation on the user row (OuterRef("pk") is the user)
    remember: Callable[[Any, Any], None]  # (user, value read) -> None


_preloads: dict[str, UserPreload] = {}
_PREFIX = "_preload_"


_queries: list[Prepared] = []


def preloaded_users_query(build: Callable[..., QuerySet], **kinds: type) -> Prepared:
    """A compiled-once query of users, found another way than by their id (an API token, say): `build(now=…,
    **stand_ins)` filters users; every registered fact is annotated on them. Read its users with `preloaded`."""

    def annotated(now, **values):
        return build(now=now, **values).annotate(
            **{_PREFIX + preload.name: preload.expression(now) for preload in _preloads.values()})

    # Building and compiling the annotated query costs several milliseconds of Python, more than the queries it
    # replaces: it is compiled once per process (engage.core.prepared).
    query = Prepared(settings.AUTH_USER_MODEL, annotated, now=datetime, **kinds)
    _queries.append(query)
    return query


def preloaded(query: Prepared, **values) -> Any | None:
    """The first user `query` (from `preloaded_users_query`) finds with `values`, every registered fact
    remembered on them; None if there is none."""
    user = query.first(now=timezone.now(), **values)
    if user is not None:
        for preload in _preloads.values():
            preload.remember(user, user.__dict__.pop(_PREFIX + preload.name))
    return user


_by_id = preloaded_users_query(lambda now, user_id: get_user_model()._default_manager.filter(pk=user_id),
                               user_id=int)


def register_user_preload(name: str, *, expression: Callable[[datetime], Expression],
                          remember: Callable[[Any, Any], None]) -> None:
    """Called by the area that owns the fact, in its AppConfig.ready(); registering again replaces the entry."""
    _preloads[name] = UserPreload(name, expression, remember)
    for query in _queries:
        query.forget()


def user_preloaded(user_id) -> Any | None:
    """The user `user_id` (active or not) with every registered fact remembered on it; None if there is none."""
    return preloaded(_by_id, user_id=get_user_model()._meta.pk.to_python(user_id))


class _PreloadingGetUser:
    """`get_user` (what the session middleware calls on every request) through `user_preloaded`."""

    def get_user(self, user_id):
        user = user_preloaded(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class PreloadingModelBackend(_PreloadingGetUser, ModelBackend):
    """Django's username/password backend."""


class PreloadingAuthenticationBackend(_PreloadingGetUser, AllauthAuthenticationBackend):
    """allauth's backend (email or phone log-in)."""
