"""A product named in the chat, asked whether it is in stock, when it comes back or what it costs: answered from
the products table (the stock article promises «채팅 상담에서 상품 이름을 말씀하시면 현재 재고와 입고 예정일을
알려 드립니다»; its generic restock cycle cannot say that «간장게장» is back on 12월 5일).

The same sentences as the product Q&A drafts (`sajang.graphs.qna.facts`); a question that names no product of the
catalogue, or asks anything besides (a fee, a return, a coupon), goes on to the manual.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sajang.config import StorePolicy
from sajang.graphs.inquiry.prompts import T
from sajang.graphs.qna.facts import ASKS, FACT_CONFIDENCE, short_name, stock_sentence
from sajang.knowledge.normalize import particle_after
from sajang.knowledge.text import topic_nouns

# «순살갈비탕 얼마에요», «간장게장 가격이 어떻게 돼요», "how much is the galbitang": the product's price
PRICE_ASKED = re.compile(r"가격|얼마(?:에요|예요|이에요|인가요|인지|죠|야|임|에여|예여|\s*해요|\s*하나요|\s*[?？]|\s*$)"
                         r"|\bprice\b|how\s+much\s+(?:is|are|does)", re.IGNORECASE)
# anything else asked of money or of an order (a fee, a refund, a coupon, a discount): the manual's rules
OTHER_TOPIC = re.compile(r"배송|택배|반품|교환|환불|취소|쿠폰|적립|할인|포장|주문\s*(?:했|한|하신)|시킨|시켰|결제\s*(?:했|한)|"
                         r"수수료|등급|회원|부가세|영수증|카드|"
                         # a price compared, bargained over or complained of, not looked up
                         r"싸게|싸던|비싸|맞춰|깎|올랐|올렸|오른|내렸|인상|인하|원가|왜|왤케|"
                         r"\b(?:shipping|delivery|refund|return|exchange|cancel|coupon|discount|points)\b", re.IGNORECASE)
# words of a product name that name no one product («밀키트», «선물세트»), and the measures in brackets
GENERIC_NAME_WORDS = frozenset({"밀키트", "세트", "선물세트", "국산", "전통", "무농약", "친환경", "손질", "매콤"})
MAX_PRODUCTS = 3  # «만두 재고 있어요?»: each product of that name, up to three
# the words of a stock or price question itself («재고», «품절», «가격»), no other thing asked of the product
FACT_WORDS = frozenset({"재고", "품절", "입고", "재입고", "가격", "판매", "구매", "주문", "수량", "상품", "제품", "물건",
                        "언제", "다시", "지금", "현재", "혹시"})


# «장바구니에 넣어 두면 재고 잡아 줘요?»: a word said as the place something is put is no product asked about
_PLACE_AFTER = re.compile(r"\s*(?:에|에서|에다|에다가|으로|로|한테)(?![가-힣])")


def products_named(text: str, catalogue: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The catalogue's products the message names: its whole short name («간장게장»), else those of the most words
    of their names, one of them naming a product by itself (not «밀키트»), a word said whole or as its end («만두» of
    «왕만두»; two syllables or more)."""
    squeezed = "".join(text.split())
    whole = [p for p in catalogue if "".join(short_name(str(p["name"])).split()) in squeezed]
    if whole:
        return whole[:MAX_PRODUCTS]
    nouns = [n for n in topic_nouns(text) if len(n) >= 2
             and not any(_PLACE_AFTER.match(text, m.end()) for m in re.finditer(re.escape(n), text))]
    as_products = "".join(nouns)  # (the words said as a product, not as a place)

    def said(word: str) -> bool:
        return word in as_products or any(word.endswith(n) for n in nouns)

    scored = []
    for product in catalogue:
        words = re.findall(r"[가-힣A-Za-z]{2,}", short_name(str(product["name"])))
        if any(said(w) for w in words if w not in GENERIC_NAME_WORDS):
            # («김치 얼마에요»: 포기김치, 총각김치 — the thing named, not 김치 손만두, a dumpling)
            scored.append(((sum(said(w) for w in words), said(words[-1])), product))
    best = max((n for n, _p in scored), default=(0, False))
    named = [p for n, p in scored if n == best]
    return named if len(named) <= MAX_PRODUCTS else []


def price_sentence(product: Mapping[str, Any], locale: str) -> str | None:
    price = product.get("price")
    if price is None:
        return None
    name = short_name(str(product["name"]))
    if locale == "en":
        return f"{name} is {int(price):,} won."
    return f"{name}{particle_after(name, '은')} {int(price):,}원입니다."


# «보통 다시 들어오는데 얼마나 걸려요»: how it usually goes, the manual's restock cycle — not today's table
USUALLY = re.compile(r"보통|평소|대개|대체로|일반적으로|\busually\b|\btypically\b|\bnormally\b", re.IGNORECASE)


def product_facts_asked(text: str, category: str) -> tuple[bool, bool]:
    """(stock asked, price asked) of a question that asks nothing else (no fee, return, coupon …) and asks of
    today, not of how it usually goes."""
    if OTHER_TOPIC.search(text) or USUALLY.search(text):
        return False, False
    return bool(ASKS["stock"].search(text)) or category == "stock", bool(PRICE_ASKED.search(text))


def product_reply(text: str, catalogue: Sequence[Mapping[str, Any]], *, category: str, locale: str,
                  policy: StorePolicy, today: date) -> dict[str, Any] | None:
    """{answer, confidence, sources, answer_kind} for a question about the stock or the price of products the
    message names, or None (no product named, nothing of the kind asked, or another topic asked besides)."""
    stock, price = product_facts_asked(text, category)
    if not (stock or price):
        return None
    products = products_named(text, catalogue)
    if not products:
        return None
    # «갈비탕 한 팩 칼로리 얼마에요?»: another thing of the product asked (its calories, its weight): not the table's
    names = " ".join(str(p["name"]) for p in products)
    name_words = re.findall(r"[가-힣]{2,}", names)
    squeezed_names = "".join(names.split())
    if any(n not in FACT_WORDS and n not in squeezed_names and not any(n.endswith(w) for w in name_words)
           for n in topic_nouns(text)):
        return None
    lines = [line for p in products
             for line in ([stock_sentence(p, locale, today)] if stock else []) + ([price_sentence(p, locale)] if price else [])
             if line]
    if not lines:
        return None
    greet = T["greet"].get(locale, T["greet"]["ko"]).format(shop=policy.shop_name)
    closing = T["closing"].get(locale, T["closing"]["ko"])
    return {"answer": "\n\n".join([greet, " ".join(lines), closing]), "confidence": FACT_CONFIDENCE,
            "sources": [{"id": f"product:{p['id']}", "title": str(p["name"]), "kind": "product"} for p in products],
            "answer_kind": "product"}
