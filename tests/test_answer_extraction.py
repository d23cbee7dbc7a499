"""The offline answer quotes the part of a manual article that answers the question: a table row for a
"how long" question, a whole FAQ item, the general rule before narrower FAQ answers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sajang.graphs.inquiry.answering import article_units, relevant_sentences

MANUAL = Path(__file__).resolve().parent.parent / "sajang" / "data" / "manual"


def _article(name: str) -> dict[str, str]:
    body = (MANUAL / f"{name}.md").read_text(encoding="utf-8").split("---", 1)[1]
    return {"body": body, "text": ""}


def test_table_rows_become_sentences_that_name_their_columns() -> None:
    units = article_units(_article("refund-timing")["body"])
    rows = [u.text for u in units if u.table is not None]
    assert "체크카드 — 환불 완료까지 3~5영업일 안에 계좌로 입금" in rows
    assert not any(set(r) <= set("|-: ") for r in rows)  # the |---| rule is not a row
    assert len(rows) == 6


def test_a_duration_question_gets_the_table_and_a_named_row_only_that_row() -> None:
    general = " ".join(relevant_sentences("환불은 며칠 걸려요?", _article("refund-timing")))
    assert "3~5영업일" in general and "1~3영업일" in general
    named = relevant_sentences("체크카드 환불은 며칠 걸려요?", _article("refund-timing"))
    assert any("체크카드" in s and "3~5영업일" in s for s in named)
    assert not any(s.startswith("네이버페이") for s in named)


def test_general_rule_before_narrower_faq_items_and_faq_items_stay_whole() -> None:
    gift = relevant_sentences("선물 포장 되나요?", _article("gift-wrapping"))
    assert any("무료 포장" in s for s in gift)
    units = [u.text for u in article_units(_article("gift-wrapping")["body"])]
    assert any(u.startswith("선물 포장을 하면 배송이 늦어지나요: 아니요.") and "당일 출고" in u for u in units)


def test_money_and_clock_questions_prefer_units_stating_them() -> None:
    fee = " ".join(relevant_sentences("반품하면 배송비 얼마 내요?", _article("return-fee")))
    assert "3,000원" in fee
    cutoff = " ".join(relevant_sentences("몇 시까지 주문하면 오늘 출고돼요?", _article("delivery-dispatch")))
    assert "오후 2시" in cutoff


def test_a_hypothetical_question_asks_the_policy_not_about_the_last_order() -> None:
    from sajang.graphs.inquiry.order_answers import is_order_question

    assert not is_order_question("카드 결제 취소하면 환불 언제 돼요?", "return_refund")
    assert not is_order_question("If I cancel, when is the refund?", "return_refund")
    assert is_order_question("제 주문 취소하면 환불 언제 돼요?", "return_refund")  # "my order": theirs
    assert is_order_question("환불 언제 돼요?", "return_refund")
    assert is_order_question("O-20261011-00005 취소하면 환불 언제 돼요?", "return_refund")
    # nouns ending in 면 are not conditions; "주문한 / 시킨 / I ordered" make it theirs
    assert is_order_question("주문한 라면 언제 와요?", "delivery")
    assert is_order_question("어제 시킨 냉면 언제 도착해요?", "delivery")
    assert is_order_question("주문한 상품 배송 언제 돼요? 늦으면 취소하려고요", "delivery")
    assert is_order_question("Where is the package I ordered? if late cancel it", "delivery")


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="the evaluation builds its own SQLite store: the SQLite pass runs it")
def test_answer_eval_reports_whether_the_fact_was_stated(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    from sajang.graphs.inquiry.answer_eval import format_report, run_answer_eval

    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in [
        {"q": "반품하면 배송비 얼마 내요?", "article": "return-fee", "facts": ["3,000원"]},
        {"q": "반품하면 배송비 얼마 내요?", "article": "return-fee", "facts": ["99,999원"]},  # not in the manual
        # answered from the manual's English version of the article (delivery-fee.en: "50,000 won")
        {"q": "Is there free shipping?", "article": "delivery-fee", "facts": ["50,000원", "50,000 won"]},
        # on the shop's topic (delivery) but about something no article mentions: a person answers
        {"q": "새벽 배송도 해 주시나요?", "article": None, "facts": []},
    ]) + "\n", encoding="utf-8")
    report = run_answer_eval(settings, cases)
    assert [r["fact"] for r in report["rows"]] == [True, False, True, False]
    assert report["rows"][0]["right_source"] and report["fact_in_answer"] == round(2 / 3, 3)
    assert report["english"] == {"cases": 1, "answered": 1.0, "fact_in_answer": 1.0}
    assert report["unanswerable"] == {"cases": 1, "handed_off": 1.0}
    assert report["rows"][3]["handoff_reason"] == "low_confidence"
    text = format_report(report)
    assert "✗ [no fact] 반품하면 배송비 얼마 내요?" in text and "not in the manual, handed off:  1.000" in text
    # every question once more after a greeting or some context ("안녕하세요, 반품하면 …")
    opened = report["opened_rows"]
    assert opened[0]["q"] == "안녕하세요, 반품하면 배송비 얼마 내요?" and opened[0]["fact"]
    assert opened[3]["q"].startswith("엄마 선물로 사려고 하는데 새벽 배송") and not opened[3]["answered"]
    assert "새벽 배송" not in text  # handed off: right
