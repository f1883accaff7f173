"""The meeting agenda: one block per agenda item, with its minutes and whether it is academic."""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock


class AgendaItemBlock(blocks.StructBlock):
    start_time = blocks.TimeBlock(label=_("start time"))
    title = blocks.CharBlock(label=_("title"), max_length=200)
    speaker = SnippetChooserBlock("events.Speaker", label=_("speaker"), required=False)
    minutes = blocks.IntegerBlock(label=_("minutes"), min_value=1, max_value=24 * 60)
    academic = blocks.BooleanBlock(
        label=_("academic"), required=False, default=True,
        help_text=_("Untick for meals, breaks, product presentations and other non-academic items."),
    )

    class Meta:
        icon = "time"
        label = _("agenda item")
        template = "blocks/agenda_item.html"


class AgendaBlock(blocks.StreamBlock):
    item = AgendaItemBlock()
