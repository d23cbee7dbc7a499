"""A product's own facts (stock, restock date, origin, ingredients, size, options) as answers and as a
retrieval source.

A product question that asks for one of these facts is answered from the products table — the one place
that knows whether «순살 갈비탕» is sold out today and when it comes back — never from the manual, whose
generic stock article cannot say. A fact the table does not have is not guessed: the question goes on to
the manual search and, most likely, to a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sajang.knowledge.normalize import particle_after

FACT_CONFIDENCE = 0.9  # read from the products table, not retrieved: as sure as the table is current

# what a question asks about, by the words customers use (Korean as typed on a phone, and English)
ASKS: dict[str, re.Pattern[str]] = {
    "stock": re.compile(r"재고|품절|재입고|입고|언제\s*(다시\s*)?(들어|풀|판매|구매|살\s*수)|다시\s*(판매|팔)|"
                        r"구매\s*(가능|할\s*수)|주문\s*(가능|할\s*수)|살\s*수\s*있|sold\s*out|in\s*stock|restock|"
                        r"back\s*in\s*stock|available", re.IGNORECASE),
    "origin": re.compile(r"원산지|국산|국내산|수입산?|어디\s*산|어느\s*나라|산지|made\s*in|origin", re.IGNORECASE),
    "ingredients": re.compile(r"성분|원재료|재료|알레?러지|알레르기|첨가물|함유|들어\s*(있|가)|ingredient|allerg",
                              re.IGNORECASE),
    "size": re.compile(r"크기|사이즈|용량|중량|무게|치수|몇\s*(g|그램|kg|키로|ml|미리|인분|cm|센티)|양이|"
                       r"size|weight|how\s*(big|much\s*does)", re.IGNORECASE),
    "options": re.compile(r"옵션|색상|컬러|맛\s*(선택|종류)|종류가|고를\s*수|option|colou?r", re.IGNORECASE),
}
WEEKDAYS = {"ko": "월화수목금토일", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


@dataclass(frozen=True)
class FactAnswer:
    """Sentences answering the facts asked; `missing`: facts asked that the products table lacks."""

    asked: tuple[str, ...]
    sentences: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return bool(self.asked) and not self.missing


def short_name(name: str) -> str:
    """«순살 갈비탕 (800g, 2인분)» → «순살 갈비탕»: what a sentence calls the product."""
    return name.split(" (")[0].strip() or name


def asked_facts(question: str, category: str | None = None) -> tuple[str, ...]:
    """The product facts a question asks for (the classifier's `stock` category counts as asking stock)."""
    found = [fact for fact, pattern in ASKS.items() if pattern.search(question)]
    if category == "stock" and "stock" not in found:
        found.insert(0, "stock")
    return tuple(found)


def _day(d: date, locale: str) -> str:
    if locale == "en":
        return f"{WEEKDAYS['en'][d.weekday()]} {d:%b} {d.day}"
    return f"{d.month}월 {d.day}일({WEEKDAYS['ko'][d.weekday()]})"


def sold_out(product: Mapping[str, Any]) -> bool:
    return product.get("status") == "sold_out" or int(product.get("stock") or 0) <= 0


def stock_sentence(product: Mapping[str, Any], locale: str, today: date) -> str:
    name = short_name(str(product["name"]))
    restock = product.get("restock_on")
    if product.get("status") == "hidden":
        return (f"{name}{particle_after(name, '은')} 현재 판매를 잠시 멈춘 상품입니다." if locale != "en"
                else f"{name} is not on sale at the moment.")
    if not sold_out(product):
        return (f"{name}{particle_after(name, '은')} 현재 재고가 있어 바로 주문하실 수 있습니다." if locale != "en"
                else f"{name} is in stock and can be ordered right away.")
    if isinstance(restock, date) and restock >= today:
        return (f"{name}{particle_after(name, '은')} 현재 품절이며, {_day(restock, locale)} 재입고될 예정입니다. "
                "입고되는 대로 바로 주문하실 수 있습니다." if locale != "en"
                else f"{name} is sold out at the moment; it is expected back in stock on {_day(restock, locale)}.")
    return (f"{name}{particle_after(name, '은')} 현재 품절이며, 재입고 일정은 아직 정해지지 않았습니다. "
            "상품 페이지의 재입고 알림을 신청해 주시면 입고 즉시 알려 드립니다." if locale != "en"
            else f"{name} is sold out at the moment and no restock date is set yet.")


def _fact_sentence(fact: str, product: Mapping[str, Any], locale: str) -> str | None:
    value = (product.get(fact) or "").strip() if isinstance(product.get(fact), str) else None
    if not value:
        return None
    name = short_name(str(product["name"]))
    if locale == "en":
        label = {"origin": "origin", "ingredients": "ingredients", "size": "size/weight", "options": "options"}[fact]
        return f"The {label} of {name}: {value}."
    if fact == "origin":
        return f"{name}의 원산지는 {value}입니다."
    if fact == "ingredients":
        return f"{name}의 원재료는 {value}입니다. 알레르기가 있으시면 상품 상세의 표시 사항도 꼭 확인해 주세요."
    if fact == "size":
        return f"{name}의 용량·크기는 {value}입니다."
    return f"{name}에서 고르실 수 있는 옵션은 {value}입니다."


def fact_answer(question: str, product: Mapping[str, Any] | None, *, category: str | None, locale: str,
                today: date) -> FactAnswer:
    """What the products table says to the facts the question asks for."""
    asked = asked_facts(question, category)
    if product is None or not asked:
        return FactAnswer(asked, (), asked)
    sentences: list[str] = []
    missing: list[str] = []
    for fact in asked:
        line = stock_sentence(product, locale, today) if fact == "stock" else _fact_sentence(fact, product, locale)
        if line is None:
            missing.append(fact)
        else:
            sentences.append(line)
    return FactAnswer(asked, tuple(sentences), tuple(missing))


def product_article(product: Mapping[str, Any], locale: str, today: date) -> dict[str, Any]:
    """The product's facts as one more retrieved passage (a manual-shaped hit the answer can cite): what
    the chat model reads beside the manual for a question about this product."""
    name = str(product["name"])
    sections = [f"# {name}", "## 재고", stock_sentence(product, locale, today)]
    for fact, title in (("options", "옵션"), ("size", "용량·크기"), ("origin", "원산지"), ("ingredients", "원재료"),
                        ("description", "상품 설명")):
        value = product.get(fact)
        if isinstance(value, str) and value.strip():
            sections += [f"## {title}", value.strip()]
    if product.get("price") is not None:
        sections += ["## 가격", f"{int(product['price']):,}원"]
    body = "\n\n".join(sections)
    return {"id": f"product:{product['id']}", "title": name, "score": 1.0, "kind": "manual", "text": body,
            "body": body, "category": "product"}
