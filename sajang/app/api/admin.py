"""`/api/v1/admin`: staff accounts, the store policy, who may read each manual article, and the inquiry graph
as `sajang ask` runs it (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, ConfigDict, Field

from sajang.app.deps import AdminDep, EngineDep, InquiriesDep, SettingsDep, require_admin
from sajang.app.schemas import (
    HARD_TEXT_CAP,
    AskOut,
    ErrorOut,
    IdText,
    Locale,
    ManualArticleAudienceOut,
    ManualAudienceChangeOut,
    ManualAudienceIn,
    RowId,
    SafeStr,
    ThreadId,
    UserCreate,
    UserOut,
    UserUpdate,
)
from sajang.services import manager, store_settings
from sajang.services import manual as manual_audience
from sajang.services.accounts import create_account, list_staff, update_account

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)],
                   responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}})


@router.get("/users", response_model=list[UserOut], summary="Staff users")
def list_users(settings: SettingsDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in list_staff(settings)]


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut,
             responses={409: {"model": ErrorOut}}, summary="Add a staff user")
def add_user(body: UserCreate, engine: EngineDep, admin: AdminDep) -> UserOut:
    user = create_account(engine, body.username, body.password, body.role, body.display_name, body.locale,
                          actor=admin.user.username)
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserOut, responses={404: {"model": ErrorOut}},
              summary="Change a staff user (password, role, name, active)")
def update_user(user_id: RowId, body: UserUpdate, settings: SettingsDep, admin: AdminDep) -> UserOut:
    user = update_account(settings, user_id, admin.member, password=body.password, role=body.role,
                          display_name=body.display_name, is_active=body.is_active, locale=body.locale)
    return UserOut.model_validate(user)


class StoreSettingsOut(BaseModel):
    """The store policy in effect (`values`), the environment's `defaults`, the keys the admin overrode,
    who saved last, and the latest changes (each with `changes: {key: {old, new}}`)."""

    values: dict[str, Any]
    defaults: dict[str, Any]
    overridden: list[str]
    updated_by: str | None
    updated_at: datetime | None
    history: list[dict[str, Any]]


class StoreSettingsIn(BaseModel):
    """Keys as in the README's `SAJANG_STORE__*`, lower case (`delivery_fee`, `cs_phone` …)."""

    model_config = ConfigDict(extra="forbid")
    values: dict[str, str | int] = Field(default_factory=dict, max_length=20,
                                         examples=[{"delivery_fee": 3500, "cs_phone": "02-123-4567"}])
    reset: list[str] = Field(default_factory=list, max_length=20,
                             description="keys that go back to the environment's value")


class SettingChangeOut(BaseModel):
    key: str
    old: Any
    new: Any


class StoreSettingsUpdateOut(BaseModel):
    changes: list[SettingChangeOut]
    settings: StoreSettingsOut


@router.get("/settings", response_model=StoreSettingsOut, summary="The store policy in effect")
def get_store_settings(settings: SettingsDep) -> dict[str, Any]:
    return store_settings.show(settings).as_dict()


@router.patch("/settings", response_model=StoreSettingsUpdateOut,
              summary="Change the store policy (audited; used from the next answer, draft and coupon message)")
def update_store_settings(body: StoreSettingsIn, settings: SettingsDep, admin: AdminDep) -> dict[str, Any]:
    return store_settings.update(settings, body.values, actor=admin.user.username, reset=body.reset).as_dict()


class ManagerQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=manager.MAX_QUESTION_CHARS, examples=["이번 주 매출 지난주랑 비교해줘"])


class ManagerAnswerOut(BaseModel):
    """The answer in words, the read-only tools used (in order) and their results (tool name → result)."""

    answer: str
    tools: list[str]
    data: dict[str, Any]
    method: str


@router.post("/manager", response_model=ManagerAnswerOut,
             summary="Ask the AI manager (sales, stock, churn risk, claims, reviews); read-only")
def ask_manager(body: ManagerQuestion, settings: SettingsDep) -> dict[str, Any]:
    return manager.ask(settings, body.text).as_dict()


@router.get("/manual/articles", response_model=list[ManualArticleAudienceOut],
            summary="The manual's articles and who may read each (customers or agents only)")
def list_manual_articles(settings: SettingsDep) -> list[dict[str, Any]]:
    return [a.as_dict() for a in manual_audience.list_articles(settings)]


@router.put("/manual/articles/{article_id}/audience", response_model=ManualAudienceChangeOut,
            responses={404: {"model": ErrorOut}},
            summary="Make an article customer-facing or agents-only, or as its text says (audited; from the "
                    "next customer message; its translations follow)")
def set_manual_article_audience(article_id: Annotated[str, Path(min_length=1, max_length=128)],
                                body: ManualAudienceIn, settings: SettingsDep, admin: AdminDep) -> dict[str, Any]:
    return manual_audience.set_audience(settings, article_id, body.audience, actor=admin.user.username).as_dict()


class AskIn(BaseModel):
    """`sajang ask`'s arguments: the text as typed (the service strips it and applies the message limit,
    with the same errors as in the CLI's own process)."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[SafeStr, Field(max_length=HARD_TEXT_CAP)]
    customer_id: IdText | None = None
    thread_id: ThreadId | None = None
    locale: Locale | None = None


@router.post("/ask", response_model=AskOut, responses={404: {"model": ErrorOut}, 413: {"model": ErrorOut}},
             summary="One customer message through the inquiry graph, as `sajang ask` runs it (its client mode)")
def ask_as_cli(body: AskIn, api: InquiriesDep) -> dict[str, Any]:
    """What `sajang ask TEXT [--customer] [--thread] [--locale] --json` prints, answered by this server:
    a new conversation unless `thread_id` is given, the customer's own orders when `customer_id` is. The
    owner's tool (admin only, no rate limit): the customer-facing routes are `/chat/sessions/…`."""
    return api.ask(body.text, customer_id=body.customer_id, thread_id=body.thread_id, locale=body.locale).as_dict()
