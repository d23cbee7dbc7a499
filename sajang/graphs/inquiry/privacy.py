"""Personal data in text that would be taught to the bot (learned answers).

A learned answer is shown to every customer who asks a similar question, so it must never carry one
customer's order numbers, names, phone numbers, addresses or e-mail addresses. `find_personal_data`
reports what it found (with the kind), `generalise` replaces it with neutral placeholders (used for the
*question* side, which only serves matching and the agents' list).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sajang.graphs.common.pii import ADDRESS, EMAIL, PHONE

PATTERNS: list[tuple[str, re.Pattern[str], str]] = [
    ("email", EMAIL, "[이메일]"),
    ("phone", PHONE, "[전화번호]"),
    ("order_id", re.compile(r"\b[A-Z]{1,3}-\d{6,}(?:-\d+)?\b|(?<!\d)\d{8,20}(?!\d)", re.IGNORECASE), "[주문번호]"),
    ("address", ADDRESS, "[주소]"),
]


@dataclass(frozen=True)
class Finding:
    kind: str  # email | phone | order_id | address | name
    text: str


def find_personal_data(text: str, names: Iterable[str] = ()) -> list[Finding]:
    """Everything in `text` that identifies a person: patterns plus the given customer names."""
    found: list[Finding] = []
    for kind, rx, _ in PATTERNS:
        found += [Finding(kind, m.group(0)) for m in rx.finditer(text)]
    for name in {n.strip() for n in names if n and len(n.strip()) >= 2}:
        if name in text:
            found.append(Finding("name", name))
    return found


def generalise(text: str, names: Iterable[str] = ()) -> str:
    """`text` with personal data replaced by placeholders ([주문번호], [전화번호], [고객명] …)."""
    for _, rx, placeholder in PATTERNS:
        text = rx.sub(placeholder, text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        text = text.replace(name, "[고객명]")
    return text
