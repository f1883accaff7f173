"""Rich text as readers receive it: expanded like Wagtail's |richtext, reduced to harmless tags and attributes.

The admin editor already whitelists what it saves; this also covers text written by scripts, imports or an API,
so a <script> or an onclick in stored rich text never reaches a reader, on the site or through the API.
"""

from wagtail.rich_text import expand_db_html
from wagtail.whitelist import Whitelister


def clean_rich_text(value) -> str:
    source = getattr(value, "source", value) or ""
    return Whitelister().clean(expand_db_html(str(source)))
