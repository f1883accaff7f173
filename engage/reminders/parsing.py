"""What a patient's free-text reply says: a blood glucose value and its unit."""

import re
import unicodedata

GLUCOSE_RE = re.compile(
    r"(?:血糖|bg|glucose|sugar)\s*[:：=]?\s*(?P<value>\d{1,5}(?:[.,]\d{1,3})?)\s*(?P<unit>mmol/?l|mg/?dl)?",
    re.IGNORECASE,
)


def parse_glucose(text: str) -> tuple[str, str] | None:
    """"血糖 7.8" / "BG 140 mg/dL" -> (value, unit). A bare number is not a glucose (it could be "1")."""
    match = GLUCOSE_RE.search(text or "")
    if not match:
        return None
    unit = (match.group("unit") or "").lower().replace("/", "")
    unit = {"mmoll": "mmol/L", "mgdl": "mg/dL"}.get(unit, "mmol/L")
    return match.group("value"), unit


# --- Adverse-event terms ------------------------------------------------------------------------------------
#
# Both the message and each term are normalised the same way: NFKC (full-width letters, digits and punctuation
# become half-width), lower case, and the message is cut into clauses at punctuation. A Chinese term is looked
# for in each clause with every space and symbol removed ("呼吸 困难" finds 呼吸困难); a Latin term is looked for
# as whole words, spaces flexible, with an English ending allowed ("rashes", "itching").
#
# Negation: an occurrence directly after a negation in the same clause ("没有头晕", "无皮疹", "no dizziness",
# "don't feel dizzy") does not count; a question ("有没有头晕", "会不会头晕") and a resolved reaction
# ("不再头晕", "no longer dizzy": it still happened) do. Anything less clear counts: a missed case is worse than
# an extra one for medical staff to close.

_CLAUSE_SPLIT = re.compile(r"[,.;:!?\n。，；：！？、…()\[\]{}<>《》【】\"“”]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_ZH_NEGATION = re.compile(
    r"(?P<cue>没有|并没有|从没有|从未|未曾|未见|没|无|不|未|否认|并无)"
    r"(?:出现|发生|感到|感觉|觉得|任何|什么|明显|有|过|见|啥){0,2}$"
)
# A negation word preceded by one of these is a question ("有没有", "会不会", "是不是", "有无"), not a denial.
_ZH_QUESTION_BEFORE = {"没有": "有", "没": "有", "无": "有", "不": "会是能要"}
_EN_NEGATION = re.compile(
    r"(?:^|\s)(?:no|not|never|without|denies|deny|denied|nor|dont|didnt|doesnt|havent|hasnt|hadnt|wasnt|isnt|"
    r"arent|werent|free of)\s+(?:(?:any|feel|feeling|felt|have|having|had|get|getting|got|experience|"
    r"experienced|experiencing|a|an|been|signs? of|the|much|really|very|serious)\s+){0,3}$"
)
_EN_ENDINGS = r"(?:s|es|ed|d|ing|y|ies|ness)?"


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower().replace("'", "").replace("’", "")


def _compact(text: str) -> str:
    """Without spaces, punctuation or symbols: how Chinese text is compared."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _words(text: str) -> str:
    """Punctuation and symbols to single spaces: how Latin text is compared."""
    spaced = "".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in text)
    return " ".join(spaced.split())


def compact_text(text: str) -> str:
    """Normalised (width, case) and without spaces or punctuation: "二甲双胍 缓释片" finds "二甲双胍缓释片"."""
    return _compact(_nfkc(text))


def pv_phrase_key(phrase: str) -> str:
    """The normalised form of a term or synonym (what two phrases have in common when they are the same)."""
    phrase = _nfkc(phrase)
    return _compact(phrase) if _CJK.search(phrase) else _words(phrase)


def _zh_negated(before: str) -> bool:
    match = _ZH_NEGATION.search(before)
    if not match:
        return False
    ahead = before[:match.start()][-1:]
    return not (ahead and ahead in _ZH_QUESTION_BEFORE.get(match.group("cue"), ""))


def _en_negated(before: str) -> bool:
    return bool(_EN_NEGATION.search(before.rstrip() + " ")) if before.strip() else False


def _latin_pattern(key: str) -> str:
    return r"(?<![a-z0-9])" + r"\s*".join(re.escape(w) for w in key.split()) + _EN_ENDINGS + r"(?![a-z])"


def _mentioned_in(keys: list[str], clause: str) -> bool:
    """Whether one of a term's phrases occurs in `clause` without a negation before it. Longer phrases first: a
    synonym inside a longer one ("痒" in "无瘙痒") takes the longer one's answer."""
    compact, words = _compact(clause), _words(clause)
    seen: list[tuple[bool, int, int]] = []  # (chinese, start, end) of the occurrences judged so far
    for key in sorted(keys, key=len, reverse=True):
        chinese = bool(_CJK.search(key))
        spans = re.finditer(re.escape(key) if chinese else _latin_pattern(key), compact if chinese else words)
        for match in spans:
            start, end = match.span()
            if any(c == chinese and a <= start and end <= b for c, a, b in seen):
                continue
            seen.append((chinese, start, end))
            negated = _zh_negated(compact[:start]) if chinese else _en_negated(words[:start])
            if not negated:
                return True
    return False


def pv_terms_found(text: str, terms: dict[str, list[str]]) -> list[str]:
    """The terms ({term: [term, synonym, …]}) that `text` mentions without denying them, in `terms` order."""
    clauses = [c for c in _CLAUSE_SPLIT.split(_nfkc(text)) if c.strip()]
    found = []
    for term, phrases in terms.items():
        keys = [k for k in (pv_phrase_key(p) for p in phrases) if k]
        if any(_mentioned_in(keys, clause) for clause in clauses):
            found.append(term)
    return found
