from django.templatetags.static import static
from django.utils.html import format_html
from wagtail import hooks


@hooks.register("insert_global_admin_js")
def behaviours_js():
    """Our admin screens declare their small behaviours with data- attributes (no inline handlers: CSP)."""
    return format_html('<script src="{}" defer></script>', static("js/behaviours.js"))
