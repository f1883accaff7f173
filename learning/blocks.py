"""StreamField blocks of lesson pages (at the app root: migrations reference them)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError

from cms.blocks import RICH_TEXT_FEATURES, CaptionedImageBlock, DocumentBlock, VideoBlock, validate_hls_url


def validate_mp4_url(value: str) -> None:
    if value and not (value.lower().startswith("https://") and value.lower().split("?")[0].endswith(".mp4")):
        raise ValidationError(_("A video address is an https address ending in .mp4."), code="invalid_mp4_url")


class LessonVideoBlock(VideoBlock):
    """A video from the library, an HLS stream, or an MP4 file on the CDN."""

    mp4_url = blocks.URLBlock(label=_("MP4 address"), required=False, validators=[validate_mp4_url])

    class Meta:
        icon = "media"
        label = _("Video")
        template = "learning/courses/blocks/video_block.html"

    def clean(self, value):
        value = blocks.StructBlock.clean(self, value)
        given = [name for name in ("video", "stream_url", "mp4_url") if value.get(name)]
        if len(given) != 1:
            message = _("Choose exactly one: a video file, a streaming URL or an MP4 address.")
            raise StructBlockValidationError(block_errors={name: ValidationError(message)
                                                           for name in ("video", "stream_url", "mp4_url")})
        validate_hls_url(value.get("stream_url") or "")
        return value


class KnowledgeCheckChoiceBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("answer"), max_length=300)
    correct = blocks.BooleanBlock(label=_("correct"), required=False)


class KnowledgeCheckBlock(blocks.StructBlock):
    """A question inside a lesson to check understanding; not graded, the reader sees the explanation at once."""

    question = blocks.CharBlock(label=_("question"), max_length=500)
    choices = blocks.ListBlock(KnowledgeCheckChoiceBlock(), min_num=2, max_num=8, label=_("answers"))
    explanation = blocks.TextBlock(label=_("explanation"), max_length=1000, required=False)

    class Meta:
        icon = "help"
        label = _("Knowledge check")
        template = "learning/courses/blocks/knowledge_check_block.html"

    def clean(self, value):
        value = super().clean(value)
        if not any(choice.get("correct") for choice in value.get("choices") or []):
            raise StructBlockValidationError(
                block_errors={"choices": ValidationError(_("Mark at least one answer as correct."))})
        return value


class LessonBodyBlock(blocks.StreamBlock):
    rich_text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, label=_("Text"),
                                     template="blocks/rich_text_block.html")
    image = CaptionedImageBlock()
    video = LessonVideoBlock()
    document = DocumentBlock()
    knowledge_check = KnowledgeCheckBlock()
