"""Pinyin initials for searching Chinese names by typing, e.g. "bjxh" finds 北京协和医院."""

from pypinyin import Style, lazy_pinyin


def initials(text: str) -> str:
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return "".join(ch for ch in "".join(letters) if ch.isalnum()).upper()[:100]
