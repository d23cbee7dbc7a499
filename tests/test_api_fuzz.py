"""Schemathesis over the OpenAPI spec of `/api/v1`: generated (valid and invalid) requests, as an admin
and as a verified chat customer, must never produce a server error; JSON bodies must match the spec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hyp_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from sqlalchemy import Engine

from sajang.config import Settings
from sajang.db.users import get_user_by_username
from sajang.security import issue_staff_token
from sajang.services import ratelimit
from sajang.services.accounts import claims_for, ensure_demo_users
from tests.test_api import add_shop


@pytest.fixture
def fuzz_ctx(settings: Settings, engine: Engine) -> Iterator[dict[str, Any]]:
    from sajang.app.main import create_app

    ratelimit.reset_all()
    ensure_demo_users(engine)
    add_shop(engine)
    # Generous limits so the fuzzer reaches the handlers instead of the rate limiter (429 is tested elsewhere).
    fuzz_settings = settings.model_copy(update={"rate_limit_per_minute": 100_000})
    app = create_app(fuzz_settings, mount_ui=False)
    with TestClient(app) as client:
        chat = client.post("/api/v1/chat/sessions", json={"order_id": "O-A1", "phone_last4": "5678"}).json()
    admin = get_user_by_username(engine, "admin")
    assert admin is not None
    yield {"app": app, "admin": {"Authorization": f"Bearer {issue_staff_token(fuzz_settings, claims_for(admin))}"},
           "customer": {"Authorization": f"Bearer {chat['token']}"}, "thread_id": chat["thread_id"]}
    ratelimit.reset_all()


@pytest.fixture
def api_schema(fuzz_ctx: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_ctx["app"])


schema = schemathesis.pytest.from_fixture("api_schema")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@schema.parametrize()
@hyp_settings(max_examples=20, deadline=None, derandomize=True, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Any, fuzz_ctx: dict[str, Any]) -> None:
    """Every operation, as the admin (or as the chat customer on chat routes, aimed at their own thread)."""
    headers = fuzz_ctx["admin"]
    if case.path.startswith("/api/v1/chat/"):
        headers = fuzz_ctx["customer"]
        if case.path_parameters and "thread_id" in case.path_parameters:
            case.path_parameters["thread_id"] = fuzz_ctx["thread_id"]
    case.call_and_validate(headers=headers, checks=CHECKS)
