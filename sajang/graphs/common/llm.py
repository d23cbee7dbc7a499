"""The chat model: `ChatOpenAI` from settings (OpenAI, or any OpenAI-compatible server via base_url).

Structured output is requested with pydantic schemas and `method="json_schema"` (strict JSON Schema in
`response_format`), which OpenAI, vLLM and Ollama all understand.

A customer turn has a budget (`Deadline`): `call_within` gives every model call at most what is left of
it as its HTTP timeout, retries transient failures only while budget remains, and a token callback stops
a stream that is still running when the budget is spent, so the caller can answer offline in time.

With `llm_mask_pii` the request hook masks personal data in every message before it leaves (`pii.py`).
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from sajang.config import Settings
from sajang.errors import SajangError
from sajang.graphs.common.pii import PiiMask, current_mask

T = TypeVar("T", bound=BaseModel)

# langchain-openai stores the parsed pydantic object in a field typed None while streaming structured
# output; pydantic then warns on every answer. The value is right, the warning is noise on stderr.
warnings.filterwarnings("ignore", message="Pydantic serializer warnings", category=UserWarning)


def openai_module() -> ModuleType:
    """The `openai` package, imported when a model call fails (an `except` evaluates its classes only then):
    offline nothing needs it, and it costs ~0.5 s of CPU to import (every cold `sajang ask`)."""
    import openai

    return openai


def transient_errors() -> tuple[type[Exception], ...]:
    """Failures worth a second try within the budget: the server was unreachable, overloaded or broke mid-way."""
    openai = openai_module()
    return (openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError)


MIN_CALL_S = 0.3  # no call is started with less budget than this: it could not finish

_models: dict[tuple[Any, ...], BaseChatModel] = {}
_lock = threading.Lock()


def get_chat_model(settings: Settings, *, streaming: bool = False, max_retries: int = 2,
                   model_name: str | None = None) -> BaseChatModel:
    """The configured chat model (cached per settings). Raises when no model is configured.

    `max_retries` are the client's own retries (the review path); the inquiry path passes 0 and retries
    in `call_within`, inside the turn's budget. `model_name`: another model on the same server (the
    vision model)."""
    name = model_name or settings.chat_model
    if not name:
        raise SajangError("no chat model configured (set SAJANG_CHAT_MODEL)", code="llm_disabled")
    key = (name, settings.openai_base_url, settings.openai_api_key, settings.llm_temperature,
           settings.llm_timeout_s, settings.llm_max_tokens, streaming, max_retries, settings.llm_mask_pii,
           json.dumps(settings.llm_extra_body, sort_keys=True))
    with _lock:
        model = _models.get(key)
        if model is None:
            kwargs: dict[str, Any] = {
                "model": name,
                "temperature": settings.llm_temperature,
                "timeout": settings.llm_timeout_s,
                "max_retries": max_retries,
                "streaming": streaming,
                # sent as `max_completion_tokens` (OpenAI, vLLM)
                "max_tokens": settings.llm_max_tokens,
            }
            extra: dict[str, Any] = {}
            if settings.openai_base_url:
                kwargs["base_url"] = settings.openai_base_url
                # Ollama's OpenAI endpoint reads the older `max_tokens` field only
                extra["max_tokens"] = settings.llm_max_tokens
            extra.update(settings.llm_extra_body)
            if extra:
                kwargs["extra_body"] = extra
            # Local OpenAI-compatible servers accept any key; the client insists on one.
            kwargs["api_key"] = settings.openai_api_key or ("not-needed" if settings.openai_base_url else None)
            if kwargs["api_key"] is None:
                del kwargs["api_key"]
            model = _models[key] = (_masking_chat_openai() if settings.llm_mask_pii else _chat_openai())(**kwargs)
    return model


def _chat_openai() -> type[BaseChatModel]:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI


@lru_cache(maxsize=1)
def _masking_chat_openai() -> type[BaseChatModel]:
    """`ChatOpenAI` whose request bodies carry placeholders for personal data: masked at the one place
    every call (plain, structured, tools, streaming) goes through before the HTTP request."""
    from langchain_openai import ChatOpenAI

    class MaskingChatOpenAI(ChatOpenAI):
        def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
            payload = super()._get_request_payload(input_, stop=stop, **kwargs)
            # no turn's mask (a caller that does not restore): mask anyway, nothing leaves in clear
            return (current_mask() or PiiMask()).mask_payload(payload)

    return MaskingChatOpenAI


def structured(settings: Settings, schema: type[T], *, streaming: bool = False) -> Any:
    """`model.with_structured_output(schema)` as a JSON-Schema response format (`streaming`: the tokens
    reach the run's callbacks, so LangGraph's `messages` stream mode can forward them)."""
    return get_chat_model(settings, streaming=streaming).with_structured_output(schema, method="json_schema",
                                                                                strict=True)


# --- the turn's budget ------------------------------------------------------------------------------

class DeadlineExceeded(TimeoutError):
    """The turn's budget for the model is spent."""


@dataclass(frozen=True)
class Deadline:
    """A point in wall-clock time (time.time()) by which the model must have answered."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.time() + max(0.0, seconds))

    def remaining(self) -> float:
        return self.at - time.time()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise DeadlineExceeded("the turn's time budget for the chat model is spent")


class _StopAtDeadline(BaseCallbackHandler):
    """Raises from the token callback once the budget is spent: the HTTP timeout only bounds the wait for
    each chunk, a stream that trickles would otherwise run on."""

    raise_error = True

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def on_llm_new_token(self, token: str | list[str | dict[str, Any]], *,
                         chunk: GenerationChunk | ChatGenerationChunk | None = None, run_id: UUID,
                         parent_run_id: UUID | None = None, tags: list[str] | None = None, **kwargs: Any) -> None:
        self.deadline.check()


def call_within(model: Runnable[Any, AIMessage], messages: list[BaseMessage], config: Any, deadline: Deadline,
                retries: int) -> AIMessage:
    """`model.invoke(messages)` with the HTTP timeout set to the budget left, and at most `retries` more
    tries after a transient failure while budget remains. Raises `DeadlineExceeded`, or the last error."""
    guarded = model.with_config(callbacks=[_StopAtDeadline(deadline)])  # merged with the run's callbacks
    attempt = 0
    while True:
        left = deadline.remaining()
        if left < MIN_CALL_S:
            raise DeadlineExceeded("the turn's time budget for the chat model is spent")
        try:
            return guarded.bind(timeout=left).invoke(messages, config)
        except openai_module().APITimeoutError as exc:
            raise DeadlineExceeded("the chat model did not answer within the turn's budget") from exc
        except transient_errors():
            attempt += 1
            if attempt > retries or deadline.remaining() < MIN_CALL_S:
                raise
