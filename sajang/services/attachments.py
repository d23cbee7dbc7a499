"""Image attachments of a conversation: checked, stored under the data dir, served only to the right people.

- The type comes from the bytes (magic number, then a full decode with Pillow), never from the name
  or the client's Content-Type; only JPEG, PNG, GIF and WebP are accepted.
- Files are stored as `<data dir>/attachments/<yyyy>/<mm>/<random hex>.<ext>` with mode 0600: the
  customer's file name is kept only as a label in the database and never touches the file system.
- EXIF (with the GPS position), XMP, IPTC and comments are removed before the file is stored.
- Nothing is ever executed or served from that directory by path: `GET /api/v1/attachments/{id}`
  checks who asks (staff, the conversation's own customer token, or a signed link given to that
  customer) and answers with the stored type, `nosniff` and a sandboxing CSP.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Attachment, Conversation
from sajang.db.types import utcnow
from sajang.errors import NotFound, SajangError
from sajang.graphs.common.context import engine_for
from sajang.security import sign_attachment

ALLOWED_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
_PIL_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000  # decompression bombs are refused before decoding
MAX_PER_CONVERSATION = 30


class AttachmentRejected(SajangError):
    code = "attachment_rejected"
    status_code = 415


class AttachmentTooLarge(SajangError):
    code = "attachment_too_large"
    status_code = 413


@dataclass(frozen=True)
class StoredAttachment:
    id: int
    thread_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str

    def as_dict(self, settings: Settings | None = None) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "filename": self.filename, "content_type": self.content_type,
                                  "size": self.size, "uploaded_by": self.uploaded_by}
        if settings is not None:
            out["url"] = signed_url(settings, self.id, self.thread_id)
        return out


def sniff_image_type(data: bytes) -> str | None:
    """The image MIME type from the first bytes, or None when it is not an image we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(data: bytes, max_bytes: int) -> str:
    """The content type of a valid image within the size limit, or an `AttachmentRejected`/`TooLarge`."""
    if len(data) > max_bytes:
        raise AttachmentTooLarge(f"attachment too large: {len(data)} bytes (limit {max_bytes})")
    if not data:
        raise AttachmentRejected("empty file")
    sniffed = sniff_image_type(data)
    if sniffed is None:
        raise AttachmentRejected("only images can be attached (JPEG, PNG, GIF, WebP)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if _PIL_FORMATS.get(img.format or "") != sniffed:
                raise AttachmentRejected("the file's content does not match its image type")
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise AttachmentRejected(f"image too large: {width}×{height} pixels")
            img.verify()  # walks the whole file: a truncated or corrupt image is refused
    except AttachmentRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise AttachmentRejected("the image is damaged or not a real image") from exc
    return sniffed


# What a photo may carry about where and with what it was taken (EXIF holds GPS), dropped on upload.
_METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "photoshop", "comment", "iptc", "Description",
                  "Comment", "Author", "Software")


def strip_metadata(data: bytes) -> bytes:
    """The image without EXIF (GPS, camera, time), XMP, IPTC or text comments; the picture turned upright
    by its EXIF orientation first, so it shows as it did. Bytes without metadata come back untouched; the
    colour profile is kept. A re-encoded JPEG is saved at quality 95."""
    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        carried = [k for k in _METADATA_KEYS if k in img.info] + (["exif"] if len(exif) else [])
        if not carried:
            return data
        frames = getattr(img, "n_frames", 1)
        fmt = img.format or "PNG"
        out = io.BytesIO()
        options: dict[str, object] = {}
        if img.info.get("icc_profile"):
            options["icc_profile"] = img.info["icc_profile"]
        if frames > 1:  # animated GIF/WebP/PNG: every frame, same timing, no metadata
            img.save(out, format=fmt, save_all=True, **options)
        else:
            upright = ImageOps.exif_transpose(img) or img
            if fmt == "JPEG":
                options.update(quality=95, subsampling="keep" if upright is img else 0)
            upright.save(out, format=fmt, **options)
    return out.getvalue()


