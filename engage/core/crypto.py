"""Encryption at rest for personal information (PIPL), with keyed hashes for look-ups.

`encrypt`/`decrypt` use Fernet (AES-128-CBC + HMAC-SHA256) with keys from FIELD_ENCRYPTION_KEY (comma-separated
Fernet keys, newest first, so keys can be rotated); without it, a key is derived from SECRET_KEY (development and
tests only: production settings require FIELD_ENCRYPTION_KEY). `lookup_hash` is an HMAC-SHA256 of the normalised
value under a key derived separately, so equal values can be found without decrypting every row.
"""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _derived(purpose: str) -> bytes:
    return hashlib.sha256(f"engage:{purpose}:{settings.SECRET_KEY}".encode()).digest()


@cache
def _fernet() -> MultiFernet:
    configured = [k.strip() for k in (settings.FIELD_ENCRYPTION_KEY or "").split(",") if k.strip()]
    keys = configured or [base64.urlsafe_b64encode(_derived("field-encryption")).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(value: str) -> str:
    if value in (None, ""):
        return ""
    return _fernet().encrypt(str(value).encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong FIELD_ENCRYPTION_KEY or damaged value") from exc


def lookup_hash(value: str) -> str:
    """A stable keyed hash of `value` (already normalised by the caller, e.g. an E.164 number)."""
    if not value:
        return ""
    return hmac.new(_derived("lookup-hash"), str(value).encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; reads give back the plain text. Not searchable: pair it with a hash."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
