"""Nodes of the inquiry graph up to the bot's answer: who asks, what about, what the manual and the
customer's orders say, and whether a person must take over (the handoff nodes are in `handoff.py`).

Each node reads the state keys its docstring names and returns only the keys it writes.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.runtime import Runtime

# absolute imports: LangGraph Server loads the graph file by path, outside the package
from sajang.config import Settings, StorePolicy
from sajang.db.engine import autocommit_connection
from sajang.db.queries import shop_setting_in
from sajang.db.types import utcnow
from sajang.graphs.inquiry import conversations as conv
from sajang.graphs.inquiry.answering import (
    AGREEMENT_MIN_RETRIEVAL,
    SWAP_RULE,
    article_units,
    asked_after_story,
    asks_something,
    case_heading,
    detect_locale,
    impostor_asked,
    late_dispatch_rule,
    learned_in_scope,
    manual_hits,
    needs_action,
    offline_answer,
    product_swap,
    same_article,
    secrets_named,
    speaks_of_none,
    story_words_unknown,
    told_then_asked,
    unit_says,
    visible_units,
    warning_article,
    without_products,
)
from sajang.graphs.inquiry.classifier import (
    HUMAN_REQUEST,
    WRONG_ITEM_REPORT,
    classify_text,
    incident_evidence,
    rule_urgency,
)
from sajang.graphs.inquiry.context import InquiryContext, asking_customer, thread_of
from sajang.graphs.inquiry.fee_math import sum_with_previous
from sajang.graphs.inquiry.intents import KST, WHEN_OR_WHERE, OwnDataQuery, elliptic_fragment, tells_detail
from sajang.graphs.inquiry.llm_answer import answer_with_model
from sajang.graphs.inquiry.order_answers import (
    CONTINUATION,
    WRONG_ITEM_QUERY,
    Reading,
    load_own_data,
    manual_memory,
    names_theirs,
    own_data_turn,
    purchase_told,
    read_in_context,
    with_previous_question,
)
from sajang.graphs.inquiry.product_answers import product_facts_asked, product_reply
from sajang.graphs.inquiry.smalltalk import is_remark, remark_reply, smalltalk_reply
from sajang.graphs.inquiry.state import InquiryState
from sajang.knowledge.ingest import audience_overrides_in
from sajang.knowledge.normalize import normalize_for_shop
from sajang.knowledge.service import Hit, SearchResult, get_knowledge, read_chat
from sajang.knowledge.text import HANGUL, morphemes, tokenize, topic_nouns
from sajang.tools.orders import catalogue_in


def policy_of(state: InquiryState, settings: Settings) -> StorePolicy:
    """The store policy as `load_context` read it for this message."""
    return settings.store.overridden(state.get("policy_overrides"))


def load_context(state: InquiryState, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Who is asking, what the message asks in this conversation, and the orders it is about.

    Reads: `text`, `locale`, `memory` (the previous answered turn), `pending_question`, `verification`;
    the verified customer from the run context (`asking_customer`: never the message text).
    Writes: `customer_id`, `customer`, `orders` (the 5 most recent, or those the question names, with items,
    tracking, claims), `coupons`, `locale` (the language the customer wrote in), `policy_overrides` (the
    admin's saved store policy), `photo_notes` (reset: `read_photos` fills it), `audience_overrides` (articles the admin made agents-only or customer-facing), `question` / `question_base` / `own_query` / `followup` (the message read
    with the previous turn: "제주도는요?" after a delivery-fee question), `verify_result`; clears
    `verification`; resets the per-message fields, appends the customer turn.
    """
    config = get_config()
    settings = runtime.context.settings
    customer_id = asking_customer(config, runtime)
    text = (state.get("text") or "").strip()
    locale = detect_locale(text, state.get("locale") or settings.locale)
    verification = state.get("verification")
    reading = read_in_context(text, state.get("memory"), state.get("pending_question"), verification, utcnow())
    # one autocommit read for everything: on PostgreSQL every transaction is round trips
    with autocommit_connection(runtime.context.engine) as conn:
        saved = shop_setting_in(conn, "store_policy")
        audience = audience_overrides_in(conn)  # the admin's switch: articles customers must not see
        customer, orders, coupons, own_query = load_own_data(
            conn, customer_id, reading.query, locale, list((state.get("memory") or {}).get("order_ids") or []),
            question=reading.question)
    return {
        "customer_id": customer_id, "customer": customer, "orders": orders, "coupons": coupons, "locale": locale,
        "policy_overrides": saved or {}, "audience_overrides": audience,
        "question": reading.question, "question_base": reading.base, "own_query": own_query.as_dict(),
        "followup": reading.followup, "verification": None, "verify_result": verification, "order_action": None,
        "answer": "", "confidence": 0.0, "sources": [], "hits": [], "retrieval_confidence": 0.0, "unknown_terms": [],
        "photo_notes": "",
        "needs_human": False, "answer_kind": "none",
        "handoff": None, "handoff_reason": None, "resolved": False, "waiting": False,
        "history": [{"role": "customer", "text": text, "message_id": state.get("message_id")}],
    }