def clean_filename(name: str | None, ext: str) -> str:
    """A display label: the last path part, printable characters only, at most 100 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip().strip(".")[:100]
    return base or f"image.{ext}"


def save_attachment(settings: Settings, thread_id: str, filename: str | None, data: bytes,
                    uploaded_by: str = "customer") -> StoredAttachment:
    """Check and store one image for the conversation `thread_id`; the DB row and the file, or an error."""
    content_type = check_image(data, settings.max_attachment_bytes)
    data = strip_metadata(data)  # the stored photo keeps no GPS position
    engine = engine_for(settings)
    with session_scope(engine) as s:
        conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == thread_id))
    if conv_id is None:
        raise NotFound("no such conversation")
    ext = ALLOWED_TYPES[content_type]
    now = utcnow()
    rel = Path("attachments") / f"{now:%Y}" / f"{now:%m}" / f"{secrets.token_hex(16)}.{ext}"
    path = settings.ensure_data_dir() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    digest = hashlib.sha256(data).hexdigest()
    label = clean_filename(filename, ext)
    try:
        with session_scope(engine) as s:
            count = s.scalar(select(func.count()).select_from(Attachment)
                             .where(Attachment.conversation_id == conv_id)) or 0
            if count >= MAX_PER_CONVERSATION:
                raise AttachmentRejected(f"at most {MAX_PER_CONVERSATION} attachments per conversation")
            row = Attachment(conversation_id=conv_id, filename=label, content_type=content_type,
                             size=len(data), sha256=digest, path=rel.as_posix(), uploaded_by=uploaded_by)
            s.add(row)
            s.flush()
            att_id = row.id
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StoredAttachment(att_id, thread_id, label, content_type, len(data), digest, uploaded_by)


def get_attachment(settings: Settings, attachment_id: int) -> tuple[StoredAttachment, Path]:
    """The attachment and its file; `NotFound` when either is gone."""
    with session_scope(engine_for(settings)) as s:
        row = s.execute(select(Attachment, Conversation.thread_id)
                        .join(Conversation, Conversation.id == Attachment.conversation_id)
                        .where(Attachment.id == attachment_id)).first()
        if row is None:
            raise NotFound("no such attachment")
        att, thread_id = row
    root = (settings.data_dir / "attachments").resolve()
    path = (settings.data_dir / att.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("no such attachment")
    return StoredAttachment(att.id, thread_id, att.filename, att.content_type, att.size, att.sha256,
                            att.uploaded_by), path


def list_attachments(settings: Settings, thread_id: str) -> list[StoredAttachment]:
    with session_scope(engine_for(settings)) as s:
        rows = s.scalars(select(Attachment).join(Conversation, Conversation.id == Attachment.conversation_id)
                         .where(Conversation.thread_id == thread_id).order_by(Attachment.id)).all()
        return [StoredAttachment(a.id, thread_id, a.filename, a.content_type, a.size, a.sha256, a.uploaded_by)
                for a in rows]


def attachments_for(settings: Settings, thread_id: str, ids: list[int]) -> list[dict[str, object]]:
    """The conversation's own attachments `ids` (in the given order, each once) as a message carries
    them; `NotFound` for an id of another conversation, which looks exactly like a missing one."""
    if not ids:
        return []
    own = {a.id: a for a in list_attachments(settings, thread_id)}
    missing = [i for i in ids if i not in own]
    if missing:
        raise NotFound(f"no such attachment in this conversation: {missing[0]}")
    return [own[i].as_dict(settings) for i in dict.fromkeys(ids)]


def link_to_message(settings: Settings, attachment_ids: list[int], thread_id: str, message_id: int) -> None:
    """Point the attachments at the message that carried them (only those of this conversation)."""
    if not attachment_ids:
        return
    with session_scope(engine_for(settings)) as s:
        conv_id = s.scalar(select(Conversation.id).where(Conversation.thread_id == thread_id))
        for att in s.scalars(select(Attachment).where(Attachment.id.in_(attachment_ids),
                                                      Attachment.conversation_id == conv_id)):
            att.message_id = message_id


def signed_url(settings: Settings, attachment_id: int, thread_id: str) -> str:
    """A link for the conversation's customer (valid 24 h); staff open `/api/v1/attachments/{id}` directly."""
    return f"/api/v1/attachments/{attachment_id}?sig={sign_attachment(settings, attachment_id, thread_id)}"
