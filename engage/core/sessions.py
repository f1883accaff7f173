"""The session engine: Django's database sessions, with the one read every signed-in request makes compiled once
(engage.core.prepared) instead of built by the ORM per request. Everything else — saving, expiry, log-out deleting
the row — is Django's."""

from datetime import datetime

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from engage.core.prepared import Prepared

_session_of = Prepared(Session, lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1],
                       key=str, now=datetime)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        session = _session_of.first(key=self.session_key, now=timezone.now())
        if session is None:
            self._session_key = None
        return session
