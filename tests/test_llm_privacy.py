"""`SAJANG_LLM_MASK_PII=true`: phones, e-mails, addresses and customer names leave for the chat model only
as placeholders ([전화1] …) and come back restored in what the customer sees, over the real
`langchain-openai` client and the local OpenAI-compatible stub (tests/openai_stub_server.py), which keeps
every request body as it came over the wire and repeats the placeholders it was sent in its answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai_stub_server import OpenAIStub
from sqlalchemy import Engine
from test_inquiry_support import A_ORDER, A_TRACK, A, seed_llm_store

from sajang.config import Settings
from sajang.graphs.common.breaker import reset_breakers
from sajang.graphs.common.pii import PiiMask, forget_customer_names
from sajang.graphs.inquiry.service import get_inquiry_service

PHONE, EMAIL, ADDRESS = "010-9876-5432", "hana.kim@example.com", "서울특별시 마포구 월드컵로 10 101동 202호"
OWN_NAME, OTHER_NAME = "김하나", "박두리"  # the asking customer, and another customer of the shop
PERSONAL = [PHONE, EMAIL, "월드컵로", OWN_NAME, OTHER_NAME, "010-1111-2222", "hana@example.com"]
MANUAL_QUESTION = (f"반품 비용은 얼마예요? 답은 {PHONE}이나 {EMAIL}로 주세요. 주소는 {ADDRESS}이고 "
                   f"{OTHER_NAME} 님이 대신 받을 수도 있어요")


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as s:
        yield s


def masked_store(settings: Settings, engine: Engine, stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch,
                 tmp_path: Any, mask: bool = True) -> Settings:
    reset_breakers()
    forget_customer_names()
    monkeypatch.setenv("SAJANG_LLM_MASK_PII", "true" if mask else "false")
    # a first turn also loads the classifier: on a busy machine that alone can outlast the default budget
    monkeypatch.setenv("SAJANG_LLM_TURN_DEADLINE_S", "300")
    return seed_llm_store(engine, tmp_path, monkeypatch, stub.base_url)


def wire(stub: OpenAIStub) -> str:
    """Everything the chat model was sent, as one text."""
    return json.dumps(stub.chat_requests(), ensure_ascii=False)


def test_no_personal_data_on_the_wire_and_the_answer_restored(settings: Settings, engine: Engine, stub: OpenAIStub,
                                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    llm = masked_store(settings, engine, stub, monkeypatch, tmp_path)
    svc = get_inquiry_service(llm)
    r = svc.ask(MANUAL_QUESTION, customer_id=A)
    sent = wire(stub)
    assert [p for p in PERSONAL if p in sent] == []
    assert all(t in sent for t in ("[전화1]", "[이메일1]", "[주소1]", "[이름1]", "[이름2]"))
    assert "반품 배송비 3,000원" in sent  # the policy's amounts are not taken for personal data
    # the stub repeated the placeholders: the customer reads the real values, never a placeholder
    assert PHONE in r["answer"] and EMAIL in r["answer"] and "[전화" not in r["answer"]
    stored = [m["text"] for m in svc.get_conversation(r["thread_id"])["messages"] if m["role"] == "ai"]
    assert stored == [r["answer"]]


def test_an_order_question_masks_the_prompt_and_the_tool_results(settings: Settings, engine: Engine,
                                                                   stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Any) -> None:
    llm = masked_store(settings, engine, stub, monkeypatch, tmp_path)
    r = get_inquiry_service(llm).ask(f"제 택배 언제 와요? 도착하면 {PHONE}로 문자 주세요", customer_id=A)
    bodies = stub.chat_requests()
    assert len(bodies) == 2 and any(m["role"] == "tool" for m in bodies[1]["messages"])
    assert [p for p in PERSONAL if p in wire(stub)] == []
    assert A_ORDER in wire(stub)  # order numbers stay: the tools and the answer need them
    assert A_TRACK in r["answer"] and PHONE in r["answer"]


def test_a_streamed_answer_never_shows_a_placeholder(settings: Settings, engine: Engine, stub: OpenAIStub,
                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    llm = masked_store(settings, engine, stub, monkeypatch, tmp_path)
    items = list(get_inquiry_service(llm).stream_ask(MANUAL_QUESTION, customer_id=A))
    chunks, final = items[:-1], items[-1]
    assert isinstance(final, dict) and PHONE in final["answer"]
    assert len(chunks) >= 3 and "".join(str(c) for c in chunks) == final["answer"]
    assert not any("[" in str(c) for c in chunks)  # not even half of one at a chunk's end
    assert [p for p in PERSONAL if p in wire(stub)] == []


def test_without_the_option_the_text_goes_as_written(settings: Settings, engine: Engine, stub: OpenAIStub,
                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    llm = masked_store(settings, engine, stub, monkeypatch, tmp_path, mask=False)
    get_inquiry_service(llm).ask(MANUAL_QUESTION, customer_id=A)
    assert PHONE in wire(stub) and "[전화1]" not in wire(stub)


def test_mask_round_trip_and_a_placeholder_cut_mid_stream() -> None:
    mask = PiiMask([OWN_NAME, OTHER_NAME])
    text = f"{OWN_NAME}입니다. {PHONE}로 연락, {ADDRESS}, {EMAIL}. 택배로 3일, 배송비로 3,000원, {PHONE} 다시"
    masked = mask.mask(text)
    assert masked == "[이름1]입니다. [전화1]로 연락, [주소1], [이메일1]. 택배로 3일, 배송비로 3,000원, [전화1] 다시"
    assert mask.unmask(masked) == text
    assert mask.unmask_prefix("[이름1]입니다. [전") == f"{OWN_NAME}입니다. "
    assert mask.unmask_prefix("[안내] 반품은 [") == "[안내] 반품은 "
    assert mask.unmask_prefix("[전화9]") == "[전화9]"  # a placeholder it never made stays as the model wrote it
