"""Every write in members/, one module per area; import from here or from the module."""

from .accounts import api_token_create, member_update, role_grant, user_by_login, username_generate
from .engagement import engagement_record

__all__ = [
    "api_token_create", "engagement_record", "member_update", "role_grant", "user_by_login", "username_generate",
]
