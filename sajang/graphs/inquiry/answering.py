"""How the inquiry graph composes answers.

Offline (no chat model):
1. a learned answer that matches the question wins (agents' corrections are the freshest truth);
2. a question about the customer's own order is answered from that order (status, courier, tracking,
   dates, open claims), plus the relevant manual sentences for cancel/return/exchange policy;
3. otherwise the best manual article: its sentences most relevant to the question, in a polite Korean
   (or English) template, with the article as source.
The confidence decides the gate: below `settings.answer_confidence_threshold` a person takes over.

With a chat model: `llm_answer.py`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from sajang.config import Settings, StorePolicy
from sajang.graphs.inquiry.order_answers import is_order_question, order_sentence, order_source, pick_order
from sajang.graphs.inquiry.prompts import T
from sajang.knowledge.text import HANGUL, split_sentences, tokenize, without_greeting

LATIN = re.compile(r"[A-Za-z]{2,}")
ACTION_REQUEST = re.compile(
    r"(취소|환불|반품|교환|해지)\s*(해|처리해|진행해|접수해)\s*(주|줘|주세요|주실)|(취소|환불|반품|교환)\s*(원합|하고\s*싶|할래|요청)"
    r"|\bplease\s+(cancel|refund)\b|\b(cancel|refund|return|exchange)\s+(my|the|this)\b"
    r"|\bi\s+(want|would like|need)\s+to\s+(cancel|return|exchange|get\s+a\s+refund)",
    re.IGNORECASE)
AGREEMENT_EXCLUDED = {"other", "human"}
AGREEMENT_MARGIN = 0.1
LEARNED_MATCH = 0.90  # cosine (e5 query vs the learned question) above which a learned answer wins


def detect_locale(text: str, fallback: str = "ko") -> str:
    if HANGUL.search(text):
        return "ko"
    if LATIN.search(text):
        return "en"
    return fallback if fallback in ("ko", "en") else "ko"


def _t(key: str, locale: str, **kw: Any) -> str:
    return T[key].get(locale, T[key]["ko"]).format(**kw)


# --- manual answers ------------------------------------------------------------------------------

@lru_cache(maxsize=50_000)
def _tokens(text: str) -> frozenset[str]:
    """Content morphemes (cached: manual sentences repeat across questions; articles change rarely)."""
    return frozenset(tokenize(text))


@dataclass(frozen=True)
class _Unit:
    """One answerable piece of an article: a sentence, a list item or a table row (as a sentence)."""

    text: str
    section: int
    heading: str
    table: int | None = None  # rows of one table share an id
    key: str = ""  # a table row's first cell ("신용카드"): what the row is about


_MD_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
# What kind of fact the question asks for, and how such a fact looks in the manual.
_ASKS = {
    "duration": (re.compile(r"며칠|몇\s*일|언제|얼마나\s*(걸|걸려|가|기다)|기간|소요|how\s+long|\bwhen\b|\bdays?\b",
                            re.IGNORECASE),
                 re.compile(r"\d+\s*(?:~\s*\d+\s*)?(?:영업일|일|시간|주|개월|분)|즉시|당일|다음\s*날|바로")),
    "money": (re.compile(r"얼마|비용|요금|가격|배송비|수수료|how\s+much|\bfee|\bcost|\bprice|free\s+shipping",
                         re.IGNORECASE),
              re.compile(r"[\d,]+\s*원|무료")),
    "clock": (re.compile(r"몇\s*시|운영\s*시간|영업\s*시간|\bhours\b|what\s+time", re.IGNORECASE),
              re.compile(r"\d{1,2}:\d{2}|오[전후]\s*\d+\s*시")),
    "amount": (re.compile(r"몇\s*(?:자|장|개|번|퍼센트|%|명)|최대|최소|한도|percent|how\s+many", re.IGNORECASE),
               re.compile(r"\d")),
}
TYPE_BONUS = 0.4
PASSAGE_BONUS = 0.35
HEADING_WEIGHT = 0.5
MAX_TABLE_ROWS = 8
LEAD_BONUS = 0.1
FAQ_MISMATCH = 0.4
_FAQ_ITEM = re.compile(r"^(.{4,80}?(?:요|까|나|죠|\?))\s*[:：]\s")
SECOND_SECTION = 0.8  # share of the best unit's score another section needs to be quoted too


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


@lru_cache(maxsize=2_000)
def article_units(body: str) -> tuple[_Unit, ...]:
    """The article as answerable units, section by section. A Markdown table becomes one sentence per
    row that names its columns ("신용카드 — 환불 완료까지 카드사 승인 취소 3~5영업일"), so a fact that
    lives in a table can be quoted like any sentence."""
    units: list[_Unit] = []
    section, heading, table_id, header = 0, "", 0, None
    prose: list[str] = []

    def flush() -> None:
        for sent in split_sentences("\n".join(prose)):
            if len(sent) > 8:
                units.append(_Unit(sent, section, heading))
        prose.clear()

    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            if _MD_TABLE_RULE.match(stripped.strip("|").strip()) or set(stripped) <= set("|-: "):
                continue  # the |---|---| rule under the header
            cells = _cells(stripped)
            if header is None:
                flush()
                header, table_id = cells, table_id + 1
                continue
            described = ", ".join(f"{h} {c}" if h else c for h, c in zip(header[1:], cells[1:], strict=False) if c)
            units.append(_Unit(f"{cells[0]} — {described}" if described else cells[0], section, heading,
                               table_id, cells[0]))
            continue
        header = None
        if stripped.startswith("#"):
            flush()
            section, heading = section + 1, stripped.lstrip("#").strip()
            continue
        if _LIST_MARK.match(line):  # a list item is one unit, even with two sentences ("…나요: 아니요. …")
            flush()
            item = _LIST_MARK.sub("", line).strip()
            if len(item) > 8:
                units.append(_Unit(item, section, heading))
        elif stripped:
            prose.append(line)
    flush()
    return tuple(units)


@lru_cache(maxsize=2_000)
def _unit_frequencies(body: str) -> dict[str, int]:
    """In how many units of the article each word occurs (its own text or its section heading)."""
    counts: dict[str, int] = {}
    for u in article_units(body):
        for t in _tokens(u.text) | (_tokens(u.heading) if u.heading else frozenset()):
            counts[t] = counts.get(t, 0) + 1
    return counts


def _asked_types(question: str) -> list[str]:
    return [kind for kind, (asks, _) in _ASKS.items() if asks.search(question)]


def relevant_sentences(question: str, hit: dict[str, Any], limit: int = 3) -> list[str]:
    """The units of the article that answer the question, in the article's order.

    Each unit scores by the question's content words it shares (its section heading counts half), a
    bonus when it states the kind of fact asked for (a duration for "며칠", an amount in 원 for "얼마"…)
    and a bonus when it is in the passage the retriever chose (the only signal for an English question
    about the Korean manual); a FAQ item loses for the words of its own question that the customer did
    not use, a unit of the article's first section gains a little. The answer is the best unit with the
    next best ones *of the same section* (when the best one is a table row: the rows the question names,
    or the whole table), and likewise a second section whose best unit scores nearly as well."""
    body = hit.get("body") or hit.get("text") or ""
    units = article_units(body)
    if not units:
        return [hit.get("text") or ""] if hit.get("text") else []
    q = _tokens(question)
    kinds = _asked_types(question)
    passage = hit.get("text") or ""
    # a word every unit of the article repeats ("적립금" in the points article) tells units apart less
    # than a rare one: weight the question's words by their inverse frequency among the units
    df = _unit_frequencies(body)
    weight = {t: math.log(1 + len(units) / (1 + df.get(t, 0))) for t in q}
    total = sum(weight.values()) or 1.0

    first_section = min(u.section for u in units)

    def score(u: _Unit) -> float:
        own = _tokens(u.text)
        head = _tokens(u.heading) - own if u.heading else frozenset()
        value = (sum(weight[t] for t in q & own) + HEADING_WEIGHT * sum(weight[t] for t in q & head)) / total
        if any(_ASKS[k][1].search(u.text) for k in kinds):
            value += TYPE_BONUS
        if u.text in passage or (u.key and u.key in passage):
            value += PASSAGE_BONUS
        faq = _FAQ_ITEM.match(u.text)
        if faq:  # "선물 포장을 하면 배송이 늦어지나요: 아니요 …" answers its own, narrower question
            asked = _tokens(faq.group(1))
            value -= FAQ_MISMATCH * len(asked - q) / (len(asked) or 1)
        elif u.section == first_section:
            value += LEAD_BONUS  # an article opens with its general rule
        return value

    scored = sorted(((score(u), i) for i, u in enumerate(units)), key=lambda x: (-x[0], x[1]))
    top = scored[0][0]
    chosen: list[int] = []
    sections_used: list[int] = []
    # the best section, and a second one when it answers about as well ("when does the refund start"
    # and "how long per payment method" both answer "환불은 며칠 걸려요?")
    for sc, i in scored:
        sec = units[i].section
        if sec in sections_used or len(sections_used) == 2 or sc < SECOND_SECTION * top or sc <= 0:
            continue
        sections_used.append(sec)
        u = units[i]
        if u.table is not None:
            rows = [j for j, v in enumerate(units) if v.table == u.table]
            named = [j for j in rows if _tokens(units[j].key) & q]
            chosen += named or rows[:MAX_TABLE_ROWS]
        else:
            chosen += [j for s2, j in scored if units[j].section == sec and s2 > 0][:limit]
    if not chosen:
        chosen = [scored[0][1]]
    return [units[i].text for i in sorted(set(chosen))]


def manual_answer(question: str, hit: dict[str, Any], locale: str, policy: StorePolicy) -> str:
    body = " ".join(relevant_sentences(question, hit))
    return "\n\n".join([
        f"{_t('greet', locale, shop=policy.shop_name)} {_t('manual_intro', locale)}", body,
        f"{_t('manual_ref', locale, title=hit['title'])} {_t('closing', locale)}"])


def source_of(hit: dict[str, Any]) -> dict[str, Any]:
    return {"id": hit["id"], "title": hit["title"], "score": round(float(hit.get("score") or 0.0), 4),
            "kind": hit["kind"]}


def learned_similarity(settings: Settings, question: str, candidates: list[str]) -> list[float]:
    """Cosine of the question with each learned question (e5 query vectors; LRU-cached)."""
    from sajang.knowledge.embeddings import get_embeddings

    if not candidates:
        return []
    emb = get_embeddings(settings)
    q = emb.embed([without_greeting(question)], "query", persist=False)[0]  # the vector classify made
    vecs = emb.embed(candidates, "query", persist=False)
    return [float(x) for x in np.asarray(vecs) @ q]


def offline_answer(settings: Settings, policy: StorePolicy, *, text: str, locale: str, category: str,
                   customer_id: str | None, orders: list[dict[str, Any]], hits: list[dict[str, Any]],
                   retrieval_confidence: float, unknown_terms: list[str] | None = None) -> dict[str, Any]:
    """{answer, confidence, sources, answer_kind} without a chat model."""
    learned = [h for h in hits if h.get("kind") == "learned"]
    if learned:
        sims = learned_similarity(settings, text, [h["title"] for h in learned])
        best = int(np.argmax(sims))
        top_is_learned = hits[0].get("kind") == "learned" and retrieval_confidence >= \
            settings.answer_confidence_threshold
        if sims[best] >= LEARNED_MATCH or (top_is_learned and sims[best] >= LEARNED_MATCH - 0.04):
            hit = learned[best]
            return {"answer": hit["body"], "confidence": round(max(retrieval_confidence, sims[best]), 4),
                    "sources": [source_of(hit)], "answer_kind": "learned"}
    manual = [h for h in hits if h.get("kind") == "manual"]
    if customer_id and orders and is_order_question(text, category):
        order, foreign = pick_order(text, orders)
        if foreign is not None:
            return {"answer": _t("order_not_found", locale, order_id=foreign), "confidence": 0.6,
                    "sources": [], "answer_kind": "order"}
        if order is not None:
            parts = [_t("greet", locale, shop=policy.shop_name), order_sentence(order, locale, policy)]
            sources = [order_source(order, locale)]
            if category != "delivery" and manual and retrieval_confidence >= settings.answer_confidence_threshold:
                parts.append(" ".join(relevant_sentences(text, manual[0], limit=2)))
                sources.append(source_of(manual[0]))
            parts.append(_t("closing", locale))
            return {"answer": "\n\n".join(p for p in parts if p), "confidence": 0.9, "sources": sources,
                    "answer_kind": "order"}
    if manual:
        return {"answer": manual_answer(text, manual[0], locale, policy),
                "confidence": round(answer_confidence(settings, retrieval_confidence, category, hits, manual[0],
                                                      unknown_terms), 4),
                "sources": [source_of(manual[0])], "answer_kind": "manual"}
    return {"answer": "", "confidence": 0.0, "sources": [], "answer_kind": "none"}


def answer_confidence(settings: Settings, retrieval_confidence: float, category: str,
                      hits: list[dict[str, Any]], hit: dict[str, Any], unknown_terms: list[str] | None = None,
                      ) -> float:
    """Confidence of a manual answer. The retriever's calibrated confidence, raised when an independent
    signal agrees: the classifier (our labelled examples) put the message in the same category as the
    top article's front matter. Chit-chat and requests for a person never get the boost, nor a question
    that names something no document of the shop mentions ("김치 맵기 조절", "새벽 배송"): the category
    then only says the article is on the same topic, not that it answers."""
    if (hits and hits[0] is hit and category not in AGREEMENT_EXCLUDED and hit.get("category") == category
            and not unknown_terms):
        floor = settings.answer_confidence_threshold + AGREEMENT_MARGIN
        return max(retrieval_confidence, min(0.95, floor + 0.4 * retrieval_confidence))
    return retrieval_confidence


def needs_action(text: str) -> bool:
    """The customer asks us to *do* something only a person can (cancel, refund, return, exchange)."""
    return bool(ACTION_REQUEST.search(text))
