"""What deploy/unused-requirements.txt lists (the locks leave it out: chromadb requires it, sajang never imports
it) is not needed: in a process where those packages cannot be imported — absent after the README's install
from the lock, made unimportable here where a resolver's install brought them — the manual is imported into
the knowledge base (Chroma's PersistentClient, or HttpClient to a `chroma run` server), `sajang ask` answers
from it, and the server's app and every `sajang` module import. tests/test_lock.py keeps the lock whole."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from serving import chroma_server
from test_inquiry_support import ARTICLES, MANUAL

from sajang.config import Settings

REPO = Path(__file__).resolve().parent.parent
# what is installed does not depend on the database: the check runs once, on the SQLite pass of CI (each case
# starts fresh interpreters that load the model, ~2 minutes of the suite)
pytestmark = pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                                reason="install footprint: database-independent, checked on the SQLite run")
UNUSED = REPO / "deploy" / "unused-requirements.txt"


def unused_distributions() -> list[str]:
    return [line.split("#", 1)[0].strip() for line in UNUSED.read_text(encoding="utf-8").splitlines()
            if line.split("#", 1)[0].strip()]


def blocked_modules() -> set[str]:
    """The top-level modules the listed distributions install (where they are installed: none after an install
    from the lock)."""
    wanted = {name.lower().replace("_", "-") for name in unused_distributions()}
    return {module for module, dists in md.packages_distributions().items()
            if any(d.lower().replace("_", "-") in wanted for d in dists)}


# Runs before anything is imported: the listed packages' modules raise ModuleNotFoundError, as when absent.
BLOCKER = """
import importlib.abc, sys
BLOCKED = set({blocked!r})
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Absent())
"""


def run_without_them(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKER.format(blocked=sorted(blocked_modules())) + code],
                          capture_output=True, text=True, timeout=900, cwd=REPO, env={**os.environ, **(env or {})})


def sajang_without_them(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_without_them(f"from sajang.app.cli import main; sys.argv = {['sajang', *args]!r}; main()", env)


def test_the_list_names_distributions_that_sajang_does_not_require_itself() -> None:
    listed = {name.lower() for name in unused_distributions()}
    assert {"kubernetes", "onnxruntime", "tokenizers"} <= listed
    own = {r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
           for r in md.distribution("sajang").requires or [] if "extra ==" not in r}
    assert not listed & own
    for module in ("kubernetes", "onnxruntime", "tokenizers"):  # absent, or installed and made unimportable
        assert run_without_them(f"import {module}").returncode == 1, module


def _manual(tmp_path: Path) -> Path:
    src = tmp_path / "manual"
    src.mkdir()
    for name in ARTICLES[:4]:
        shutil.copy(MANUAL / f"{name}.md", src / f"{name}.md")
    return src


def test_knowledge_base_and_ask_run_without_them(settings: Settings, tmp_path: Path) -> None:
    imported = sajang_without_them("import", "manual", str(_manual(tmp_path)))
    assert imported.returncode == 0, imported.stderr[-3000:]
    asked = sajang_without_them("ask", "배송비 얼마예요?", "--json", "--no-server")
    assert asked.returncode == 0, asked.stderr[-3000:]
    answer = json.loads(asked.stdout)
    assert answer["sources"] and answer["sources"][0]["kind"] == "manual" and answer["answer"]
    modules = run_without_them("import pkgutil, importlib, sajang\n"
                               "for m in pkgutil.walk_packages(sajang.__path__, 'sajang.'):\n"
                               "    importlib.import_module(m.name)\n"
                               "from sajang.app.main import create_app")
    assert modules.returncode == 0, modules.stderr[-3000:]


def test_chroma_http_client_runs_without_them(settings: Settings, tmp_path: Path) -> None:
    with chroma_server(tmp_path / "chroma") as url:
        env = {"CHROMA_URL": url}
        imported = sajang_without_them("import", "manual", str(_manual(tmp_path)), env=env)
        assert imported.returncode == 0, imported.stderr[-3000:]
        asked = sajang_without_them("ask", "배송비 얼마예요?", "--json", "--no-server", env=env)
        assert asked.returncode == 0, asked.stderr[-3000:]
        assert json.loads(asked.stdout)["sources"][0]["kind"] == "manual"
