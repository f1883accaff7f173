"""Wagtail admin of the meetings app, one module per area; events/wagtail_hooks.py imports them all."""
