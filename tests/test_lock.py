"""The locks are the install (`pip install --no-deps -r requirements.lock -e .`, README, .ci/run, Dockerfile):
pip resolves nothing, so nothing but this test keeps them whole. Walking the installed distributions' metadata
from pyproject.toml's dependencies (markers evaluated here), every distribution reached is pinned in the lock, at
the version installed, which satisfies every requirement on it; the lock pins nothing else; and the walk stops
only at what deploy/unused-requirements.txt lists, reached only where chromadb requires it."""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

REPO = Path(__file__).resolve().parent.parent
# the only ways into the unused distributions: chromadb's unconditional requirements (deploy/unused-requirements.txt)
ENTRIES = {("chromadb", "kubernetes"), ("chromadb", "onnxruntime"), ("chromadb", "tokenizers")}


def read_lock(name: str) -> dict[NormalizedName, str]:
    pins: dict[NormalizedName, str] = {}
    for line in (REPO / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins.update(read_lock(line[3:].strip()))
        elif line:
            dist, version = line.split("==")
            assert canonicalize_name(dist) not in pins, f"{dist} pinned twice"
            pins[canonicalize_name(dist)] = version
    return pins


def unused() -> set[NormalizedName]:
    text = (REPO / "deploy" / "unused-requirements.txt").read_text(encoding="utf-8")
    return {canonicalize_name(line.split("#", 1)[0].strip()) for line in text.splitlines()
            if line.split("#", 1)[0].strip()}


@dataclass
class Walk:
    pins: dict[NormalizedName, str]
    leave_out: set[NormalizedName]
    reached: set[NormalizedName] = field(default_factory=set)
    extras_seen: set[tuple[NormalizedName, str]] = field(default_factory=set)
    entries: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def visit(self, name: str, extras: set[str]) -> None:
        key = canonicalize_name(name)
        todo = {e for e in extras or {""} if (key, e) not in self.extras_seen}
        if not todo:
            return
        self.extras_seen |= {(key, e) for e in todo}
        self.reached.add(key)
        dist = md.distribution(name)
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in todo):
                continue
            dep = canonicalize_name(req.name)
            if dep in self.leave_out:
                self.entries.add((key, dep))
                continue
            if dep not in self.pins:
                self.problems.append(f"{key} requires {raw!r}: {dep} is not in the lock")
                continue
            if not req.specifier.contains(self.pins[dep], prereleases=True):
                self.problems.append(f"{key} requires {raw!r}: the lock pins {dep}=={self.pins[dep]}")
            try:
                installed = md.version(req.name)
            except md.PackageNotFoundError:
                self.problems.append(f"{dep} (pinned {self.pins[dep]}) is not installed here")
                continue
            if installed != self.pins[dep]:
                self.problems.append(f"{dep} {installed} installed here, the lock pins {self.pins[dep]}")
                continue
            self.visit(req.name, set(req.extras))


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", set()), ("requirements-test.lock", {"test"})])
def test_the_lock_pins_exactly_the_closure_of_pyproject_less_the_unused(lock: str, extras: set[str]) -> None:
    pins = read_lock(lock)
    walk = Walk(pins, unused())
    walk.visit("sajang", extras)
    assert not walk.problems, "\n".join(walk.problems)
    walk.reached.discard(canonicalize_name("sajang"))
    assert not pins.keys() - walk.reached, f"pinned but not needed: {sorted(pins.keys() - walk.reached)}"
    assert walk.entries == ENTRIES  # nothing else of ours needs what the lock leaves out
    assert not pins.keys() & walk.leave_out


def test_the_test_lock_adds_to_the_runtime_lock_and_keeps_the_fuzz_pins() -> None:
    runtime, test = read_lock("requirements.lock"), read_lock("requirements-test.lock")
    assert runtime.items() <= test.items() and "pytest" not in runtime
    own = [Requirement(r) for r in md.distribution("sajang").requires or []]
    for name in ("pytest", "hypothesis"):  # a newer hypothesis with a newer pytest breaks tests/test_api_fuzz.py
        bound = next(r for r in own if r.name == name)
        pin = test[canonicalize_name(name)]
        assert bound.specifier.contains(pin), (name, pin, bound)


def test_the_unused_list_is_what_chromadb_alone_requires() -> None:
    """Where the unused distributions are installed (a resolver's install, before the lock left them out),
    the list is exactly what the walk would reach through them and through nothing else."""
    if not all(_installed(name) for name in ("kubernetes", "onnxruntime", "tokenizers")):
        pytest.skip("the unused distributions are not installed here (an install from the lock)")
    pins = read_lock("requirements-test.lock")
    everything = Walk({**pins, **{k: md.version(k) for k in unused() if _installed(k)}}, set())
    everything.visit("sajang", {"test"})
    assert not everything.problems, "\n".join(everything.problems)
    assert everything.reached - pins.keys() - {"sajang"} == unused()


def _installed(name: str) -> bool:
    try:
        md.distribution(name)
    except md.PackageNotFoundError:
        return False
    return True


def test_readme_ci_and_image_install_the_locks_alone() -> None:
    """The README's two first commands, .ci/run and the Dockerfile: one install, `--no-deps` from a lock."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert first_block[0].startswith("pip install --no-deps -r requirements.lock -e . && sajang demo")
    assert first_block[1].startswith("pip install --no-deps -r requirements-test.lock -e . && python -m pytest")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    installs = [line for text in (ci, dockerfile) for line in text.splitlines() if "pip install" in line]
    assert installs == ["python3 -m pip install -q --no-deps -r requirements-test.lock -e .",
                        " && /opt/venv/bin/pip install --no-deps -r requirements.lock . \\"]
    assert "pip uninstall" not in ci + dockerfile


def test_pip_check_names_only_what_the_lock_leaves_out() -> None:
    """`pip check` after the README's install: chromadb's three requirements, absent on purpose; nothing else
    about a distribution of the lock (lines about what was installed here by hand are not ours)."""
    pins = read_lock("requirements-test.lock")
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=300).stdout
    ours = [line for line in out.splitlines()
            if (m := re.match(r"(\S+) \S+ (requires|has requirement) ", line)) and canonicalize_name(m[1]) in pins]
    for line in ours:
        m = re.fullmatch(r"chromadb \S+ requires (\S+), which is not installed\.", line)
        assert m and canonicalize_name(m[1]) in unused(), line
