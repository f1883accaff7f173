"""What a patient's free-text reply says: a blood glucose value and its unit."""

import re

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
