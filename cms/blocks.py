"""StreamField blocks shared by the content pages; each renders with its own template under templates/blocks/."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.contrib.table_block.blocks import TableBlock
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.images.blocks import ImageChooserBlock

# Editors get the formatting a medical article needs, nothing that could carry script or layout.
RICH_TEXT_FEATURES = ["bold", "italic", "superscript", "subscript", "ol", "ul", "link", "document-link"]

DOI_PATTERN = re.compile(r"^10\.\d{4,9}/\S+$")
PMID_PATTERN = re.compile(r"^\d{1,9}$")
HLS_PATTERN = re.compile(r"^https://\S+\.m3u8(\?\S*)?$", re.IGNORECASE)


def validate_doi(value: str) -> None:
    if value and not DOI_PATTERN.match(value):
        raise ValidationError(_("A DOI looks like 10.1056/NEJMoa1504720."), code="invalid_doi")


def validate_pmid(value: str) -> None:
    if value and not PMID_PATTERN.match(value):
        raise ValidationError(_("A PMID is a number of up to 9 digits."), code="invalid_pmid")


def validate_hls_url(value: str) -> None:
    if value and not HLS_PATTERN.match(value):
        raise ValidationError(_("A streaming URL is an https address ending in .m3u8."), code="invalid_hls_url")


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("heading"), max_length=200)
    level = blocks.ChoiceBlock(
        label=_("level"), choices=[("h2", _("Section")), ("h3", _("Subsection"))], default="h2"
    )

    class Meta:
        icon = "title"
        label = _("Heading")
        template = "blocks/heading_block.html"


class CaptionedImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(label=_("image"))
    caption = blocks.CharBlock(label=_("caption"), max_length=300, required=False)
    source = blocks.CharBlock(label=_("source"), max_length=300, required=False,
                              help_text=_("Where the figure comes from, e.g. the journal and figure number."))

    class Meta:
        icon = "image"
        label = _("Image with caption")
        template = "blocks/image_block.html"


class VideoBlock(blocks.StructBlock):
    """A video from the document library (served through the checked document view) or an HLS stream."""

    video = DocumentChooserBlock(label=_("video file"), required=False)
    stream_url = blocks.URLBlock(label=_("streaming URL (HLS)"), required=False, validators=[validate_hls_url])
    poster = ImageChooserBlock(label=_("poster image"), required=False)
    caption = blocks.CharBlock(label=_("caption"), max_length=300, required=False)

    class Meta:
        icon = "media"
        label = _("Video")
        template = "blocks/video_block.html"

    def clean(self, value):
        value = super().clean(value)
        if bool(value.get("video")) == bool(value.get("stream_url")):
            message = _("Choose a video file or enter a streaming URL, not both.")
            raise StructBlockValidationError(
                block_errors={"video": ValidationError(message), "stream_url": ValidationError(message)}
            )
        return value


class DocumentBlock(blocks.StructBlock):
    document = DocumentChooserBlock(label=_("document"))
    title = blocks.CharBlock(label=_("title"), max_length=200, required=False)
    description = blocks.TextBlock(label=_("description"), max_length=500, required=False)

    class Meta:
        icon = "doc-full"
        label = _("PDF document")
        template = "blocks/document_block.html"


class QuoteBlock(blocks.StructBlock):
    text = blocks.TextBlock(label=_("quote"), max_length=1000)
    attribution = blocks.CharBlock(label=_("attribution"), max_length=200, required=False)

    class Meta:
        icon = "openquote"
        label = _("Quote")
        template = "blocks/quote_block.html"


class CalloutBlock(blocks.StructBlock):
    kind = blocks.ChoiceBlock(
        label=_("kind"),
        choices=[("key_point", _("Key point")), ("info", _("Information")), ("warning", _("Warning"))],
        default="key_point",
    )
    title = blocks.CharBlock(label=_("title"), max_length=200, required=False)
    text = blocks.RichTextBlock(label=_("text"), features=RICH_TEXT_FEATURES)

    class Meta:
        icon = "warning"
        label = _("Callout")
        template = "blocks/callout_block.html"


class ReferenceBlock(blocks.StructBlock):
    citation = blocks.TextBlock(label=_("citation"), max_length=1000,
                                help_text=_("Authors. Title. Journal. Year;Volume(Issue):Pages."))
    doi = blocks.CharBlock(label=_("DOI"), max_length=200, required=False, validators=[validate_doi])
    pmid = blocks.CharBlock(label=_("PMID"), max_length=9, required=False, validators=[validate_pmid])

    class Meta:
        icon = "link"
        label = _("Reference")


class ReferencesBlock(blocks.StructBlock):
    heading = blocks.CharBlock(label=_("heading"), max_length=100, required=False)
    references = blocks.ListBlock(ReferenceBlock(), label=_("references"), min_num=1)

    class Meta:
        icon = "list-ol"
        label = _("References")
        template = "blocks/references_block.html"


class ArticleTableBlock(TableBlock):
    class Meta:
        icon = "table"
        label = _("Table")
        template = "blocks/table_block.html"


class ChapterBlock(blocks.StructBlock):
    start = blocks.RegexBlock(
        label=_("start"), regex=r"^(\d{1,2}:)?[0-5]?\d:[0-5]\d$", max_length=8,
        error_messages={"invalid": _("Write the start as mm:ss or h:mm:ss.")},
    )
    title = blocks.CharBlock(label=_("title"), max_length=200)

    class Meta:
        icon = "time"
        label = _("Chapter")


class ArticleBodyBlock(blocks.StreamBlock):
    rich_text = blocks.RichTextBlock(label=_("Text"), features=RICH_TEXT_FEATURES,
                                     template="blocks/rich_text_block.html")
    heading = HeadingBlock()
    image = CaptionedImageBlock()
    video = VideoBlock()
    document = DocumentBlock()
    table = ArticleTableBlock()
    quote = QuoteBlock()
    callout = CalloutBlock()
    references = ReferencesBlock()


def chapter_seconds(start: str) -> int:
    """'1:02:03' -> 3723; '12:30' -> 750."""
    seconds = 0
    for part in start.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds
