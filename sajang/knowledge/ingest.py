"""Reading CS-manual files into articles `{id, title, body, category, source}`, and reading an article's
body as answer units.

Formats: Markdown (optional front matter `id:` / `title:` / `category:` / `audience:` closed by `---`;
without it the id is the file name and the title the first heading), plain text, JSON (a list of objects,
or `{"articles": [...]}`), JSON Lines, CSV (fields `id`, `body`, optional `title`, `category`,
`audience`) and PDF (`pypdf`, one article per file). Everything is validated before anything is written:
a bad file raises `DataError` naming the file (and line) and the caller writes nothing.

Who may read what (as Channel Talk does): an article for agents only (`audience: agents`) keeps that mark
as its body's first line (`AGENTS_ONLY_MARK`, an HTML comment: the stored row needs no new column and
every copy of the body carries it); a section is for agents when its heading says so (`## [내부] …`,
`## (상담원용) …`, `## Internal: …`) or when it is a playbook's working part (문제 정의, 해결 흐름, 예시
대화, 상담원 멘트 …); the admin's switch per article is the shop setting `manual_audience`. The
customer-facing statements of a playbook (the fee, the rule, the remedy) stay answerable: `answer_units`
marks each unit's audience and rewrites an agent's shorthand («고객 부담», «환불함») as a sentence to
the customer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from sajang.db.engine import named_mutex
from sajang.db.errors import DataError
from sajang.db.queries import save_shop_setting, shop_setting_in

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
    return {"id": meta.get("id") or _slug(path.stem), "title": title, "body": with_audience(body, meta.get("audience")),
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

        art = {"id": field("id"), "title": field("title"), "body": with_audience(field("body"), field("audience")),
               "category": field("category") or None, "_where": f"{path}: {unit} {n}"}
        for required in ("id", "body"):
            if not art[required]:
                col = mapping.get(required, required)
                raise DataError(f"{path}: {unit} {n}: missing required field `{col}`")
        if not art["title"]:
            first = (art["body"] or "").splitlines()[0]
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


# --- audience: customers or agents ----------------------------------------------------------------------

AGENTS_ONLY_MARK = "<!-- audience: agents -->"
_AGENT_AUDIENCES = {"agents", "agent", "internal", "staff", "상담원", "상담원용", "내부", "직원"}
MANUAL_AUDIENCE_SETTING = "manual_audience"  # shop setting: {"agents": [...], "customers": [...]} (article ids)
AUDIENCE_CHOICES = ("agents", "customers", "default")  # the admin's switch; `default`: the front matter again


def with_audience(body: str, audience: str | None) -> str:
    """The body as stored: an article for agents only starts with `AGENTS_ONLY_MARK`."""
    body = body.strip()
    if not body or (audience or "").strip().lower() not in _AGENT_AUDIENCES or body.startswith(AGENTS_ONLY_MARK):
        return body
    return f"{AGENTS_ONLY_MARK}\n{body}"


def is_agents_only(body: str, article_id: str | None = None, overrides: dict[str, Any] | None = None) -> bool:
    """Whether customers must not see this article at all: its front matter said so, or the admin did."""
    if article_id and overrides:
        if article_id in (overrides.get("agents") or ()):
            return True
        if article_id in (overrides.get("customers") or ()):
            return False
    return body.lstrip().startswith(AGENTS_ONLY_MARK)


def audience_overrides_in(conn: Connection) -> dict[str, list[str]]:
    """The admin's audience switch per article (`{"agents": [...], "customers": [...]}`)."""
    saved = shop_setting_in(conn, MANUAL_AUDIENCE_SETTING) or {}
    return {k: [str(x) for x in saved.get(k) or []] for k in ("agents", "customers")}


def set_article_audience(engine: Engine, article_id: str, audience: str, actor: str,
                         also: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Flip one article (and the ids in `also`: its translations) to `agents` (customers never see it) or
    `customers` (the admin's switch; it wins over the article's front matter), or back to its front matter
    (`default`). Read, changed and saved under one lock, so two admins switching two articles at once keep
    both; audited by `save_shop_setting` (unless nothing changed). Returns the overrides now in effect."""
    if audience not in AUDIENCE_CHOICES:
        raise DataError(f"audience must be one of {', '.join(AUDIENCE_CHOICES)}, not {audience!r}")
    ids = [article_id, *[x for x in also if x != article_id]]
    with named_mutex(engine, f"shop_setting:{MANUAL_AUDIENCE_SETTING}"):
        with engine.connect() as conn:
            before = audience_overrides_in(conn)
        current = {k: [x for x in v if k == audience or x not in ids] for k, v in before.items()}
        if audience != "default":
            current[audience].extend(x for x in ids if x not in current[audience])
        if current != before:
            save_shop_setting(engine, MANUAL_AUDIENCE_SETTING, current, actor)
    return current


# --- answer units -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnswerUnit:
    """One answerable piece of an article: a sentence, a list item, a numbered step, a table row (its
    text a sentence naming the columns, its cells kept for a table answer) or a FAQ item (its own
    question and its answer), with the section it stands in."""

    text: str
    section: int
    heading: str
    table: int | None = None  # rows of one table share an id
    key: str = ""  # a table row's first cell ("신용카드"): what the row is about
    kind: str = "sentence"  # sentence | item | step | row | faq | dialogue
    cells: tuple[tuple[str, str], ...] = ()  # a row's (column, value) pairs after the first cell
    question: str = ""  # a FAQ item's own question
    answer: str = ""  # a FAQ item's answer: what is quoted
    audience: str = "customers"  # customers | agents

    @property
    def quote(self) -> str:
        """What a reply quotes of this unit (a FAQ item: its answer, not "question: answer")."""
        return self.answer or self.text


_MD_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_STEP_MARK = re.compile(r"^\s*\d+[.)]\s+")
_FAQ_ITEM = re.compile(r"^(.{4,80}?(?:요|까|나|죠|\?))\s*[:：]\s*(.+)$")
# an English FAQ line often drops its "?": "Can I air-fry without oil: yes, …", "My phone number changed: …"
# (a question word or the customer speaking, three words or more; "Air fryer: 180℃ …" is a list item)
_FAQ_ITEM_EN = re.compile(r"^((?:can|do|does|did|is|are|was|how|what|when|where|why|which|will|should|could|would|"
                          r"i|i'm|i've|my|it|it's|we|we're)\b[^:：]{8,120}?)\s*[:：]\s*(.+)$", re.IGNORECASE)
_SENT_END = re.compile(r"(?<=[.!?。？！])\s+|(?<=[다요죠까][.!?])(?=\S)|\n+")
# a heading that says "agents only" ([내부], (상담원용), Internal:) — the marker is cut from the heading
_INTERNAL_HEADING = re.compile(
    r"^\s*(?:[\[(]\s*(?:내부|내부용|상담원용?|상담원\s*전용|직원용|internal|agents?\s*only|staff\s*only)\s*[\])]\s*"
    r"|(?:internal|agents?\s*only)\s*[:：-]\s*)", re.IGNORECASE)
# the working parts of an agent playbook: how to handle the case, not what the customer is told
_PLAYBOOK_HEADING = re.compile(
    r"문제\s*(?:정의|유형|상황)|해결\s*(?:흐름|절차|단계)|처리\s*(?:흐름|절차|단계)|응대\s*(?:흐름|절차|예시|멘트|"
    r"스크립트|가이드)|상담\s*(?:흐름|절차)|예시\s*대화|대화\s*예시|발화\s*예시|고객\s*발화|상담원\s*(?:멘트|"
    r"스크립트|참고|가이드)|스크립트|^(?:사용\s*)?도구(?:\s*목록)?$|체크\s*리스트|에스컬레이션|내부\s*메모|"
    r"troubleshooting|escalation|resolution\s*flow|agent\s*notes?|sample\s*dialog", re.IGNORECASE)
_DIALOGUE = re.compile(r"^\s*(?:고객|상담원|상담사|직원|매니저|customer|agent|cs)\s*(?:\d+)?\s*[:：]", re.IGNORECASE)
# what only an agent reads: problem codes, tools and internal channels, the team, orders to the agent
_PROBLEM_CODE = re.compile(r"\[\s*[A-Z]{2,}[-_]?[A-Z0-9]*\d[A-Z0-9-]*\s*\]|\b[A-Z]{2,}-(?:\d{2,}|[A-Z]{3,})\b")
_AGENT_TEXT = re.compile(
    r"['‘\"“][^'’\"”]{1,40}['’\"”]\s*(?:도구|툴|tool)|도구\s*(?:를\s*)?(?:실행|호출)|\btool\b|"
    r"[A-Za-z가-힣]+_[A-Za-z가-힣]+|슬랙|#[a-z][\w-]+|시트에|팀장\s*(?:승인|보고|확인\s*후)|팀장만|재무팀|물류팀|VOC|"
    r"어드민|백오피스|관리자\s*페이지|재분류|태그\s*후|로 전환|플로우|"
    r"(?:할|하지\s*말|말)\s*것\.?$|(?:확인|조회|입력|실행|전달|기록|보고|배정)\.?$|한다\.?$",
    re.IGNORECASE)
_CUSTOMER_WORD = re.compile(r"고객(?![님센])")
# an agent's shorthand ending → a sentence to the customer ("환불함" → "환불합니다")
_SHORTHAND = [(re.compile(p), r) for p, r in (
    (r"아님\.?$", "아닙니다."), (r"있음\.?$", "있습니다."), (r"없음\.?$", "없습니다."), (r"됨\.?$", "됩니다."),
    (r"함\.?$", "합니다."), (r"(가능|불가능|불가)\.?$", r"\1합니다."), (r"(\S+)\s+요청\.?$", r"\1 부탁드립니다."),
    (r"(부담|대상|제외|무료|원칙|환불|교환)\.?$", r"\1입니다."))]
_POLITE_END = re.compile(r"(?:다|요|죠|까|니다|세요)\s*[.!?~]*\s*$|[.!?]\s*$(?<=[A-Za-z0-9)][.!?])")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _for_customers(text: str) -> str:
    """A playbook's statement as said to the customer: no problem code, "고객님" for "고객", a polite ending."""
    text = _PROBLEM_CODE.sub("", text).strip(" -–·:")
    text = _CUSTOMER_WORD.sub("고객님", text)
    if _HANGUL_RE.search(text) and not _POLITE_END.search(text):
        for pattern, repl in _SHORTHAND:
            new = pattern.sub(repl, text.rstrip())
            if new != text.rstrip():
                return new
    return text


_HANGUL_RE = re.compile(r"[가-힣]")


def _unit_audience(text: str, section_audience: str, kind: str) -> str:
    if section_audience == "agents" or kind == "dialogue":
        return "agents"
    rest = _PROBLEM_CODE.sub("", text).strip(" -–·:")
    if len(rest) < 6 or _AGENT_TEXT.search(rest):
        return "agents"
    return "customers"


def answer_units(body: str) -> tuple[AnswerUnit, ...]:
    """The article as answerable units, section by section, each with its heading and its audience.

    A Markdown table becomes one unit per row whose text names its columns ("신용카드 — 환불 완료까지
    카드사 승인 취소 3~5영업일") and whose cells keep the table's structure; a list item is one unit (a FAQ
    item "…나요: 아니요. …" keeps its question apart from its answer); prose is split into sentences."""
    units: list[AnswerUnit] = []
    section, heading, table_id, header = 0, "", 0, None
    article_agents = body.lstrip().startswith(AGENTS_ONLY_MARK)
    section_audience = "agents" if article_agents else "customers"
    prose: list[str] = []

    def add(text: str, kind: str, **extra: Any) -> None:
        audience = _unit_audience(text, section_audience, kind)
        if audience == "customers" and kind != "row":
            text = _for_customers(text)
            if "answer" in extra:
                extra["answer"] = _for_customers(extra["answer"])
        units.append(AnswerUnit(text, section, heading, kind=kind, audience=audience, **extra))

    def flush() -> None:
        for sent in (s.strip() for s in _SENT_END.split("\n".join(prose))):
            if len(sent) > 8:
                add(sent, "dialogue" if _DIALOGUE.match(sent) else "sentence")
        prose.clear()

    for line in body.splitlines():
        stripped = line.strip()
        if stripped == AGENTS_ONLY_MARK:
            continue
        if stripped.startswith("|"):
            if _MD_TABLE_RULE.match(stripped.strip("|").strip()) or set(stripped) <= set("|-: "):
                continue  # the |---|---| rule under the header
            cells = _cells(stripped)
            if header is None:
                flush()
                header, table_id = cells, table_id + 1
                continue
            pairs = tuple((h, c) for h, c in zip(header[1:], cells[1:], strict=False) if c)
            described = ", ".join(f"{h} {c}" if h else c for h, c in pairs)
            add(f"{cells[0]} — {described}" if described else cells[0], "row", table=table_id, key=cells[0],
                cells=pairs)
            continue
        header = None
        if _DIALOGUE.match(stripped):  # a line of example dialogue is one unit, whatever its sentences
            flush()
            add(stripped, "dialogue")
            continue
        if stripped.startswith("#"):
            flush()
            section, heading = section + 1, stripped.lstrip("#").strip()
            marked = _INTERNAL_HEADING.match(heading)
            if marked:
                heading = heading[marked.end():].strip()
            section_audience = "agents" if (article_agents or marked or _PLAYBOOK_HEADING.search(heading)) \
                else "customers"
            continue
        if _LIST_MARK.match(line):  # a list item is one unit, even with two sentences ("…나요: 아니요. …")
            flush()
            item = _LIST_MARK.sub("", line).strip()
            if len(item) <= 8:
                continue
            faq = _FAQ_ITEM.match(item) or _FAQ_ITEM_EN.match(item)
            if faq:
                add(item, "faq", question=faq.group(1).strip(), answer=faq.group(2).strip())
            else:
                add(item, "dialogue" if _DIALOGUE.match(item) else ("step" if _STEP_MARK.match(line) else "item"))
        elif stripped:
            prose.append(line)
    flush()
    return tuple(units)
