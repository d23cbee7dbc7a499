"""Open a seller's file as a header and a stream of records: CSV/TSV, .xlsx (also password-protected), JSON, JSONL.

CSV is decoded without guessing blindly: a byte-order mark says UTF-8 or UTF-16; a file without one is
checked as UTF-8 and then CP949 (which covers EUC-KR, what Korean Excel writes) in a pass over the bytes
that keeps nothing, so a 50 MB file is never held in memory; records are then read one at a time.
A record cut short (fewer cells than the header, or a quote left open at the end of the file, as a
download that stopped mid-way leaves it) is an error with its line, never a row padded with blanks.

.xlsx is read with openpyxl in read-only mode (rows streamed from the zip, not the whole sheet built);
an encrypted workbook (what SmartStore's order download gives when the seller sets a password) is an OLE
file that msoffcrypto-tool decrypts in memory with `--password`. Cell values arrive typed: whole numbers
as int (an order number stored as a number must not become "2026110112345.0"), dates as ISO text.

Records are `(line, label, {column: value})`; the line is the physical line (CSV) or sheet row (.xlsx)
where the record starts, the label is what an error message puts in front of its reason.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import msoffcrypto
import openpyxl
from msoffcrypto.exceptions import DecryptionError, FileFormatError, InvalidKeyError

from .errors import DataError

Record = tuple[int, str, dict[str, Any]]
HeaderTest = Callable[[list[str]], bool]

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
HEADER_SEARCH_ROWS = 10  # exports may put a title or a notice above the header row
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and old .xls are OLE compound files
_READ_CHUNK = 1 << 20


@dataclass
class Table:
    """A file's columns and its records, read lazily; close() releases the file."""

    format: str  # csv | xlsx | json | jsonl
    columns: list[str]
    records: Iterator[Record]
    encoding: str | None = None
    sheet: str | None = None
    path: Path | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self._closers:
            close()
        self._closers.clear()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_table(path: Path, *, sheet: str | None = None, password: str | None = None,
               is_header: HeaderTest | None = None, max_bytes: int | None = None) -> Table:
    """Open `path` by its extension (or its first bytes when the extension says nothing) and read its header.

    `is_header(cells)` picks the header among the first rows of a CSV or sheet (the first row it accepts;
    without a match, the first non-blank row)."""
    table = _open(path, sheet, password, is_header, max_bytes)
    table.path = path
    return table


def _open(path: Path, sheet: str | None, password: str | None, is_header: HeaderTest | None,
          max_bytes: int | None) -> Table:
    _check_file(path, max_bytes)
    with path.open("rb") as f:
        magic = f.read(8)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DataError(f"{path}: an old Excel 97-2003 (.xls) workbook; save it as .xlsx or CSV")
    known_text = suffix in (*TEXT_SUFFIXES, ".json", ".jsonl", ".ndjson")
    if suffix in SPREADSHEET_SUFFIXES or (not known_text and magic.startswith((_ZIP_MAGIC, _OLE_MAGIC))):
        return _open_xlsx(path, magic, sheet, password, is_header)
    if sheet is not None:
        raise DataError(f"--sheet {sheet}: {path.name} is not a workbook (sheets are for .xlsx files)")
    if password is not None:
        raise DataError(f"--password: {path.name} is not a workbook (passwords are for encrypted .xlsx files)")
    encoding = detect_encoding(path)
    fmt = _text_format(path, encoding)
    if fmt == "csv":
        return _open_csv(path, encoding, is_header)
    text = path.read_text(encoding=encoding)  # JSON is parsed whole (it has no records before it is closed)
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    if fmt == "jsonl":
        return _json_table("jsonl", list(_iter_jsonl(text)), encoding)
    return _json_table("json", list(_iter_json(text)), encoding)


def _check_file(path: Path, max_bytes: int | None) -> None:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a file")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: file is empty")
    if max_bytes is not None and size > max_bytes:
        raise DataError(f"{path}: file is {size / 1e6:,.0f} MB, above the {max_bytes // 2**20:,} MiB import limit; "
                        "split it into smaller files")


# --- text: encoding ----------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """utf-8-sig / utf-16 by their BOM; else utf-8 or cp949 if the whole file decodes (checked in chunks)."""
    with path.open("rb") as f:
        head = f.read(8192)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if b"\x00" in head:
            bom_less = _bom_less_utf16(head)
            if bom_less:
                return bom_less
            hint = ""
            if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
                hint = " (it looks like an Excel workbook: give it the .xlsx extension)"
            raise DataError(f"{path}: not a text file (binary content); export CSV, JSON, JSONL or .xlsx{hint}")
        bad_line = _first_undecodable_line(f, "utf-8")
        if bad_line is None:
            return "utf-8"
        if _first_undecodable_line(f, "cp949") is None:  # Korean Excel's CSV: CP949 (a superset of EUC-KR)
            return "cp949"
    raise DataError(f"{path}: line {bad_line}: not UTF-8, UTF-16 or CP949 (EUC-KR) text; save the file as UTF-8 CSV")


def _first_undecodable_line(f: IO[bytes], encoding: str) -> int | None:
    """Decode the whole file chunk by chunk, keeping nothing; the line of the first bad byte, or None."""
    f.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0
    while chunk := f.read(_READ_CHUNK):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return newlines + 1 + _bad_byte_line(chunk, encoding)
        newlines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return newlines + 1
    return None


def _bad_byte_line(chunk: bytes, encoding: str) -> int:
    """Newlines before the first undecodable byte of a chunk (a character split at its start or end aside)."""
    try:
        chunk.decode(encoding)
    except UnicodeDecodeError as exc:
        return chunk.count(b"\n", 0, exc.start)
    return chunk.count(b"\n")


def _bom_less_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII characters (digits, commas, newlines) leave a zero byte beside them."""
    sample = head[: len(head) // 2 * 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > len(odd) // 3 and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > len(even) // 3 and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _text_format(path: Path, encoding: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix in TEXT_SUFFIXES:
        return "csv"
    with path.open(encoding=encoding) as f:
        first_line = ""
        for _ in range(100):  # skip leading blank lines
            first_line = f.readline(1 << 20).strip()
            if first_line:
                break
    if first_line.startswith("["):
        return "json"
    if first_line.startswith("{"):
        try:
            json.loads(first_line)
            return "jsonl"
        except ValueError:
            return "json"
    return "csv"


# --- text: CSV ---------------------------------------------------------------------------------


def _open_csv(path: Path, encoding: str, is_header: HeaderTest | None) -> Table:
    stream = path.open(encoding=encoding, newline="")
    try:
        sample = stream.read(4096)
        stream.seek(0)
        delimiter = "\t" if path.suffix.lower() == ".tsv" or sample.count("\t") > sample.count(",") else ","
        # strict: a quote left open at the end of the file is an error, not a cell that swallows the rest
        rows = _csv_rows(csv.reader(stream, delimiter=delimiter, strict=True))
        found = _find_header(rows, is_header)
        if found is None:
            raise DataError(f"{path}: file is empty")
        line, header, pending = found
        columns = _check_header(header, line, "line")
    except BaseException:
        stream.close()
        raise
    table = Table("csv", columns, _csv_records(itertools.chain(pending, rows), columns), encoding=encoding)
    table._closers.append(stream.close)
    return table


def _csv_rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(start line, cells) of each record; a broken record (quote left open …) is a DataError with its line."""
    prev = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"line {prev + 1}: the record is cut short or badly quoted ({exc}); "
                            "was the file cut off while downloading?") from None
        start, prev = prev + 1, reader.line_num
        yield start, record


