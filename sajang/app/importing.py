"""`sajang import KIND FILE`: business data through `sajang.db.importers`, the manual through the knowledge base."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sajang.config import Settings
from sajang.db.errors import DataError
from sajang.db.importers import KINDS, PRESETS, import_file, parse_mapping


def import_kind(settings: Settings, kind: str, path: str | Path, mapping: list[str] | dict[str, str] | None,
                preset: str | None = None, progress: Callable[[str], None] | None = None, *,
                sheet: str | None = None, password: str | None = None) -> dict[str, Any]:
    """Import one file of `kind` in one transaction; raises DataError with `line N: reason` on bad input."""
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise DataError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
    if preset is not None and preset not in PRESETS:
        raise DataError(f"unknown preset {preset!r} (presets: {', '.join(PRESETS)})")
    path = Path(path)
    if kind == "manual":
        if preset is not None:
            raise DataError("--preset applies to orders exports, not to the manual")
        if not path.exists():
            raise DataError(f"{path}: no such file")
        from sajang.knowledge.service import get_knowledge  # the knowledge engineer's area; heavy imports

        kb = get_knowledge(settings)
        fields = parse_mapping(mapping, kind)
        result = kb.import_manual_dir(path) if path.is_dir() else kb.import_manual_file(path, mapping=fields or None)
        return {"kind": kind, "file": str(path), **result}
    from sajang.graphs.common.context import engine_for

    return import_file(engine_for(settings), kind, path, mapping, preset=preset, progress=progress, sheet=sheet,
                       password=password)
