"""Reading CS-manual files into articles `{id, title, body, category, source}`.

Formats: Markdown (optional front matter `id:` / `title:` / `category:` closed by `---`; without it the
id is the file name and the title the first heading), plain text, JSON (a list of objects, or
`{"articles": [...]}`), JSON Lines, CSV (fields `id`, `body`, optional `title`, `category`) and PDF
(`pypdf`, one article per file). Everything is validated before anything is written: a bad file
raises `DataError` naming the file (and line) and the caller writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from sajang.db.errors import DataError

MAX_FILE_BYTES = 20 * 1024 * 1024  # a manual file above this is almost surely not a manual
MAX_BODY_CHARS = 200_000  # per article
MAX_ID_CHARS = 128
MAX_TITLE_CHARS = 300
TEXT_EXTS = {".md", ".markdown", ".txt"}
TABLE_EXTS = {".json", ".jsonl", ".ndjson", ".csv"}
SUPPORTED_EXTS = TEXT_EXTS | TABLE_EXTS | {".pdf"}
_FRONT_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(.*)$")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_ID_OK = re.compile(r"^[^\s/\\]+$")


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: empty file")
    if size > MAX_FILE_BYTES:
        raise DataError(f"{path}: file too large ({size:,} bytes; at most {MAX_FILE_BYTES:,})")
    return path.read_bytes()


def _decode_text(path: Path, raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise DataError(f"{path}: binary file (NUL bytes), expected UTF-8 text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not valid UTF-8 text ({exc.reason})") from None
    if not text.strip():
        raise DataError(f"{path}: empty file")
    return text


def _slug(stem: str) -> str:
    return re.sub(r"\s+", "-", stem.strip())


def parse_markdown(path: Path, text: str) -> dict[str, Any]:
    """One article from Markdown (or plain text) with optional front matter."""
    meta: dict[str, str] = {}
    body = text
    lines = text.splitlines()
    start = 1 if lines and lines[0].strip() == "---" else 0
    # Front matter: `key: value` lines from the top (optionally opened by ---), closed by ---.
    if lines and _FRONT_KEY.match(lines[start].strip() if len(lines) > start else ""):
        for i in range(start, len(lines)):
            line = lines[i].strip()
            if line == "---":
                body = "\n".join(lines[i + 1 :])
                break
            m = _FRONT_KEY.match(line)
            if not m:
                if start:
                    raise DataError(f"{path}: line {i + 1}: front matter line is not `key: value`")
                meta = {}  # not front matter after all: a body that starts with "Note: ..."
                break
            meta[m.group(1).lower()] = m.group(2).strip().strip('"').strip("'")
        else:
            if start:
                raise DataError(f"{path}: front matter is not closed by a `---` line")
            meta = {}
    body = body.strip()
    title = meta.get("title", "")
    if not title:
        m = _HEADING.search(body)
        if m:
            title = m.group(1).strip()
            if body.startswith(m.group(0)):  # a leading "# Title" is the title, not body text
                body = body[m.end() :].strip()
        else:
            first = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
            title = first[:80] if first else path.stem
    return {"id": meta.get("id") or _slug(path.stem), "title": title, "body": body,
            "category": meta.get("category") or None}


def _rows_json(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if isinstance(data, dict):
        data = data.get("articles", data.get("items"))
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of articles (or {{\"articles\": [...]}})")
    # Line numbers of list items are not kept by json; report the item number instead.
    return [(i, row) for i, row in enumerate(data, 1)]


def _rows_jsonl(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((n, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {n}: invalid JSON ({exc.msg})") from None
    return rows


def _rows_csv(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise DataError(f"{path}: CSV has no header line")
    return [(reader.line_num, dict(row)) for row in reader]


def _table_articles(path: Path, rows: list[tuple[int, dict[str, Any]]], mapping: dict[str, str] | None,
                    unit: str) -> list[dict[str, Any]]:
    mapping = mapping or {}
    if not rows:
        raise DataError(f"{path}: no articles in file")
    out: list[dict[str, Any]] = []
    for n, row in rows:
        if not isinstance(row, dict):
            raise DataError(f"{path}: {unit} {n}: expected an object with id and body")

        def field(name: str, row: dict[str, Any] = row) -> str:
            value = row.get(mapping.get(name, name))
            return "" if value is None else str(value).strip()

        art = {"id": field("id"), "title": field("title"), "body": field("body"),
               "category": field("category") or None, "_where": f"{path}: {unit} {n}"}
        for required in ("id", "body"):
            if not art[required]:
                col = mapping.get(required, required)
                raise DataError(f"{path}: {unit} {n}: missing required field `{col}`")
        if not art["title"]:
            first = art["body"].splitlines()[0]
            art["title"] = first[:80]
        out.append(art)
    return out


def _pdf_article(path: Path, raw: bytes) -> dict[str, Any]:
    if not raw.startswith(b"%PDF"):
        raise DataError(f"{path}: not a PDF file")
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: unreadable PDF ({exc})") from None
    body = "\n\n".join(p for p in pages if p)
    if not body.strip():
        raise DataError(f"{path}: the PDF has no extractable text (scanned images are not supported)")
    meta_title = ""
    if reader.metadata and reader.metadata.title:
        meta_title = str(reader.metadata.title).strip()
    first = next((ln.strip() for ln in body.splitlines() if ln.strip()), path.stem)
    return {"id": _slug(path.stem), "title": meta_title or first[:80], "body": body, "category": None}


def read_manual_file(path: Path, mapping: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Articles of one file, validated; raises DataError (nothing is written by the caller then)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTS:
        raise DataError(f"{path}: unsupported file type `{ext or path.name}` "
                        f"(use {', '.join(sorted(SUPPORTED_EXTS))})")
    raw = _read_bytes(path)
    src = str(path.resolve())
    if ext == ".pdf":
        arts = [_pdf_article(path, raw)]
    else:
        text = _decode_text(path, raw)
        if ext in TEXT_EXTS:
            arts = [parse_markdown(path, text)]
        elif ext == ".json":
            arts = _table_articles(path, _rows_json(path, text), mapping, "item")
        elif ext in (".jsonl", ".ndjson"):
            arts = _table_articles(path, _rows_jsonl(path, text), mapping, "line")
        else:
            arts = _table_articles(path, _rows_csv(path, text), mapping, "line")
    for art in arts:
        art["source"] = src
        art.setdefault("_where", str(path))
    return validate_articles(arts)


def read_manual_dir(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Articles of every supported file below `path` (hidden files skipped); all or nothing."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: not a directory")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_EXTS
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise DataError(f"{path}: no manual files ({', '.join(sorted(SUPPORTED_EXTS))})")
    articles: list[dict[str, Any]] = []
    for f in files:
        articles.extend(read_manual_file(f))
    return validate_articles(articles), len(files)


def validate_articles(articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalise and check articles; duplicate ids, empty bodies and oversize fields are errors."""
    seen: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for i, art in enumerate(articles, 1):
        where = art.get("_where") or f"article {i}"
        aid = str(art.get("id") or "").strip()
        body = str(art.get("body") or "").strip()
        # An explicit empty title stays empty (an evaluation corpus of bare answers); missing → id.
        title = str(art["title"] if art.get("title") is not None else aid).strip()
        category = (str(art["category"]).strip() or None) if art.get("category") else None
        if not aid:
            raise DataError(f"{where}: missing article id")
        if len(aid) > MAX_ID_CHARS or not _ID_OK.match(aid):
            raise DataError(f"{where}: bad article id {aid[:40]!r} (no spaces or slashes, at most "
                            f"{MAX_ID_CHARS} chars)")
        if not body:
            raise DataError(f"{where}: article {aid!r} has an empty body")
        if len(body) > MAX_BODY_CHARS:
            raise DataError(f"{where}: article {aid!r} is too long ({len(body):,} chars; at most "
                            f"{MAX_BODY_CHARS:,}); split it into several articles")
        if aid in seen:
            raise DataError(f"{where}: duplicate article id {aid!r} (also in {seen[aid]})")
        seen[aid] = where
        out.append({"id": aid, "title": title[:MAX_TITLE_CHARS], "body": body, "category": category,
                    "source": art.get("source"), "_where": where})
    return out
