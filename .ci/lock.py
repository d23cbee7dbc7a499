"""Print the pinned closure of sajang[test] as installed in this environment.

    python .ci/lock.py > requirements.lock

Only what the project needs (its dependencies and theirs, with the extras asked for) is pinned, so
packages that happen to be installed beside it stay out of the lock.
"""

from importlib.metadata import PackageNotFoundError, distribution

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def closure(name: str, extras: set[str], pinned: dict[str, str]) -> None:
    try:
        dist = distribution(name)
    except PackageNotFoundError:  # an optional dependency for another platform
        return
    pinned[canonicalize_name(name)] = dist.version
    for raw in dist.requires or []:
        req = Requirement(raw)
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            continue
        if canonicalize_name(req.name) in pinned and not req.extras:
            continue
        closure(req.name, set(req.extras), pinned)


def main() -> None:
    pinned: dict[str, str] = {}
    closure("sajang", {"test"}, pinned)
    pinned.pop("sajang", None)
    print("# Pinned closure of sajang[test] (Python 3.11, Linux x86_64); regenerate: python .ci/lock.py > requirements.lock")
    for key in sorted(pinned):
        print(f"{key}=={pinned[key]}")


if __name__ == "__main__":
    main()
