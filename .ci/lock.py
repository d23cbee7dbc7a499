"""Write requirements.lock (what `sajang` needs) and requirements-test.lock (what `sajang[test]` needs on top)
from the distributions installed in this environment.

    python .ci/lock.py

The locks are installed with `pip install --no-deps -r requirements.lock -e .` (README), so they are the whole
install: every dependency of pyproject.toml and every requirement of theirs (markers evaluated here, Python
3.11 on Linux x86_64), pinned at the installed version — except what deploy/unused-requirements.txt lists,
which chromadb requires and sajang never imports (the walk does not enter them). tests/test_lock.py checks
that the locks and the installed metadata agree.

To move a pin: in a scratch venv, `grep -h == requirements.lock requirements-test.lock > /tmp/pins.txt`, change
or drop the line there, `pip install -c /tmp/pins.txt -e '.[test]'` (pip's resolver, which also brings in the
unused distributions), then run this script there. (Not `-c requirements-test.lock`: pip reads the `-r` line
of a constraints file as requirements.)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
HEADER = ("# {what} (Python 3.11, Linux x86_64), less deploy/unused-requirements.txt; the whole install:\n"
          "#   pip install --no-deps -r {lock} -e .       (written by python .ci/lock.py)\n")


def unused() -> set[str]:
    text = (REPO / "deploy" / "unused-requirements.txt").read_text(encoding="utf-8")
    return {canonicalize_name(line.split("#", 1)[0].strip()) for line in text.splitlines()
            if line.split("#", 1)[0].strip()}


def closure(name: str, extras: set[str], pinned: dict[str, str], leave_out: set[str]) -> None:
    try:
        dist = distribution(name)
    except PackageNotFoundError:  # an optional dependency for another platform
        return
    pinned[canonicalize_name(name)] = dist.version
    for raw in dist.requires or []:
        req = Requirement(raw)
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            continue
        key = canonicalize_name(req.name)
        if key in leave_out or (key in pinned and not req.extras):
            continue
        closure(req.name, set(req.extras), pinned, leave_out)


def pins(extras: set[str]) -> dict[str, str]:
    pinned: dict[str, str] = {}
    closure("sajang", extras, pinned, unused())
    pinned.pop("sajang", None)
    return pinned


def main() -> None:
    runtime, test = pins(set()), pins({"test"})
    assert runtime.items() <= test.items()
    (REPO / "requirements.lock").write_text(
        HEADER.format(what="Every distribution sajang needs", lock="requirements.lock")
        + "".join(f"{key}=={runtime[key]}\n" for key in sorted(runtime)), encoding="utf-8")
    (REPO / "requirements-test.lock").write_text(
        HEADER.format(what="What sajang[test] needs besides requirements.lock", lock="requirements-test.lock")
        + "-r requirements.lock\n"
        + "".join(f"{key}=={test[key]}\n" for key in sorted(test.keys() - runtime.keys())), encoding="utf-8")


if __name__ == "__main__":
    main()