def classify(state: InquiryState, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Chat normalisation, then category, urgency and explicit request for a person.

    Reads: `question` (else `text`), `text` and `followup` (a follow-up's incident is what was typed). Writes:
    `normalized_text` (what classify and retrieve read; `text` stays what was typed),
    `mood`, `category`, `urgency`, `wants_human`, `classification` (method, scores, incident evidence).
    """
    config = get_config()
    settings = runtime.context.settings
    text = state.get("question") or state.get("text") or ""  # a follow-up spelled out by load_context
    normalized = read_chat(settings, text)
    # a chat model reads chat Korean as typed (emoticons included); the embedding classifier reads it normalised
    result = classify_text(settings, text if settings.llm_enabled else normalized.text, config)
    typed = state.get("text") or ""
    if result.method == "embedding" and typed and text != typed and state.get("followup") in ("manual", "order"):
        # «불량은요?» after a return-fee answer, read as «불량 반품비 얼마예요?»: the words borrowed from the turn
        # before report nothing; an incident is what the customer typed in this turn (a question held until the
        # guest verified is theirs, and keeps its incident)
        said = normalize_for_shop(typed, settings.data_dir, settings.chat_lexicon).text
        result = replace(result, urgency=rule_urgency(said, result.category), evidence=incident_evidence(said))
    return {"normalized_text": normalized.text, "mood": normalized.mood, "category": result.category,
            "urgency": result.urgency, "wants_human": result.wants_human, "classification": result.as_dict()}


def route_after_classify(state: InquiryState) -> Literal["retrieve", "escalate"]:
    """A message that only asks for a person goes straight to a person; everything else is looked up
    (also when a person is requested together with a question: the agent then gets an AI draft)."""
    if state.get("wants_human") and state.get("category") == "human":
        return "escalate"
    return "retrieve"


def retrieve(state: InquiryState, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Manual passages and learned answers for the message (hybrid search of the knowledge base).

    Reads: `normalized_text` (else `text`), `category`, `followup`, `question`, `question_base`, `locale`,
    `memory` (the previous answered turn). Writes: `hits` (id, title, score, kind, text, body),
    `retrieval_confidence`, `unknown_terms`; for an elliptic follow-up that names another topic ("쿠폰은요?"
    after a points answer), `question` and `normalized_text` asked of it, and for one whose fragment the article
    found speaks of («냉동은?» after a kimchi storage answer), `normalized_text` (the fragment asked the previous
    question's way: what picks the units quoted); for a short line the manual cannot
    place alone that the previous answer's article answers when read with the previous question («VIP는얼마?»
    after a membership-tier answer), that article's hits, `question_base` (the previous question, what the
    next follow-up is read against) and `followup` ("manual"); for a question told after a story in a «-는데»
    clause whose words found an article saying nothing of what is asked, the hits of the question alone; for a
    follow-up that one sentence of the previous answer's article says («주말도 포함이에요?» after the refund days),
    that article first and `normalized_text` the line alone; for one product asked for another («냄비말고 찜기로
    바꿔줄수있음?»), the hits of the exchange asked and `normalized_text` said that way («다른 상품으로 교환 …»); for an
    order late for its date, the article with that rule first; for someone posing as the shop, the article warning of
    it first.
    """
    settings = runtime.context.settings
    query = state.get("normalized_text") or state.get("text") or ""
    if state.get("wants_human"):
        # "상담원 연결해 주세요, 포장이 터졌어요": search for the problem, not for how to reach a person
        rest = HUMAN_REQUEST.sub(" ", query).strip()
        if len(rest) >= 6:
            query = rest
    wrong_item = WRONG_ITEM_REPORT.search(query)
    if wrong_item:
        # «부대찌개 시켰는데 된장찌개가 왔어요»: the products named are not the topic (their cooking article would
        # be found); that another product came is. The report is searched in those words, the rest as typed
        query = f"{query[:wrong_item.start()]}{WRONG_ITEM_QUERY} {query[wrong_item.end():]}".strip()
    knowledge = get_knowledge(settings)
    swapped_product = product_swap(query, knowledge.product_words(), knowledge.product_kinds()) \
        if HANGUL.search(query) else None
    if swapped_product is not None:
        # «냄비말고 찜기로 바꿔줄수있음?»: an exchange for another product, searched and read as that
        query = swapped_product
    # the articles in the customer's language (an English question against the English versions), all of
    # them when the manual has none in that language
    language = state.get("locale")
    hits, result = manual_hits(settings, query, language, state.get("category"))
    story, swap_asked = told_then_asked(query) if swapped_product is not None else ("", "")
    if story:
        # «…원목 도마랑 무쇠 냄비를 주문했어요. … 냄비를 찜기로 바꿔 받을 수 있을까요?»: the products of the story
        # pull toward their care; the exchange asked is the question
        alone_hits, alone = manual_hits(settings, swap_asked, language, state.get("category"))
        if alone_hits and alone_hits[0].get("kind", "manual") == "manual" \
                and SWAP_RULE in str(alone_hits[0].get("body") or ""):
            # (the article found says what is done for another product: the customer's words for it vouch)
            hits, result = alone_hits, replace(alone, confidence=max(alone.confidence, vouched_confidence(settings)))
    late = late_dispatch_rule(query, hits)
    if late is not None and late is not hits[0]:
        # «출고예정일 지났는데 취소하면 수수료 있어요?»: the rule for an order not sent by its date, however the general
        # cancelling article ranked (its words vouch for the article)
        hits = [late, *(h for h in hits if h is not late)]
        result = replace(result, confidence=max(result.confidence, vouched_confidence(settings)))
    out: dict[str, Any] = {}
    memory = state.get("memory") or {}
    sum_asked = sum_with_previous(state.get("text") or "", memory.get("base")) \
        if memory.get("kind") == "manual" else None
    said_before = said_in_previous_article(settings, state, result.hits) \
        if state.get("followup") == "manual" and sum_asked is None else None
    if sum_asked is not None:
        # «지금 장바구니 47,000원인데요» after «몇만원 이상 사면 무료에요?»: the previous question with this amount
        normalized = normalize_for_shop(sum_asked, settings.data_dir, settings.chat_lexicon).text
        found = manual_hits(settings, normalized, language, state.get("category"))[1]
        # (the article that answered the question before states the rule the sum follows)
        answered_before = [h for h in found.hits if h.id == memory.get("article_id")]
        result = replace(found, hits=[*answered_before, *(h for h in found.hits if h not in answered_before)],
                         confidence=max(found.confidence, vouched_confidence(settings)))
        hits = learned_in_scope(normalized, [h.as_dict() for h in result.hits])
        out = {"question": sum_asked, "normalized_text": normalized}
    elif said_before is not None:
        # «주말도 포함이에요?» after «카드 환불 며칠 걸려요»: one sentence of the article just quoted says the line
        # («주말과 공휴일은 기간에 포함되지 않습니다»); it asks that of the same topic, not the period again
        line, quoted = said_before
        result = replace(result, hits=[quoted, *(h for h in result.hits if h is not quoted)],
                         confidence=max(result.confidence, vouched_confidence(settings)))
        hits = learned_in_scope(line, [h.as_dict() for h in result.hits])
        out = {"normalized_text": line}
    # («갈비탕인데요» after «반품하고 싶어요» tells what the previous question was about: no topic of its own to swap in)
    elif state.get("followup") == "manual" and result.hits and not tells_detail(state.get("text") or ""):
        # "쿠폰은요?" after "적립금 어떻게 쌓여요": another topic asked the same way, not coupons within points
        base = state.get("question_base") or ""
        spaced_base = normalize_for_shop(base, settings.data_dir, settings.chat_lexicon).text if base else ""
        fragment, swapped, replaced = topic_swap(state.get("question") or "", base, spaced_base,
                                                 knowledge.product_words())
        normalized = normalize_for_shop(swapped, settings.data_dir, settings.chat_lexicon).text if swapped else ""
        # the fragment in the manual's words («네페» → 네이버페이): what titles and table rows are matched with
        fragment = normalize_for_shop(fragment, settings.data_dir, settings.chat_lexicon).text if fragment else ""
        replaced = normalize_for_shop(replaced, settings.data_dir, settings.chat_lexicon).text if replaced else ""
        previous_id = str((state.get("memory") or {}).get("article_id") or "")
        # the conversation vouches for the topic of a short line (see below): just above the answer gate
        floor = vouched_confidence(settings)
        # «오배송은요?» after «반품배송비 얼마에요»: the article that answered has a section for that case
        # («불량·파손·오배송»): the same question asked of it there, not the wrong-item article's procedure
        previous = next((h for h in result.hits if h.id == previous_id), None)
        asked_alone = None  # the swapped question's own search, once made
        if swapped and previous is not None and HANGUL.search(fragment) and (
                heads_a_section(fragment, previous.body) or names_an_item(fragment, previous.body)
                or detail_of_the_article(fragment, replaced, previous)):
            result = replace(result, hits=[previous, *(h for h in result.hits if h is not previous)],
                             confidence=max(result.confidence, floor))
            hits = learned_in_scope(normalized, [h.as_dict() for h in result.hits])
            out = {"normalized_text": normalized, "question": swapped}
        elif swapped and not has_words_of(fragment, result.hits[0].title):
            other = asked_alone = get_knowledge(settings).search(normalized, k=5, language=language)
            # the article found for the swapped question names the fragment in its title, or has it as a row
            # beside the replaced word's («무통장은여?» after a card-refund question: the refund table's rows);
            # or the previous answer's article has, though another one ranks first («vip는?» after «골드 되려면
            # 얼마 사야돼요?»: the coupons article names VIP more often than the tier table does)
            # («고기왕만두는요?» after a kimchi allergen question: the mandu article speaks of 고기 왕만두, the
            # allergen rules never do)
            # (a day or a place stays with the rule that covers it: «토요일은요?» after the CS hours)
            first_silent = HANGUL.search(fragment) is not None and not WHEN_OR_WHERE.search(fragment) \
                and not speaks_of(fragment, f"{result.hits[0].title} {result.hits[0].body}")
            adopted = next((h for i, h in enumerate(other.hits)
                            if (i == 0 and (has_words_of(fragment, h.title)
                                            or (first_silent and speaks_of(fragment, f"{h.title} {h.body}"))))
                            or ((i == 0 or h.id == previous_id) and sibling_rows(fragment, replaced, h.body))), None)
            if adopted is None and HANGUL.search(fragment) and not (previous is not None and fragment in previous.body):
                # «만두는여?» after the galbitang storage answer: the swapped question found another article
                # first (what spoils), the one titled with the fragment just below it (not «반품은여?» after the
                # refund timing, whose article has a row for returns)
                adopted = next((h for h in other.hits[1:TITLED_FRAGMENT_RANKS]
                                if h.kind == "manual" and len(fragment) >= 2 and fragment in h.title), None)
            if adopted is not None:
                other = replace(other, hits=[adopted, *(h for h in other.hits if h is not adopted)])
                result, out = other, {"normalized_text": normalized, "question": swapped}
                if any(replaced in group for group in SIBLING_WORDS):
                    # a sibling of the word just answered, found under its own name: the conversation vouches for
                    # the topic where the question alone is short («VIP 등급 기준이 얼마에요?» near the coupons)
                    result = replace(other, confidence=max(other.confidence, floor))
                hits = learned_in_scope(normalized, [h.as_dict() for h in other.hits])
        if swapped and not out and hits and has_words_of(fragment, hits[0].get("body") or ""):
            # «냉동은?» after «포기김치 어떻게 보관해요?»: the article found with the whole question says something
            # of the fragment itself (freezing kimchi); that, not the storage answer given before, is quoted
            out = {"normalized_text": normalized}
            # (its passages were found for the line with the previous question's words, «냉동 참기름은 안 뜯었으면»:
            # the units are chosen by the passages the question asked of the fragment finds)
            asked_alone = asked_alone or get_knowledge(settings).search(normalized, k=5, language=language)
            passages = {h.id: h.text for h in asked_alone.hits}
            hits = [{**h, "text": passages.get(str(h.get("id")), "")} if h.get("kind", "manual") == "manual" else h
                    for h in hits]
        top = hits[0] if hits else {}
        top_text = f"{top.get('title') or ''} {top.get('body') or ''}"
        # (the checks below read Korean fragments only: English ones come in plurals and clauses)
        if fragment and not result.unknown_terms and top.get("kind") == "manual" and (
                has_words_of(fragment, str(top.get("title") or ""))
                or (previous_id and same_article(str(top.get("id") or ""), previous_id)
                    and (bool(WHEN_OR_WHERE.search(fragment)) or speaks_of(fragment, top_text)))):
            # «교환은요?» after the return period: the article titled with the fragment, or the one that answered the
            # turn before («토욜은여?» after the CS hours: a day or a place the article's rule covers) when it speaks
            # of the fragment at all («해외는요?» after the delivery fee: the article says nothing of abroad)
            result = replace(result, confidence=max(result.confidence, floor))
        elif fragment and top.get("kind") == "manual" and HANGUL.search(fragment) and not WHEN_OR_WHERE.search(fragment) \
                and not re.search(r"\d", fragment) and not set(tokenize(fragment)) <= FIGURE_WORDS \
                and not set(tokenize(fragment)) & set(result.unknown_terms) \
                and elliptic_fragment(state.get("text") or "") is not None \
                and not speaks_of(fragment, top_text, every=False):
            # «해외는요?» after the delivery fee: the article found says nothing of what the line asks about, though
            # the manual speaks of it elsewhere (foreign cards): the words around it found the article, which cannot
            # answer it. (A word no document has, «프라이팬», «후기», may be the article's thing in other words; an
            # amount, «4만원은요?», is a case of its rule.)
            result = replace(result, confidence=min(result.confidence, UNSPOKEN_FRAGMENT_CONFIDENCE),
                             unknown_terms=[*result.unknown_terms, fragment])
    elif (state.get("followup") is None or (state.get("followup") == "policy"
                                            and (state.get("memory") or {}).get("kind") == "order")) \
            and (result.confidence < settings.answer_confidence_threshold or told_after_answer(state)):
        contextual = in_previous_topic(settings, state, language, result.unknown_terms,
                                       result.hits[0] if result.hits else None)
        # («카카오페이로 결제했어요» after «환불은 얼마나 걸려요?»: a line its own words place surely — the payment
        # methods — tells the case of the question just answered, when read with it the same article comes first)
        if contextual is not None and (result.confidence < settings.answer_confidence_threshold or (
                contextual[0].hits and contextual[0].hits[0].id == memory.get("article_id"))):
            result, out = contextual
            hits = learned_in_scope(query, [h.as_dict() for h in result.hits])
    told = story_words_unknown(query, result.unknown_terms) \
        if state.get("followup") is None and not out and result.confidence < settings.answer_confidence_threshold else None
    if told is not None and hits:
        # «이번에 캠핑 가는데 냉동 갈비탕 챙겨 가려구요 근데 전자레인지밖에 없으면 어떻게 데워요»: words of the story the
        # shop never uses made the search unsure; the question with what of the story the article is titled for
        # («갈비탕») finds the same article surely
        story, question = told
        title = str(hits[0].get("title") or "")
        named = [n for n in topic_nouns(story) if n in title and n not in question]
        alone_hits, alone = manual_hits(settings, " ".join([*named, question]), language, state.get("category"))
        if finds_surely(settings, hits, alone_hits, alone):
            hits, result = alone_hits, alone
    unsure = state.get("followup") is None and not out and result.confidence < settings.answer_confidence_threshold
    rule_asked = without_products(query, get_knowledge(settings).product_words()) if unsure and hits else None
    if rule_asked is not None and hits[0].get("kind") == "manual":
        # «갈비탕 배송비 얼마에요»: the product pulled the search toward its cooking article, though the rule asked is
        # the shop's for every product; asked without it, the same article is found surely (its passages stay
        # those the whole question found: «김치 교환 가능해요?» is answered by the rule for chilled food)
        alone_hits, alone = manual_hits(settings, rule_asked, language, state.get("category"))
        if finds_surely(settings, hits, alone_hits, alone):
            result = replace(result, confidence=alone.confidence)
    asked = asked_after_story(query) if state.get("followup") is None and not out else None
    if asked and hits and hits[0].get("kind") == "manual" and speaks_of_none(asked, hits[0]):
        # «친구가 만두 맛있다고 해서 시켜 보려는데 가입하면 뭐 있어요?»: the story's words found an article that says
        # nothing of what is asked; the question alone finds the one that does, more surely
        alone_hits, alone = manual_hits(settings, asked, language, state.get("category"))
        if alone.confidence >= settings.answer_confidence_threshold and alone.confidence > result.confidence \
                and alone_hits and alone_hits[0].get("id") != hits[0].get("id"):
            hits, result = alone_hits, alone
    if impostor_asked(query) and warning_article(hits[:1]) is None:
        # «식탁 직원이라고 하면서 비번 알려달래요»: the story (a text message, a parcel) found other articles first; the
        # article warning of those who ask for such things, found with them or searched by what they asked for
        warning = warning_article(hits[:3]) or warning_article(
            manual_hits(settings, secrets_named(query), language, state.get("category"))[0][:3])
        if warning is not None:
            hits = [dict(warning), *(h for h in hits if h.get("id") != warning.get("id"))]
    if swapped_product is not None and "normalized_text" not in out:
        out["normalized_text"] = query  # (the units are chosen for the exchange asked, «다른 상품으로»)
    return {**out, "hits": hits, "retrieval_confidence": float(result.confidence),
            "unknown_terms": result.unknown_terms}


def told_after_answer(state: InquiryState) -> bool:
    """The line tells, asks nothing, right after a manual answer («카카오페이로 결제했어요», «지금 3시 좀
    넘었는데»): the case of the question just answered, whatever its own words find."""
    text = (state.get("text") or "").strip()
    memory = state.get("memory") or {}
    return state.get("followup") is None and memory.get("kind") == "manual" and bool(memory.get("article_id")) \
        and 0 < len(text) <= CONTEXT_LINE_MAX and not asks_something(text)


def said_in_previous_article(settings: Settings, state: InquiryState, hits: list[Hit]) -> tuple[str, Hit] | None:
    """(the line in the manual's words, the previous answer's article) when one sentence of that article, found
    again for this follow-up, has every content word of the line alone (two suffice: the conversation chose the
    article, not the words)."""
    previous_id = str((state.get("memory") or {}).get("article_id") or "")
    previous = next((h for h in hits if h.id == previous_id), None)
    text = state.get("text") or ""
    # («사골곰탕은요?», «상담 채팅 내용은요?»: another thing asked the previous question's way — `topic_swap`; «그거
    # 최소금액 있음?»: a figure of the thing just answered, which a sentence naming «최소 금액» need not state)
    if previous is None or (elliptic_fragment(text) is not None and not tells_detail(text)) \
            or set(tokenize(text)) <= FIGURE_WORDS | EXTREMES:
        return None
    line = normalize_for_shop(text, settings.data_dir, settings.chat_lexicon).text
    units = list(visible_units({**previous.as_dict(), "text": ""}, overrides=state.get("audience_overrides")))
    return (line, previous) if unit_says(line, units, min_words=FOLLOWUP_UNIT_WORDS) else None


def vouched_confidence(settings: Settings) -> float:
    """The confidence of an answer the conversation vouches for (its topic, not the line's own words): just above
    the answer gate."""
    return settings.answer_confidence_threshold + SIBLING_MARGIN


def finds_surely(settings: Settings, hits: list[dict[str, Any]], alone_hits: list[dict[str, Any]],
                 alone: SearchResult) -> bool:
    """A search of part of the message (the question without its story, without its product) found the article the
    whole message found first, above the answer gate and with no word the shop does not know."""
    return alone.confidence >= settings.answer_confidence_threshold and not alone.unknown_terms \
        and bool(alone_hits) and bool(hits) and alone_hits[0].get("id") == hits[0].get("id")


# what a follow-up may ask of the same thing without naming a topic («온도랑 시간은요?»: 180℃, 12분)
FIGURE_WORDS = frozenset({"온도", "시간", "기간", "가격", "금액", "비용", "방법", "날짜", "요금", "조건", "기준", "순서", "절차",
                          "장소", "위치", "용량", "크기", "무게", "개수", "횟수", "몇", "얼마", "며칠", "언제", "어디", "차이",
                          "이유"})
EXTREMES = frozenset({"최소", "최대", "최저", "최고"})  # «최소 금액»: still a figure asked
FOLLOWUP_UNIT_WORDS = 2  # content words of a follow-up line one sentence of the article just quoted must say
TITLED_FRAGMENT_RANKS = 3  # how far down a follow-up's own search the article titled with its fragment may be
UNSPOKEN_FRAGMENT_CONFIDENCE = 0.3  # below the answer gate: a follow-up about a thing the article never names
SIBLING_MARGIN = 0.05  # above the gate: a sibling follow-up adopted in its own article is answered
CONTEXT_LINE_MAX = 30  # characters: a longer line states its own question
CONTEXT_MARGIN = 0.05  # how far below the best article the previous one may score and still keep the topic
QUESTION_WORDS = frozenset({"얼마", "몇", "언제", "어디", "뭐", "무엇", "어떻", "어떡", "왜", "누구"})
FIGURE_ASKED = re.compile(r"^\s*(?:그럼|그러면|혹시)?\s*(?:몇|얼마|며칠|최대|최소)")


def in_previous_topic(settings: Settings, state: InquiryState, language: str | None, unknown: list[str],
                      alone: Hit | None = None) -> tuple[SearchResult, dict[str, Any]] | None:
    """A short line the manual cannot place alone, read with the previous question, when that reading is
    confident and the article the previous answer came from answers it (first, or within `CONTEXT_MARGIN` of
    the first: the conversation's topic decides a near tie): «5만원 넘게 사면 무료죠?» after «배송비 얼마예요?»,
    «받는 사람 전화번호도요?» after «배송지 변경 언제까지 돼요?»; after an answer about their order, the article
    that reading finds first. Only a line whose own words the article has, and
    none the shop never uses (`unknown`): «주차 되나요?» after a membership answer stays a line of its own.
    (search result with that article first, state updates), or None."""
    memory = state.get("memory") or {}
    text = (state.get("text") or "").strip()
    base = str(memory.get("base") or "")
    article = memory.get("article_id")
    kind = memory.get("kind")
    if kind not in ("manual", "order") or not base or (kind == "manual" and not article) \
            or len(text) > CONTEXT_LINE_MAX \
            or (unknown and not (CONTINUATION.search(text) and only_manner_words(text, unknown))):
        # (a word the shop never uses places the line elsewhere — but «국물 자작하게 먹고싶으면요?» asks the case of
        # the question just answered in a way of its own: read with it, the article still has to come first; not
        # «강아지한테 먹이면요?», a thing the shop never speaks of)
        return None
    question = with_previous_question(text, base)
    normalized = normalize_for_shop(question, settings.data_dir, settings.chat_lexicon).text
    found = get_knowledge(settings).search(normalized, k=5, language=language)
    # after an answer about their order («교환 신청한 거 어떻게 돼요?» → the claim's state), the order's topic
    # places the line: «그럼 회수는 언제 와요?» is the exchange article's pickup rule, «언제 먹어야 젤 맛있어요?» after
    # «김치 오늘 받았어요» the kimchi article's
    previous = next((h for h in found.hits if h.id == article), None) if kind == "manual" else \
        (found.hits[0] if found.hits else None)
    if kind == "manual" and not asks_something(text) and found.confidence >= settings.answer_confidence_threshold \
            and found.hits and found.hits[0].id != article \
            and any(has_words_of(noun, found.hits[0].title) for noun in topic_nouns(base)):
        # «갈비탕이요 맛이 좀 별로라서» after «반품 되나요?»: no question of its own, a detail of the one before; read
        # with it, the article for that case of the same topic is found surely («신선식품 반품 제한»), and the two
        # together are the question its units answer
        return found, {"question_base": base, "followup": state.get("followup") or "manual",
                       "normalized_text": normalized}
    if kind == "manual" and not asks_something(text) and previous is not None \
            and found.hits[0].score - previous.score <= CONTEXT_MARGIN \
            and alone is not None and alone.id != article:
        # «냄비 사이즈 잘못 골랐어요 안썼어요» after «교환 되나요»: a detail of the question just answered, which its own
        # words place nowhere surely (the kitchenware care article); read with it, the same article is found first
        # (or within `CONTEXT_MARGIN` of the first: «지금 3시 좀 넘었는데» after «오늘 주문하면 오늘 출고돼요?»):
        # the conversation vouches for it, and the two together choose its units
        ordered = [previous, *(h for h in found.hits if h is not previous)]
        return replace(found, hits=ordered, confidence=max(found.confidence, vouched_confidence(settings))), {
            "question_base": base, "followup": state.get("followup") or "manual", "normalized_text": normalized}
    own_words = set(tokenize(state.get("normalized_text") or text)) - QUESTION_WORDS
    # (after an order answer, a product the question named may stand for the line's words: «언제 먹어야 젤
    # 맛있어요?» shares none with «드세요», «김치» places it)
    named = set((memory.get("query") or {}).get("products") or ()) if kind == "order" else set()
    body = set(tokenize(previous.body)) if previous is not None else set()
    # («몇글자까지 돼요?» after «카드도 써 주세요?»: a line asking only for a figure of what was just answered)
    figure_only = bool(FIGURE_ASKED.match(text)) and previous is not None and bool(re.search(r"\d", previous.body))
    if previous is None or not (own_words & body or any(p in previous.body for p in named) or figure_only):
        return None
    if kind == "manual" and alone is not None and alone.id != previous.id and any(
            has_words_of(noun, alone.title) and not has_words_of(noun, previous.title) for noun in topic_nouns(text)):
        # «눈 많이 오면 배송 며칠 밀려요» after a kimchi question: the line names the topic of the article its own
        # words find («배송이 늦어질 때»), one the previous article is not about — a new question, however weakly
        # found, not the kimchi article's
        return None
    if found.confidence < settings.answer_confidence_threshold or found.hits[0].score - previous.score > CONTEXT_MARGIN:
        return None
    # the previous question only found the article: the line alone chooses what of it is quoted (the
    # previous answer is not given again)
    ordered = [previous, *(h for h in found.hits if h is not previous)]
    # (a line read as a policy question after an order answer stays one: no order of theirs answers it)
    return replace(found, hits=ordered), {"question_base": base, "followup": state.get("followup") or "manual"}


def only_manner_words(text: str, words: list[str]) -> bool:
    """Whether each of `words` is said in `text` as the root of a word of manner («자작하게», «바삭하게»: root + 하 as
    an adjective), not as a thing («강아지한테»)."""
    found = morphemes(text)
    roots = {form for (form, _tag), (_next, next_tag) in itertools.pairwise(found) if next_tag == "XSA"}
    return all(word in roots for word in words)


REMARK_MAX_RETRIEVAL = AGREEMENT_MIN_RETRIEVAL  # a remark found no article even weakly (the agreement rule's floor)

# words of one kind: a follow-up naming one of them asks the previous question of it in place of its sibling
# («교환은요?» after «단순변심 반품하면 배송비 얼마에요», «VIP는요?» after «골드 등급 기준이 얼마에요?»)
SIBLING_WORDS: tuple[tuple[str, ...], ...] = (
    ("교환", "반품", "환불", "취소"),
    ("신용카드", "체크카드", "카드", "무통장", "가상계좌", "계좌이체", "네이버페이", "카카오페이", "토스페이", "휴대폰",
     "네페", "카카페", "엔페이"),
    ("식구", "단골", "골드", "VIP", "vip"),
    ("적립금", "쿠폰"),
    # an order's stages («상품준비중이면요?» after «결제완료 상태면 취소 수수료 있어요?»)
    ("결제완료", "결제 완료", "상품준비중", "상품 준비 중", "준비중", "준비 중", "배송중", "배송 중", "배송완료", "배송 완료",
     "출고 전", "출고 후", "출고전", "출고후"),
    ("만두", "갈비탕", "김치", "곰탕", "떡볶이"),
    ("exchange", "return", "refund", "cancel"),
    ("dumplings", "dumpling", "mandu", "galbitang", "kimchi", "gomtang", "tteokbokki"),
)


# what may follow a noun in the same word: particles, 하다 and its forms, the condition, 요
_AFTER_A_WORD = r"(?:은|는|이|가|을|를|도|로|으로|에|의|과|와|랑|이랑|하|했|한|할|해|면|요|비|신청|등급)"


_LEAD_WORD = re.compile(r"^(?:혹시|그럼|그러면|그냥|아)\s+")
_CONDITION_ON_NOUN = re.compile(r"(?<=[가-힣A-Za-z])면\s*(?:요|여|용|염)?\s*[?？.!~ㅠㅜ]*$")


_COMPOUND_TAIL = r"(?:배송비|수수료|비용|기간|기한)"


def topic_swap(question: str, base: str, spaced_base: str | None = None,
               products: frozenset[str] = frozenset()) -> tuple[str, str | None, str]:
    """(fragment, the previous question asked of the fragment instead of its topic, the word replaced) for an
    elliptic follow-up spelled out as "{fragment} {base}": "쿠폰 적립금 어떻게 쌓여요" → ("쿠폰", "쿠폰 어떻게
    쌓여요", "적립금"). The topic is a sibling of the fragment where the previous question (`spaced_base`: with
    its spacing restored) has one as a word of its own, else its first word. None when it has no topic word to
    swap ("얼마예요?")."""
    if not base or not question.endswith(base):
        return "", None, ""
    fragment = question[: -len(base)].strip()
    # «혹시 네이버페이면요» read with «신용카드로 결제한 건 …»: the noun the condition names takes the sibling's place
    condition = _CONDITION_ON_NOUN.search(_LEAD_WORD.sub("", fragment))
    where = spaced_base or base
    for group in SIBLING_WORDS:
        # the word said last («카드 말고 네이버페이면요»: 네이버페이), the longest of those ending there
        named = [(fragment.rfind(w) + len(w), len(w), w) for w in group if w in fragment]
        if not named:
            continue
        mine = max(named)[2]
        for theirs in group:
            if theirs == mine or theirs in mine:
                continue
            # a word of its own («반품하면», «카드로»), not part of another («환불금», «손만두», «카드사»)
            found = re.search(rf"(?<![가-힣A-Za-z]){re.escape(theirs)}(?=$|[^가-힣]|{_AFTER_A_WORD})", where)
            # …or the head of a compound the shop writes as one, of a fee or a period («반품배송비»: 반품 + 배송비;
            # not «환불금액», «카드사»: the amount or the company of that very thing)
            joined = None if found else re.search(rf"(?<![가-힣A-Za-z]){re.escape(theirs)}(?={_COMPOUND_TAIL})", where)
            match = found or joined
            if match:
                said = mine if condition else fragment
                gap = "" if found else " "  # «교환 배송비», not «교환배송비»
                return said, f"{where[:match.start()]}{said}{gap}{where[match.end():]}", theirs
    words = where.split()  # «포기김치알레르기성분뭐들었어요» typed unspaced: its words as spacing restores them
    if not fragment or len(words) < 2 or not tokenize(words[0]):
        return fragment, None, ""
    # «불량이면요?» after «반품기간 얼마에요»: a compound of a fee or a period keeps what it measures (기간), only its
    # head (반품) is swapped
    tail = re.search(rf"(?<=[가-힣]){_COMPOUND_TAIL}$", words[0])
    if tail:
        return fragment, f"{fragment} {tail.group(0)} {' '.join(words[1:])}", words[0][:tail.start()]
    # «실리콘 조리도구는요?» after «무쇠 전골냄비 식세기 써도 돼요?»: the product named in its words («무쇠 전골냄비»),
    # not only the first word, gives way to the fragment
    product_end = next((k for k in range(min(PRODUCT_PHRASE_WORDS, len(words) - 1))
                        if len(_bare(words[k])) >= 2 and any(p.endswith(_bare(words[k])) or _bare(words[k]).endswith(p)
                                                              for p in products if len(p) >= 2)), None)
    if product_end is not None:
        return fragment, f"{fragment} {' '.join(words[product_end + 1:])}", " ".join(words[:product_end + 1])
    return fragment, f"{fragment} {' '.join(words[1:])}", words[0]


PRODUCT_PHRASE_WORDS = 2  # leading words of a question a product's name may take («무쇠 전골냄비»)


def _bare(word: str) -> str:
    """A word without the particle a question puts after a product («찜기는», «냄비를»)."""
    return re.sub(r"(?:은|는|이|가|을|를|도|에|에서|으로|로)$", "", word) or word


def sibling_rows(fragment: str, replaced: str, body: str) -> bool:
    """Both the fragment and the word it replaces name rows of one table of the article («무통장» and
    «체크카드» in the refund table), so the follow-up asks another row, not the same thing somewhere else
    («제주도는요?» after «배송비 얼마예요?» is no row of a table: it keeps 배송비)."""
    if not fragment or not replaced:
        return False
    keys: dict[int, list[str]] = {}
    for unit in article_units(body):
        if unit.table is not None and unit.key:
            keys.setdefault(unit.table, []).append(unit.key)
    fragment, replaced = fragment.lower(), replaced.lower()
    return any(any(fragment in k.lower() for k in ks) and any(replaced in k.lower() for k in ks) for ks in keys.values())


def heads_a_section(fragment: str, body: str) -> bool:
    """A section heading of cases of the article (`body`, see `answering.case_heading`) names every content word of
    the fragment («오배송» in «## 불량·파손·오배송»): the article has a case of its own for it."""
    wanted = set(tokenize(fragment))
    return bool(wanted) and any(wanted <= set(tokenize(u.heading)) for u in article_units(body)
                                if u.heading and case_heading(u.heading))


def names_an_item(fragment: str, body: str) -> bool:
    """A list item or table row of the article is about the fragment, named before its colon («- 주방용품: 7~10일»
    for «주방용품은요?» after «재입고 얼마나 걸려요»): the previous question asked of that item, not the fragment's own
    article (how kitchenware is cared for)."""
    wanted = set(tokenize(fragment))
    return bool(wanted) and any(
        wanted <= set(tokenize(u.key or u.text.partition(":")[0])) for u in article_units(body)
        if u.kind in ("item", "row") and (u.key or ":" in u.text))


def detail_of_the_article(fragment: str, replaced: str, previous: Hit) -> bool:
    """The word the fragment replaces was a detail of the previous article, not its topic, and the article speaks of
    the fragment beside it: «적립금은요?» after «취소하면 쿠폰 돌려줘요?» asks what cancelling does to points (the
    cancel article: «사용한 적립금은 즉시 돌아가고, 쿠폰은 …»), not how points work. («쿠폰은요?» after «적립금
    어떻게 쌓여요?» replaces the points article's own topic: the coupons article answers.)"""
    if not replaced or has_words_of(replaced, previous.title):
        return False
    return any(speaks_of(fragment, u.text) and speaks_of(replaced, u.text) for u in article_units(previous.body))


def speaks_of(fragment: str, text: str, every: bool = True) -> bool:
    """`text` has every (or, not `every`, some) content word of the fragment somewhere, inside longer words too
    («에어프라이어» in «에어프라이어:», «불량» in «불량·파손»): whether an article says anything of what a follow-up
    asks about."""
    wanted = tokenize(fragment)
    compact = re.sub(r"\s+", "", text).lower()
    found = (word.lower() in compact for word in wanted)
    return bool(wanted) and (all(found) if every else any(found))


def has_words_of(fragment: str, text: str) -> bool:
    """`text` (an article's title or body) has every content word of the fragment: the title names what the
    fragment names, the body speaks of it."""
    wanted = set(tokenize(fragment))
    return bool(wanted) and wanted <= set(tokenize(text))


def answer(state: InquiryState, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Compose the answer: chat model (RAG + scoped tools + structured output) or the offline pipeline.

    Reads: `question` (else `text`), `question_base`, `own_query`, `followup`, `verify_result`, `memory`,
    `locale`, `category`, `customer`, `orders`, `coupons`, `hits`, `retrieval_confidence`,
    `unknown_terms`, `history`, `mood` (when the classifier sets it); the shop setting `manual_audience`
    (articles the admin made internal: the customer never sees them).
    A question about the customer's own data is answered from the database (a guest's is held in
    `pending_question` while the chat asks for the order number and phone digits).
    Writes: `answer`, `confidence`, `sources`, `needs_human`, `answer_kind`, `order_action`, `memory`,
    `category` and `urgency` (when the chat model answered: its reading, urgency never lowered),
    `pending_question`; `hits` without the article
    bodies (only this node needs them).
    """
    config = get_config()
    settings = runtime.context.settings
    policy = policy_of(state, settings)
    text = state.get("question") or state.get("text") or ""
    locale = state.get("locale") or "ko"
    hits = cast(list[dict[str, Any]], state.get("hits") or [])  # HitDicts, read as plain dicts
    reading = Reading(text, state.get("question_base") or text, OwnDataQuery.from_dict(state.get("own_query")),
                      followup=state.get("followup"),
                      verified_now=state.get("verify_result") == "verified" and text != (state.get("text") or ""))
    slim_hits = [{k: v for k, v in h.items() if k != "body"} for h in hits]  # what the checkpoint keeps
    small = None if state.get("pending_question") else smalltalk_reply(state.get("text") or "", locale, policy.shop_name)
    if small is not None:  # "안녕하세요", "감사합니다", "맛있어요 ㅎㅎ": a friendly reply, no model call, no handoff
        return {"answer": small, "confidence": 1.0, "sources": [], "answer_kind": "smalltalk", "needs_human": False,
                "hits": slim_hits}

    first_turn = not any(t.get("role") in ("ai", "agent") for t in state.get("history") or [])

    def answer_offline(**changes: Any) -> dict[str, Any]:
        """The offline pipeline's answer to this turn (`changes`: the arguments that differ)."""
        args: dict[str, Any] = {
            "text": text, "locale": locale, "category": state.get("category") or "other",
            "customer_id": state.get("customer_id"), "orders": state.get("orders") or [], "hits": hits,
            "retrieval_confidence": float(state.get("retrieval_confidence") or 0.0),
            "unknown_terms": state.get("unknown_terms") or [],
            "mood": cast(dict[str, Any], state).get("mood"),  # the classifier's reading, when it gives one
            "audience": "customers", "audience_overrides": state.get("audience_overrides") or {},
            "normalized_text": state.get("normalized_text"),
            "first_turn": first_turn,
            "previous_article": (state.get("memory") or {}).get("article_id"),
            # (what they told before: «저 울릉도 사는데요» before a sum of the delivery fee)
            "said_before": " ".join(t.get("text") or "" for t in list(state.get("history") or [])[:-1]
                                    if t.get("role") == "customer")}
        return offline_answer(settings, policy, **{**args, **changes})

    # a chat model answers a verified customer first (guests' own-data turns, the chat verification, stay
    # offline); None: no model, or it failed, ran out of the turn's time or is paused by the breaker
    model_first = settings.llm_enabled and bool(state.get("customer_id"))
    out = ask_chat_model(settings, policy, state, text, hits, config) if model_first else None
    own = own_data_turn(reading=reading, category=state.get("category") or "other",
                        customer_id=state.get("customer_id"), customer=state.get("customer"),
                        orders=state.get("orders") or [], coupons=state.get("coupons"),
                        verification=state.get("verify_result"), memory=state.get("memory"), locale=locale,
                        policy=policy, now=utcnow(), pending_question=state.get("pending_question"),
                        first_turn=first_turn) \
        if out is None else None
    if own is not None and own.get("pending_question") and not state.get("customer_id") and hits \
            and not set(reading.query.facts) & {"list", "items", "amount"} \
            and not purchase_told(state.get("text") or ""):  # "주문 내역 보여 주세요": only theirs
        # a guest asking "배송지 바꾸고 싶어요", "when will my package arrive?": what the manual says of it
        # first (nothing of theirs), then the offer to look at their order once they verify
        policy_part = answer_offline(customer_id=None, orders=[], mood=None)
        if policy_part.get("answer_kind") == "manual" and \
                float(policy_part.get("confidence") or 0.0) >= settings.answer_confidence_threshold:
            # a follow-up («네이버페이면요?») continues the article answered; the question still waits for
            # the verification (pending_question), asked for once, not again under the follow-up's answer (a line
            # about their order, «이름은 홍길동이고 어제 주문했어요», is asked again how to verify)
            asked_before = bool(state.get("pending_question")) and reading.followup == "manual" \
                and not names_theirs(state.get("text") or "")
            answer = policy_part["answer"] if asked_before else f"{policy_part['answer']}\n\n{own['answer']}"
            own = {**own, "answer": answer,
                   "sources": policy_part.get("sources") or [], "memory": manual_memory(reading, policy_part)}
    if own is not None:
        # the customer's own data (or the chat verification): answered from the database, never the manual
        return {**own, "needs_human": False, "hits": slim_hits}
    if reading.followup is None and any(product_facts_asked(text, state.get("category") or "other")):
        # «간장게장 품절이던데 언제 들어와요?», «순살갈비탕 얼마에요»: the products table knows, the manual cannot
        with runtime.context.engine.connect() as conn:
            catalogue = catalogue_in(conn)
        product = product_reply(text, catalogue, category=state.get("category") or "other", locale=locale,
                                policy=policy, today=utcnow().astimezone(KST).date())
        if product is not None:
            return {**product, "needs_human": False, "memory": manual_memory(reading, product), "hits": slim_hits}
    if out is None and settings.llm_enabled and not model_first:
        out = ask_chat_model(settings, policy, state, text, hits, config)
    if out is None:  # the offline pipeline: no chat model, or the model could not answer in time
        # «그럼 환불은 언제 들어오나요?» after an order answer asks the rule: the manual, not their orders again
        rule_only: dict[str, Any] = {"orders": []} if reading.followup == "policy" else {}
        out = {**answer_offline(**rule_only), "needs_human": False}
        remark = state.get("text") or ""
        # …and like no article at all («비번까먹었어요» is a problem the manual answers, only not surely)
        if first_turn and float(out.get("confidence") or 0.0) < settings.answer_confidence_threshold \
                and float(state.get("retrieval_confidence") or 0.0) < REMARK_MAX_RETRIEVAL \
                and is_remark(remark) and not incident_evidence(remark):
            # «요즘 이사 준비 때문에 정신이 하나도 없네요.»: nothing asked yet — invite the question
            out = {"answer": remark_reply(remark, locale), "confidence": 1.0, "sources": [],
                   "answer_kind": "smalltalk", "needs_human": False}
    # the article bodies served this answer; the checkpoint keeps the passages (10 KB less a message)
    return {**out, "memory": manual_memory(reading, out), "hits": slim_hits}


def ask_chat_model(settings: Settings, policy: StorePolicy, state: InquiryState, text: str,
                   hits: list[dict[str, Any]], config: RunnableConfig) -> dict[str, Any] | None:
    """The chat model's answer to this turn (with its category and urgency), or None: answer offline."""
    return answer_with_model(settings, policy, text=text, locale=state.get("locale") or "ko",
                             customer_id=state.get("customer_id"), customer=state.get("customer"),
                             orders=state.get("orders") or [], hits=hits,
                             history=cast(list[dict[str, Any]], list(state.get("history") or [])[:-1]),
                             category=state.get("category") or "other", urgency=state.get("urgency") or "normal",
                             retrieval_confidence=float(state.get("retrieval_confidence") or 0.0),
                             unknown_terms=state.get("unknown_terms") or [], config=config,
                             attachments=list(state.get("attachments") or []),
                             photo_notes=state.get("photo_notes") or "",
                             audience_overrides=state.get("audience_overrides") or {},
                             previous_article=(state.get("memory") or {}).get("article_id"))


def gate(state: InquiryState, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Confidence gate: decide whether a person must take over.

    Reads: `wants_human`, `urgency`, `classification` (incident evidence), `category`, `order_action`,
    `normalized_text`, `needs_human`, `answer`, `confidence`.
    Writes: `handoff_reason` (None = the bot answers).
    """
    settings = runtime.context.settings
    reason: str | None = None
    # a reported incident (damage, missing or wrong item …) goes to a person; the category alone does not: a
    # cooking question the classifier files under damage_defect is answered
    incident = bool((state.get("classification") or {}).get("evidence"))
    if state.get("wants_human"):
        reason = "requested"
    elif state.get("urgency") == "urgent" or (state.get("urgency") == "high" and incident):
        reason = "urgent"
    elif (bool((state.get("order_action") or {}).get("needs_person")) if state.get("order_action") else
          needs_action(state.get("normalized_text") or state.get("text") or "") and state.get("category") in (
              "cancel", "return_refund", "exchange", "damage_defect")):
        # about one of their orders, the order's status says whether a person must act (a paid order the
        # customer cancels with a button needs nobody; a delivered one to exchange does)
        reason = "action_required"
    elif state.get("needs_human"):
        reason = "model_uncertain"
    elif not state.get("answer") or float(state.get("confidence") or 0.0) < settings.answer_confidence_threshold:
        reason = "low_confidence"
    return {"handoff_reason": reason}


def route_after_gate(state: InquiryState) -> Literal["respond", "escalate"]:
    return "escalate" if state.get("handoff_reason") else "respond"


def respond(state: InquiryState, runtime: Runtime[InquiryContext]) -> dict[str, Any]:
    """Send the bot's answer.

    Reads: `answer`, `confidence`, `sources`, `category`, `urgency`, `turn_id`.
    Writes: the AI message row (dedup key `<thread>:<turn>:ai`), the conversation's category/urgency
    (a resolved conversation the customer writes to again goes back to `bot`); appends the AI turn.
    """
    config = get_config()
    settings = runtime.context.settings
    thread_id = thread_of(config)
    mid = conv.record_bot_answer(runtime.context.engine, thread_id, state.get("customer_id"), state.get("answer") or "",
                                 dedup_key=f"{thread_id}:{state.get('turn_id')}:ai", category=state.get("category"),
                                 urgency=state.get("urgency"), confidence=state.get("confidence"),
                                 sources=state.get("sources") or [],
                                 meta={"answer_kind": state.get("answer_kind"), "urgency": state.get("urgency")},
                                 durable=not settings.async_commit)
    return {"history": [{"role": "ai", "text": state.get("answer") or "", "message_id": mid}]}
