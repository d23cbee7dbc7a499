"""`/admin` in Chromium: admin login, KPI cards and alerts from the demo shop, charts, an alert's items,
segmentation run → nothing pre-ticked → tick two proposals → the confirmation step's counts and amounts →
확정 issues exactly those, once; English switch; an agent is refused. Screenshots go to `artifacts`."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from sajang.config import Settings
from sajang.db import dashboard as dash
from sajang.db.demo import seed_demo_store
from sajang.db.models import CouponIssue, CustomerSegment

pytestmark = pytest.mark.browser


def test_admin_dashboard_in_browser(settings: Settings, engine: Engine, artifacts: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    expect = playwright.expect
    from sajang.services.accounts import ensure_demo_users
    from tests.browser import launch_browser, live_server, login, new_page

    seed_demo_store(engine, customers=300, seed=42)
    ensure_demo_users(engine)
    # an earlier run a month ago, so the page shows how segments moved since
    from sajang.db.rfm import shop_today
    from sajang.graphs.segmentation.service import run_summary, start_run

    earlier = start_run(settings, as_of=shop_today() - timedelta(days=30), started_by="admin")
    kpis = dash.kpis(engine)
    with live_server(settings) as base, playwright.sync_playwright() as pw:
        browser = launch_browser(pw)
        # an agent may not open the owner's page
        agent_page = new_page(browser)
        agent_page.goto(f"{base}/admin/")
        assert "/login" in agent_page.url

        page = new_page(browser)
        login(page, base, "admin", "admin1234", next_path="/admin/")
        cards = page.locator("#sj-kpis .sj-card")
        cards.first.wait_for()
        qna = page.locator('#sj-kpis [data-kpi="qna"] .v').inner_text()
        assert qna == str(kpis["unanswered_qna"])
        assert page.locator('#sj-kpis [data-kpi="claims"] .v').inner_text() == str(kpis["open_claims_total"])
        assert page.locator('#sj-kpis [data-kpi="low"] .v').inner_text() == str(kpis["low_stock"])
        assert "미답변 Q&A" in page.locator("#sj-kpis").inner_text()

        # the planted review spike is the first alert; clicking a stock alert lists that product
        spike = page.locator('[data-alert="review_spike:P-001"]')
        assert "리뷰 급증" in spike.inner_text()
        expect(page.locator("#sj-alert-items")).to_contain_text("R-")
        stock = page.locator('[data-alert^="low_stock:"]').first
        product = (stock.get_attribute("data-alert") or "").split(":", 1)[1]
        stock.click()
        expect(page.locator("#sj-alert-items")).to_contain_text(product)

        # charts are drawn (Vega canvases/SVGs inside the plot blocks)
        page.locator("#sj-revenue canvas, #sj-revenue svg").first.wait_for()
        page.locator("#sj-claims canvas, #sj-claims svg").first.wait_for()

        # run the segmentation, approve the recommended proposals once
        expect(page.locator("#sj-run-status")).to_contain_text(f"#{earlier['run_id']}")
        page.locator("#sj-run").click()
        expect(page.locator("#sj-run-status")).to_contain_text(f"#{earlier['run_id'] + 1}", timeout=60_000)
        expect(page.locator("#sj-run-status")).to_contain_text("승인 대기")
        with engine.connect() as conn:
            run_id = conn.scalar(select(func.max(CustomerSegment.run_id)))
            scored = conn.scalar(select(func.count()).select_from(CustomerSegment)
                                 .where(CustomerSegment.run_id == run_id))
        assert f"{scored:,}" in page.locator("#sj-run-status").inner_text()
        page.locator("#sj-segments canvas, #sj-segments svg").first.wait_for()
        assert run_id == earlier["run_id"] + 1
        expect(page.locator("body")).to_contain_text("지난 실행")
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "admin_dashboard.png"), full_page=False)
        page.locator("#sj-segments").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "admin_segments.png"), full_page=False)

        # nothing is ticked in advance; 검토 with nothing ticked says so and issues nothing
        boxes = page.locator("#sj-proposals .bool-cell input[type=checkbox]")
        run = run_summary(settings, run_id)
        expect(boxes).to_have_count(len(run["proposals"]))
        assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
        note = page.locator("#sj-action-note")
        page.locator("#sj-approve").click()
        note.get_by_text("하나 이상 체크").wait_for()
        # tick two proposals explicitly → the confirmation shows what 확정 will issue
        chosen = run["proposals"][:2]
        for i in range(2):
            boxes.nth(i).check()
        page.locator("#sj-approve").click()
        confirm = page.locator("#sj-confirm")
        expect(confirm).to_contain_text("확정하면")
        text = confirm.inner_text()
        for p in chosen:
            assert f"{p['customers']:,}" in text
            if p["min_order_amount"]:
                assert f"{p['min_order_amount']:,}원 이상 주문 시" in text
        expected = sum(p["customers"] for p in chosen)
        assert f"쿠폰 {expected:,}장" in text and f"메시지 {expected:,}건" in text
        with engine.connect() as conn:  # nothing issued before 확정
            assert not conn.scalar(select(func.count()).select_from(CouponIssue).where(CouponIssue.run_id == run_id))
        confirm.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "admin_confirm.png"), full_page=False)
        page.locator("#sj-confirm-btn").click()
        note.get_by_text("승인 완료").wait_for(timeout=60_000)
        expect(confirm).to_be_hidden()
        with engine.connect() as conn:
            issued = conn.scalar(select(func.count()).select_from(CouponIssue).where(CouponIssue.run_id == run_id))
            codes = conn.scalar(select(func.count(func.distinct(CouponIssue.code)))
                                .where(CouponIssue.run_id == run_id))
        assert issued == expected == codes and re.search(rf"쿠폰 {issued}명", note.inner_text())
        assert {c["segment"] for c in run_summary(settings, run_id)["coupons"]} == {p["segment"] for p in chosen}
        assert page.locator("#sj-approve").is_disabled()
        page.screenshot(path=str(artifacts / "admin_approved.png"), full_page=False)

        # English switch
        page.get_by_label("English").check()
        page.locator("#sj-kpis").get_by_text("Unanswered Q&A").wait_for()
        expect(page.locator('[data-alert="review_spike:P-001"]')).to_contain_text("reviews spiking")
        page.locator("#sj-claims").get_by_text("Claims per day").wait_for()
        page.wait_for_timeout(800)
        assert "Risk alerts" in page.content()
        page.screenshot(path=str(artifacts / "admin_dashboard_en.png"), full_page=False)
        browser.close()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CouponIssue)) == issued
