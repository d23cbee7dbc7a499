"""Shared fixtures: every test gets its own real database (SQLite file, or a PostgreSQL database
cloned from a migrated template when `DATABASE_URL` points at PostgreSQL) and its own data dir.

    pytest                                                             # SQLite
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest   # PostgreSQL

On PostgreSQL the run creates `sajang_t_<random>_*` databases next to the one in the URL and drops
them at the end, so parallel runs never collide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from sajang.config import Settings, apply_offline_defaults, get_settings
from sajang.db.engine import dispose_all, get_engine, normalize_url

apply_offline_defaults()

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
ARTIFACTS = REPO / "test-artifacts"
_BASE_URL = os.environ.get("DATABASE_URL", "")
IS_PG = _BASE_URL.startswith(("postgresql", "postgres://"))
_RUN = uuid.uuid4().hex[:8]


def shared_data(relative: str) -> Path:
    """A file of ../shared/data, or skip the test with the reason when a clone has none."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (third-party data lives beside the repo in ../shared/data)")
    return path


def _admin_engine() -> Engine:
    return create_engine(normalize_url(_BASE_URL), isolation_level="AUTOCOMMIT")


def _pg_url(dbname: str) -> str:
    return make_url(normalize_url(_BASE_URL)).set(database=dbname).render_as_string(hide_password=False)


class _Databases:
    """Creates one migrated template per run, then a clone per test (fast on both backends)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[str] = []
        self.template: str | None = None
        self.counter = 0

    def _make_template(self) -> str:
        if IS_PG:
            name = f"sajang_t_{_RUN}_tmpl"
            with _admin_engine().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.created.append(name)
            url = _pg_url(name)
            get_engine(url)
            dispose_all()  # a template must have no open connections
            return name
        path = self.root / "template.db"
        url = f"sqlite:///{path}"
        get_engine(url)
        dispose_all()
        return str(path)

    def fresh(self) -> str:
        if self.template is None:
            self.template = self._make_template()
        self.counter += 1
        if IS_PG:
            name = f"sajang_t_{_RUN}_{self.counter}"
            with _admin_engine().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
            self.created.append(name)
            return _pg_url(name)
        path = self.root / f"db{self.counter}.db"
        shutil.copy(self.template, path)
        return f"sqlite:///{path}"

    def drop_all(self) -> None:
        dispose_all()
        if not IS_PG:
            return
        with _admin_engine().connect() as conn:
            for name in reversed(self.created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    dbs = _Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.drop_all()


@pytest.fixture
def db_url(databases: _Databases) -> str:
    """A fresh, migrated, empty database for this test."""
    return databases.fresh()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings bound to this test's database and data dir, also exported for subprocesses."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("SAJANG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABASE_URL", db_url)
    for var in ("CHROMA_URL", "SAJANG_CHAT_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield get_settings()
    # each test has its own database: close the services and checkpoint pools bound to it, then free its
    # connections (PostgreSQL allows ~100)
    from sajang.graphs.common.checkpoint import close_checkpointers
    from sajang.graphs.inquiry.service import reset_services

    reset_services()
    close_checkpointers()
    get_settings.cache_clear()
    dispose_all()


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return get_engine(settings.resolved_database_url)


@pytest.fixture
def manual_shop(settings: Settings, engine: Engine) -> Any:
    """test_own_orders' customers and orders with the whole demo manual (answers that depend on the manual)."""
    from test_own_orders import seed_orders_and_demo_manual

    return seed_orders_and_demo_manual(settings, engine)


@pytest.fixture
def manual_svc(settings: Settings, manual_shop: Any) -> Any:
    """The inquiry service on `manual_shop`."""
    from sajang.graphs.inquiry.service import get_inquiry_service

    return get_inquiry_service(settings)


def run_cli_process(*args: str, input: str | None = None, env: dict[str, str] | None = None,
                    timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `sajang ARGS` in a new process with the current environment (the test's settings): for what
    only a process shows (start-up, imports, signals, what a crash leaves)."""
    return subprocess.run(
        [sys.executable, "-m", "sajang.app.cli", *args],
        input=input, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, cwd=REPO,
    )


def run_cli(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `sajang ARGS` through the console script's own `main()` in this process: same argument parsing,
    output and exit codes as `sajang` in a shell, without paying the start-up (imports, Kiwi and the e5
    model: ~5 s a call, a hundred calls a run) each time. `SAJANG_TEST_CLI=process` runs every call in a
    new process instead (`run_cli_process`)."""
    if os.environ.get("SAJANG_TEST_CLI") == "process":
        return run_cli_process(*args, input=input, env=env, timeout=timeout)
    import contextlib
    import io
    import traceback

    from sajang.app import cli as cli_module

    saved_env = {k: os.environ.get(k) for k in env or {}}
    saved = sys.argv, sys.stdin
    out, err = io.StringIO(), io.StringIO()
    code = 0
    os.environ.update(env or {})
    get_settings.cache_clear()
    sys.argv = ["sajang", *args]
    sys.stdin = io.TextIOWrapper(io.BytesIO((input or "").encode()), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli_module.main()
            except SystemExit as exc:
                if isinstance(exc.code, str):
                    err.write(exc.code + "\n")
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except Exception:  # what the interpreter prints for an uncaught exception, and its exit code
                traceback.print_exc(file=err)
                code = 1
    finally:
        sys.argv, sys.stdin = saved
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
    return subprocess.CompletedProcess(["sajang", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(settings: Settings):
    return run_cli


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests save screenshots (kept by CI as test artifacts)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