def _csv_records(rows: Iterator[tuple[int, list[str]]], columns: list[str]) -> Iterator[Record]:
    width = len(columns)
    for line, record in rows:
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(record) > width and not any(c.strip() for c in record[width:]):
            record = record[:width]  # trailing empty cells (Excel's CSV of a wider used range)
        if len(record) > width:
            raise DataError(f"line {line}: {len(record)} cells but the header has {width} columns")
        if len(record) < width:
            raise DataError(f"line {line}: {len(record)} cells but the header has {width} columns — the row is "
                            "cut short (was the file cut off?)")
        yield line, f"line {line}", dict(zip(columns, record, strict=True))


def _find_header(rows: Iterator[tuple[int, list[Any]]],
                 is_header: HeaderTest | None) -> tuple[int, list[Any], list[tuple[int, list[Any]]]] | None:
    """(line, cells) of the header among the first rows, and the rows read past it that are data.

    Rows above an accepted header (a title, a notice) are dropped; when no row is accepted the first
    non-blank row is the header and the rows read after it are handed back as data."""
    buffered: list[tuple[int, list[Any]]] = []
    for line, cells in rows:
        buffered.append((line, cells))
        texts = [_header_text(c) for c in cells]
        if any(texts) and (is_header is None or is_header(texts)):
            return line, cells, []
        if len(buffered) >= HEADER_SEARCH_ROWS:
            break
    for i, (line, cells) in enumerate(buffered):
        if any(_header_text(c) for c in cells):
            return line, cells, buffered[i + 1:]
    return None


def _header_text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def _check_header(cells: list[Any], line: int, unit: str) -> list[str]:
    header = [_header_text(c) for c in cells]
    while header and not header[-1]:
        header.pop()  # trailing empty header cells (a sheet's used range) are not columns
    if not any(header):
        raise DataError(f"{unit} {line}: empty header")
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise DataError(f"{unit} {line}: duplicate column(s) {', '.join(dupes)}")
    return header


# --- JSON --------------------------------------------------------------------------------------


def _json_table(fmt: str, records: list[Record], encoding: str) -> Table:
    seen: dict[str, None] = {}
    for _line, _label, rec in records:
        for key in rec:
            seen.setdefault(key, None)
    return Table(fmt, list(seen), iter(records), encoding=encoding)


def _iter_json(text: str) -> Iterator[Record]:
    """Elements of a JSON array (or of the one list inside a top-level object, e.g. a saved API answer
    `{"contents": [...]}`) with the line where each starts."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    idx = len(text) - len(text.lstrip())
    if text[idx:idx + 1] == "{":
        try:
            obj = decoder.decode(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {exc.lineno}: invalid JSON ({exc.msg})") from exc
        lists = [k for k, v in obj.items() if isinstance(v, list)] if isinstance(obj, dict) else []
        if len(lists) != 1:
            raise DataError("JSON must be an array of objects (or an object holding one such array)")
        yield from _array_items(text, _member_start(text, idx, lists[0], decoder), decoder, top=False)
        return
    if text[idx:idx + 1] != "[":
        raise DataError("JSON must be an array of objects")
    yield from _array_items(text, idx, decoder, top=True)


_JSON_WS = re.compile(r"\s*")


def _member_start(text: str, idx: int, key: str, decoder: json.JSONDecoder) -> int:
    """Where the value of the top-level object's member `key` starts (the text is valid JSON: decoded)."""
    pos = idx + 1
    while True:
        pos = _JSON_WS.match(text, pos).end()  # type: ignore[union-attr]
        name, pos = decoder.raw_decode(text, pos)
        pos = _JSON_WS.match(text, _JSON_WS.match(text, pos).end() + 1).end()  # type: ignore[union-attr]  # past ":"
        if name == key:
            return pos
        _value, pos = decoder.raw_decode(text, pos)
        pos = _JSON_WS.match(text, pos).end() + 1  # type: ignore[union-attr]  # past ","


