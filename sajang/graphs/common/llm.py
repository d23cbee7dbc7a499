"""The chat model: `ChatOpenAI` from settings (OpenAI, or any OpenAI-compatible server via base_url).

Structured output is requested with pydantic schemas and `method="json_schema"` (strict JSON Schema in
`response_format`), which OpenAI, vLLM and Ollama all understand.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, TypeVar

from langchain_core.language_models.chat_models import BaseChatModel
from pydantic import BaseModel

from sajang.config import Settings
from sajang.errors import SajangError

T = TypeVar("T", bound=BaseModel)

# langchain-openai stores the parsed pydantic object in a field typed None while streaming structured
# output; pydantic then warns on every answer. The value is right, the warning is noise on stderr.
warnings.filterwarnings("ignore", message="Pydantic serializer warnings", category=UserWarning)

_models: dict[tuple[Any, ...], BaseChatModel] = {}
_lock = threading.Lock()


def get_chat_model(settings: Settings, *, streaming: bool = False) -> BaseChatModel:
    """The configured chat model (cached per settings). Raises when no model is configured."""
    if not settings.chat_model:
        raise SajangError("no chat model configured (set SAJANG_CHAT_MODEL)", code="llm_disabled")
    key = (settings.chat_model, settings.openai_base_url, settings.openai_api_key, settings.llm_temperature,
           settings.llm_timeout_s, streaming)
    with _lock:
        model = _models.get(key)
        if model is None:
            from langchain_openai import ChatOpenAI

            kwargs: dict[str, Any] = {
                "model": settings.chat_model,
                "temperature": settings.llm_temperature,
                "timeout": settings.llm_timeout_s,
                "max_retries": 2,
                "streaming": streaming,
            }
            if settings.openai_base_url:
                kwargs["base_url"] = settings.openai_base_url
            # Local OpenAI-compatible servers accept any key; the client insists on one.
            kwargs["api_key"] = settings.openai_api_key or ("not-needed" if settings.openai_base_url else None)
            if kwargs["api_key"] is None:
                del kwargs["api_key"]
            model = _models[key] = ChatOpenAI(**kwargs)
    return model


def structured(settings: Settings, schema: type[T], *, streaming: bool = False) -> Any:
    """`model.with_structured_output(schema)` as a JSON-Schema response format (`streaming`: the tokens
    reach the run's callbacks, so LangGraph's `messages` stream mode can forward them)."""
    return get_chat_model(settings, streaming=streaming).with_structured_output(schema, method="json_schema",
                                                                                strict=True)
