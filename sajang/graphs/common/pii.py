"""Personal data kept from an external chat model (`SAJANG_LLM_MASK_PII=true`).

Before a request leaves, every phone number, e-mail address, postal address and known customer name in
its messages becomes a placeholder (`[전화1]`, `[이메일1]`, `[주소1]`, `[이름1]`); the same value is always
the same placeholder within a turn, so the model can still say "[이름1]님, [전화1]로 연락드릴게요" and the
caller restores the values in what the customer sees (`unmask`, or `unmask_prefix` for a stream that may
stop in the middle of a placeholder).

A turn's mask is set for the code that asks the model (`masking`); the chat model's request hook
(`sajang.graphs.common.llm`) masks with it, or with a throw-away mask when none is set, so nothing
leaves unmasked even from a caller that does not restore. Customer names come from the database
(`customer_names`, cached for a few minutes): the asking customer's and any other customer's a message
names.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, select

from sajang.db.models import Customer

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<!\d)(?:\+?82[-\s]?)?0?1[016789][-\s.]?\d{3,4}[-\s.]?\d{4}(?!\d)"
                   r"|(?<!\d)0\d{1,2}[-\s.]\d{3,4}[-\s.]\d{4}(?!\d)")
ADDRESS = re.compile(
    r"[가-힣]+(?:특별시|광역시|특별자치시|특별자치도|도|시)\s+[가-힣]+(?:시|군|구)(?:\s+[가-힣0-9]+(?:구|읍|면|동|로|길))*"
    r"(?:\s*\d+(?:-\d+)?(?:번길|길)?)?(?:\s*\d+(?:동|호|층))*"
    # a road and its number, not "택배로 3일", "배송비로 3,000원": no unit or amount after the number
    r"|[가-힣0-9]+(?:로|길)\s*\d+(?:-\d+)?(?![\d,.]*\s*(?:원|일|개|시|분|%|kg|g|명|박스|번째|회|차|주))"
    r"(?:\s*\d+(?:동|호|층))*"
    r"|\b\d{1,5}\s+[A-Z][a-z]+\s+(?:Street|St|Avenue|Ave|Road|Rd|Blvd|Lane|Ln)\b")
# the order matters: an e-mail before a phone (digits in it), an address before a name inside it
KINDS: list[tuple[str, re.Pattern[str]]] = [("이메일", EMAIL), ("전화", PHONE), ("주소", ADDRESS)]
PLACEHOLDER = re.compile(r"\[(?:이메일|전화|주소|이름)\d+\]")
NAMES_TTL_S = 300.0


class PiiMask:
    """The placeholders of one turn: `mask` replaces, `unmask` restores. Thread-safe (the model's calls of
    a turn may run in LangGraph's worker threads)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        known = {n.strip() for n in names if n and len(n.strip()) >= 2}
        self._names = re.compile("|".join(re.escape(n) for n in sorted(known, key=len, reverse=True))) \
            if known else None
        self._token_of: dict[str, str] = {}
        self._value_of: dict[str, str] = {}
        self._lock = threading.Lock()

    def _token(self, kind: str, value: str) -> str:
        with self._lock:
            token = self._token_of.get(value)
            if token is None:
                n = sum(1 for t in self._value_of if t.startswith(f"[{kind}")) + 1
                token = self._token_of[value] = f"[{kind}{n}]"
                self._value_of[token] = value
            return token

    def mask(self, text: str) -> str:
        for kind, rx in KINDS:
            text = rx.sub(lambda m, k=kind: self._token(k, m.group(0)), text)  # type: ignore[misc]
        if self._names is not None:
            text = self._names.sub(lambda m: self._token("이름", m.group(0)), text)
        return text

    def unmask(self, text: str) -> str:
        with self._lock:
            values = dict(self._value_of)
        return PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), text) if values else text

    def unmask_prefix(self, text: str) -> str:
        """`unmask` of the start of a streamed text, without a placeholder cut in half at its end ("[전"
        waits for the next chunk: the customer never sees a piece of a placeholder)."""
        cut = text.rfind("[")
        if cut != -1 and "]" not in text[cut:] and len(text) - cut <= 6:
            text = text[:cut]
        return self.unmask(text)

    @property
    def values(self) -> list[str]:
        """What was masked so far (tests and logs check none of it left)."""
        with self._lock:
            return list(self._token_of)

    def mask_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A chat request body with every message's text (and the tool-call arguments the model wrote)
        masked; image parts are left as they are."""
        for message in payload.get("messages") or []:
            content = message.get("content")
            if isinstance(content, str):
                message["content"] = self.mask(content)
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        part["text"] = self.mask(part["text"])
            for call in message.get("tool_calls") or []:
                fn = call.get("function") or {}
                if isinstance(fn.get("arguments"), str):
                    fn["arguments"] = self.mask(fn["arguments"])
        return payload


_current: ContextVar[PiiMask | None] = ContextVar("sajang_pii_mask", default=None)


def current_mask() -> PiiMask | None:
    return _current.get()


@contextmanager
def masking(mask: PiiMask | None) -> Iterator[PiiMask | None]:
    """Run the block with `mask` as the turn's mask (None: no masking set by this caller)."""
    token = _current.set(mask)
    try:
        yield mask
    finally:
        _current.reset(token)


_names_cache: dict[str, tuple[float, list[str]]] = {}
_names_lock = threading.Lock()


def customer_names(engine: Engine) -> list[str]:
    """Every customer's name in the database (re-read after `NAMES_TTL_S`): a name a message mentions is
    masked whoever it belongs to."""
    key = str(engine.url)
    now = time.monotonic()
    with _names_lock:
        hit = _names_cache.get(key)
        if hit is not None and now - hit[0] < NAMES_TTL_S:
            return hit[1]
    with engine.connect() as conn:
        names = [n for n in conn.scalars(select(Customer.name).where(Customer.name.is_not(None)).distinct()) if n]
    with _names_lock:
        _names_cache[key] = (now, names)
    return names


def forget_customer_names() -> None:
    """Drop the cached names (tests; an import of customers)."""
    with _names_lock:
        _names_cache.clear()
