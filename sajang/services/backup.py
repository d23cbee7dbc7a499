"""`sajang backup` / `sajang restore`: one archive with everything a shop would lose with its disk.

The archive (`.tar.gz`) holds `manifest.json`, the database, the chat checkpoints and the data dir's files
that are not derived: attachments, the generated secret key (sessions and signed links keep working) and
the shop's chat lexicon. Search indexes and Chroma are derived: `sajang kb rebuild` after a restore.

- SQLite: `sajang.db` and `checkpoints.sqlite` are copied with SQLite's online backup API, a consistent
  copy while the server keeps writing.
- PostgreSQL (business data and checkpoints in the one database): `pg_dump --format=custom` when the
  client is installed (same major version as the server or newer), restored with `pg_restore --clean`;
  without it, run `pg_dump -Fc "$DATABASE_URL" > sajang.dump` yourself and back up the data dir.

A restore writes into the configured data dir and database; stop the server first.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from sajang import __version__
from sajang.config import Settings
from sajang.db.engine import dispose_all
from sajang.db.types import utcnow
from sajang.errors import SajangError
from sajang.graphs.common.checkpoint import CHECKPOINT_FILE, close_checkpointers

FILES = ("secret_key", "chat_lexicon.tsv")  # single files of the data dir that are not derived
DIRS = ("attachments",)
PG_DUMP_NAME = "database.dump"


class BackupError(SajangError):
    code = "backup_failed"
    status_code = 400


@dataclass
class BackupResult:
    path: str
    database: str
    members: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "database": self.database, "members": len(self.members)}


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: pages copied while writers go on, the result a consistent snapshot."""
    src = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_libpq_url(settings: Settings) -> str:
    url = make_url(settings.resolved_database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run(command: list[str], what: str) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed: {what} needs the PostgreSQL client tools "
                          f"(apt-get install postgresql-client), or run it yourself (README, Backups)")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[:500]}")


def backup(settings: Settings, out: Path) -> BackupResult:
    """Write the archive `out` (refuses to overwrite)."""
    if out.exists():
        raise BackupError(f"{out} exists: choose a new file name")
    data_dir = Path(settings.data_dir)
    kind = "postgresql" if settings.is_postgres else "sqlite"
    members: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if settings.is_postgres:
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={tmp / PG_DUMP_NAME}",
                  _pg_libpq_url(settings)], "a PostgreSQL backup")
            members.append(PG_DUMP_NAME)
        else:
            db_file = Path(make_url(settings.resolved_database_url).database or "")
            if not db_file.is_file():
                raise BackupError(f"no database at {db_file}")
            _sqlite_copy(db_file, tmp / "sajang.db")
            members.append("sajang.db")
            if (data_dir / CHECKPOINT_FILE).is_file():
                _sqlite_copy(data_dir / CHECKPOINT_FILE, tmp / CHECKPOINT_FILE)
                members.append(CHECKPOINT_FILE)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            for name in members:
                tar.add(tmp / name, arcname=name)
            for name in FILES:
                if (data_dir / name).is_file():
                    tar.add(data_dir / name, arcname=f"data/{name}")
                    members.append(f"data/{name}")
            for name in DIRS:
                if (data_dir / name).is_dir():
                    tar.add(data_dir / name, arcname=f"data/{name}")
                    members.append(f"data/{name}/")
            manifest = json.dumps({"sajang": __version__, "database": kind, "created_at": utcnow().isoformat(),
                                   "members": members}, ensure_ascii=False).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
        partial.chmod(0o600)  # the archive holds the secret key and customers' data
        partial.rename(out)
    return BackupResult(str(out), kind, members)


def restore(settings: Settings, archive: Path) -> dict[str, Any]:
    """Put an archive of `backup` back into the configured database and data dir (server stopped)."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    try:
        tar = tarfile.open(archive, "r:gz")  # noqa: SIM115 - closed by the `with` below; a bad file is our error
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive}: not a Sajang backup ({exc})") from None
    with tar, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            manifest = json.load(tar.extractfile("manifest.json") or io.BytesIO(b"{}"))
        except (KeyError, json.JSONDecodeError):
            raise BackupError(f"{archive}: not a Sajang backup (no manifest)") from None
        kind = "postgresql" if settings.is_postgres else "sqlite"
        if manifest.get("database") != kind:
            raise BackupError(f"the backup is of a {manifest.get('database')} database, this shop uses {kind}")
        tar.extractall(tmp, filter="data")  # refuses absolute paths, links out and device files
        dispose_all()  # no pooled connection may write over what is restored
        close_checkpointers()
        data_dir = settings.ensure_data_dir()
        if kind == "postgresql":
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                  f"--dbname={_pg_libpq_url(settings)}", str(tmp / PG_DUMP_NAME)], "a PostgreSQL restore")
        else:
            db_file = Path(make_url(settings.resolved_database_url).database or "")
            db_file.parent.mkdir(parents=True, exist_ok=True)
            _sqlite_copy(tmp / "sajang.db", db_file)
            if (tmp / CHECKPOINT_FILE).is_file():
                _sqlite_copy(tmp / CHECKPOINT_FILE, data_dir / CHECKPOINT_FILE)
        restored_files = 0
        for name in FILES:
            if (tmp / "data" / name).is_file():
                shutil.copy2(tmp / "data" / name, data_dir / name)
                restored_files += 1
        for name in DIRS:
            if (tmp / "data" / name).is_dir():
                shutil.copytree(tmp / "data" / name, data_dir / name, dirs_exist_ok=True)
                restored_files += sum(1 for p in (tmp / "data" / name).rglob("*") if p.is_file())
    return {"restored": str(archive), "database": kind, "created_at": manifest.get("created_at"),
            "files": restored_files}
