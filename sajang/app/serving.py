"""`sajang serve`: one server process, or `--workers N` uvicorn worker processes on one port.

With workers, the start-up work is done once, in the parent, before any worker starts: the migrations
(PostgreSQL: also under an advisory lock against other replicas), the secret key file, the start-up
reconcile; the scheduled retention purge runs in the parent too. Each worker builds the app (its own
pools, warm-up and readiness) with `worker_app`, uvicorn's factory.

The Gradio UIs keep a session's state and its queued events in the memory of the process that opened it,
and the kernel hands each new connection of one browser to any worker: several workers need `SAJANG_UI=off`
(REST API, channels and login on every worker). For the UIs, run replicas of one worker each behind a proxy
with sticky sessions (deploy/compose.yaml, deploy/Caddyfile) and `REDIS_URL` for shared rate limits.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

from sajang.config import Settings, get_settings
from sajang.errors import SajangError

log = logging.getLogger("sajang.app")

# Set by the parent for its workers: the start-up reconcile is done (the workers inherit the environment).
STARTUP_DONE_ENV = "SAJANG_SERVE_STARTUP_DONE"
WORKER_HEALTHCHECK_S = 60


class WorkersNeedUiOff(SajangError):
    code = "workers_need_ui_off"
    status_code = 400


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse several workers with the UIs mounted (their sessions live in one process's memory)."""
    if workers > 1 and settings.ui:
        raise WorkersNeedUiOff(
            "--workers > 1 serves the REST API and channels only: the Gradio UIs (/chat, /agent, /admin) keep "
            "their sessions in one process's memory. Set SAJANG_UI=off, or run one worker per replica behind "
            "a proxy with sticky sessions (deploy/compose.yaml)")


def reconcile_at_start_up(settings: Settings) -> dict[str, int]:
    """A process killed mid-request (kill -9, OOM) can leave a conversation's status and its thread
    disagreeing: put them right before serving (reads put right what this misses). Safe with replicas
    starting at once: each conversation is reconciled under its own lock."""
    from sajang.services.inquiry import inquiries

    counts = inquiries(settings).reconcile_all()
    if counts["restored_handoff"] or counts["closed_wait"]:
        log.warning("start-up reconcile: %s", counts)
    return counts


def prepare(settings: Settings) -> dict[str, int]:
    """The start-up work of every worker, done once (the parent imports neither the app nor Gradio):
    migrations, the secret key, the reconcile."""
    from sajang.db.engine import dispose_all
    from sajang.graphs.common.context import engine_for
    from sajang.security import secret_key

    engine_for(settings)  # migrations
    secret_key(settings)  # one key file, not N racing to write it
    counts = reconcile_at_start_up(settings)
    dispose_all()  # the parent keeps no idle connections for the server's life
    return counts


def worker_app() -> FastAPI:
    """uvicorn's app factory: the app of one serving process."""
    from sajang.app.main import create_app
    from sajang.app.observability import configure_logging, serve_background_work
    from sajang.memory import limit_malloc_arenas
    from sajang.services.privacy import PurgeSchedule

    limit_malloc_arenas()  # before the server's threads
    settings = get_settings()
    configure_logging(settings)
    prepared = os.environ.get(STARTUP_DONE_ENV) == "1"
    app = create_app(settings, reconcile_at_start=not prepared)
    # retention purge: the parent's job when it started workers
    serve_background_work(app, settings, jobs=[] if prepared else [PurgeSchedule(settings).start])
    return app


def run(host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from sajang.app.observability import configure_logging

    settings = get_settings()
    check_workers(settings, workers)
    if workers <= 1:
        uvicorn.run(worker_app(), host=host, port=port, log_config=None)
        return
    from sajang.services.privacy import PurgeSchedule

    configure_logging(settings)
    prepare(settings)
    os.environ[STARTUP_DONE_ENV] = "1"
    PurgeSchedule(settings).start()
    # a worker busy warming up (the embedding model, Kiwi) on a loaded machine answers the supervisor's
    # ping late: 5 s (uvicorn's default) would have it killed and started again, warming up again
    uvicorn.run("sajang.app.serving:worker_app", factory=True, workers=workers, host=host, port=port,
                log_config=None, timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)
