"""Wagtail admin views of members/, one module per area (imported from members/wagtail_hooks.py)."""
