import pytest
from django.test import override_settings

from engage.core import crypto


@pytest.fixture(autouse=True)
def _fresh_keys():
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def test_encrypt_round_trips_and_hides_the_value():
    token = crypto.encrypt("+8613900000001")
    assert "13900000001" not in token
    assert crypto.decrypt(token) == "+8613900000001"
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""


def test_lookup_hash_is_stable_and_keyed():
    assert crypto.lookup_hash("+8613900000001") == crypto.lookup_hash("+8613900000001")
    assert crypto.lookup_hash("+8613900000001") != crypto.lookup_hash("+8613900000002")
    before = crypto.lookup_hash("+8613900000001")
    with override_settings(SECRET_KEY="another-secret-key-entirely-for-this-test-0123456789"):
        assert crypto.lookup_hash("+8613900000001") != before


OLD = "q6Hh3oTcfNFlBjjOe_TqOC1Bv6M9CSHq2XQ4ydYLjxU="
NEW = "2_LxZ0wBOsDh8S5HUmXe7vV0c2m0qkGkLyNj0PjV1xY="


def test_rotated_keys_still_decrypt_old_values():
    with override_settings(FIELD_ENCRYPTION_KEY=OLD):
        token = crypto.encrypt("张三")
    crypto._fernet.cache_clear()
    with override_settings(FIELD_ENCRYPTION_KEY=f"{NEW},{OLD}"):
        assert crypto.decrypt(token) == "张三"
    crypto._fernet.cache_clear()
    with override_settings(FIELD_ENCRYPTION_KEY=NEW), pytest.raises(ValueError):
        crypto.decrypt(token)
