"""Korean-first UI strings with an English switch. Each UI module keeps its own table:

    T = Strings({"title": {"ko": "상담원 허브", "en": "Agent hub"}})
    T("title", "en")  -> "Agent hub";  T("count", "ko", n=3) formats with the keyword arguments
"""

from __future__ import annotations

from typing import Any

# DESIGN.md category and urgency labels live below the UI (graphs show them too); re-exported here.
from sajang.labels import CATEGORY_LABELS as CATEGORY_LABELS
from sajang.labels import URGENCY_LABELS as URGENCY_LABELS

LOCALES = ("ko", "en")
LOCALE_LABELS = {"ko": "한국어", "en": "English"}


class Strings:
    def __init__(self, table: dict[str, dict[str, str]]) -> None:
        self.table = table

    def __call__(self, key: str, locale: str = "ko", **kwargs: Any) -> str:
        entry = self.table.get(key)
        if entry is None:
            return key
        text = entry.get(locale) or entry["ko"]
        return text.format(**kwargs) if kwargs else text


def label(table: dict[str, dict[str, str]], key: str | None, locale: str = "ko") -> str:
    if not key:
        return ""
    entry = table.get(key)
    return (entry.get(locale) or entry["ko"]) if entry else key