def _array_items(text: str, start: int, decoder: json.JSONDecoder, *, top: bool) -> Iterator[Record]:
    """The objects of the array whose "[" is at `start`, each with the line where it starts."""
    pos, line, counted = start + 1, 1 + text.count("\n", 0, start), start
    n = 0
    ws = re.compile(r"[\s,]*")
    while True:
        pos = ws.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= len(text):
            raise DataError("invalid JSON: the array is not closed by ] (was the file cut off?)")
        if text[pos] == "]":
            if top and text[pos + 1:].strip():
                raise DataError(f"line {line + text.count(chr(10), counted, pos)}: unexpected text after the JSON array")
            return
        line += text.count("\n", counted, pos)
        counted = pos
        n += 1
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {exc.lineno} (item {n}): invalid JSON ({exc.msg})") from exc
        if not isinstance(item, dict):
            raise DataError(f"line {line} (item {n}): not a JSON object")
        yield line, f"line {line} (item {n})", item
        pos = end


def _iter_jsonl(text: str) -> Iterator[Record]:
    for i, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {i}: invalid JSON ({exc.msg})") from exc
        if not isinstance(item, dict):
            raise DataError(f"line {i}: not a JSON object")
        yield i, f"line {i}", item


# --- .xlsx -------------------------------------------------------------------------------------


def _decrypt(path: Path, password: str | None) -> IO[bytes]:
    with path.open("rb") as f:
        try:
            office = msoffcrypto.OfficeFile(f)
            encrypted = office.is_encrypted()
        except (FileFormatError, OSError, ValueError) as exc:
            raise DataError(f"{path}: not an .xlsx workbook ({exc})") from None
        if not encrypted:
            raise DataError(f"{path}: an old Excel 97-2003 (.xls) workbook; save it as .xlsx or CSV")
        if not password:
            raise DataError(f"{path}: the workbook is password-protected; give its password with --password")
        plain = io.BytesIO()
        try:
            office.load_key(password=password)
            office.decrypt(plain)
        except (InvalidKeyError, DecryptionError):
            raise DataError(f"{path}: wrong password for this workbook") from None
    plain.seek(0)
    return plain


def _open_xlsx(path: Path, magic: bytes, sheet: str | None, password: str | None,
               is_header: HeaderTest | None) -> Table:
    if not magic.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise DataError(f"{path}: not an .xlsx workbook (export it again from Excel, or as CSV)")
    source: Path | IO[bytes] = _decrypt(path, password) if magic.startswith(_OLE_MAGIC) else path
    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .xlsx workbook, damaged or cut short ({exc})") from None
    try:
        names = workbook.sheetnames
        if sheet is None:
            ws = workbook.worksheets[0]
        elif sheet in names:
            ws = workbook[sheet]
        else:
            raise DataError(f"--sheet {sheet}: no such sheet in {path.name} (sheets: {', '.join(names)})")
        rows = ((n, list(values)) for n, values in enumerate(ws.iter_rows(values_only=True), start=1))
        found = _find_header(rows, is_header)
        if found is None:
            raise DataError(f"{path}: sheet {ws.title!r} is empty")
        line, header, pending = found
        columns = _check_header(header, line, "row")
    except BaseException:
        workbook.close()
        raise
    table = Table("xlsx", columns, _xlsx_records(itertools.chain(pending, rows), columns, ws.title), sheet=ws.title)
    table._closers.append(workbook.close)
    return table


def _xlsx_records(rows: Iterator[tuple[int, list[Any]]], columns: list[str], title: str) -> Iterator[Record]:
    width = len(columns)
    try:
        for n, values in rows:
            cells = [cell_value(v) for v in values]
            if not any(c is not None and str(c).strip() for c in cells):
                continue
            extra = [c for c in cells[width:] if c is not None and str(c).strip()]
            if extra:
                raise DataError(f"row {n}: a value right of the last column ({extra[0]!r}); the header has {width} columns")
            cells += [None] * (width - len(cells))
            yield n, f"row {n}", dict(zip(columns, cells[:width], strict=True))
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"sheet {title!r}: the workbook is damaged or cut short ({exc})") from None


def cell_value(v: Any) -> Any:
    """A typed cell as the importers take it: integral floats as int, dates as ISO text (shop time)."""
    if isinstance(v, bool):
        return str(v).upper()
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date | time):
        return v.isoformat()
    return v
