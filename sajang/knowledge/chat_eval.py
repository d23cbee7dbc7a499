"""Chat-style questions against the shop's own manual: top-1 article accuracy with and without chat
normalisation, and the confidence model fitted on them (the answer gate's calibration).

The dev set (`data/chat_retrieval_dev.jsonl`, written for Sajang) holds one customer message per line as
shoppers type on a phone (no spacing, typos, slang, ㅠㅠ) with the manual article that answers it (`article`,
null when the manual does not answer it) and its split: `fit` (the confidence model is fitted on these) or
`held_out` (only measured). The manual is indexed into a throw-away database + Chroma dir; vectors come
through the shop DB's embedding cache, so a second run embeds only new texts.

Fitting (`fit_confidence`), as `evaluation._fit_calibration` does for a FAQ corpus: a logistic model of "hit 1
is the right article" over the retrieval features, on the `fit` messages of three kinds: answerable ones as
they are (label: hit 1 right), answerable ones with their article removed from the ranking (label 0: the
manual has no answer) and the unanswerable ones (label 0).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sajang import PACKAGE_DATA
from sajang.config import Settings
from sajang.db.errors import DataError

from .embeddings import get_embeddings
from .evaluation import _calibration_report, fit_logistic
from .fusion import FEATURES, FusionConfig
from .normalize import Lexicon, lexicon_files, load_lexicon, normalize_message
from .service import KnowledgeBase, SearchResult
from .text import without_greeting

CHAT_DEV_PATH = PACKAGE_DATA / "chat_retrieval_dev.jsonl"
MANUAL_DIR = PACKAGE_DATA / "manual"


@dataclass(frozen=True)
class ChatCase:
    text: str
    article: str | None  # None: the manual does not answer it
    split: str  # fit | held_out


def read_chat_cases(path: Path = CHAT_DEV_PATH) -> list[ChatCase]:
    cases: list[ChatCase] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(ChatCase(str(row["q"]), row.get("article") or None, str(row.get("split") or "fit")))
        except (ValueError, KeyError) as exc:
            raise DataError(f"{path}: line {n}: expected {{q, article, split}} ({exc})") from None
    return cases


@contextmanager
def manual_index(settings: Settings, manual_dir: Path = MANUAL_DIR) -> Iterator[KnowledgeBase]:
    """The manual in a throw-away knowledge base (own SQLite file and Chroma dir, the shop's embedding cache)."""
    emb = get_embeddings(settings)
    with tempfile.TemporaryDirectory(prefix="sajang-chat-eval-") as tmp:
        tmp_settings = settings.model_copy(update={
            "data_dir": Path(tmp), "database_url": f"sqlite:///{Path(tmp) / 'eval.db'}", "chroma_url": None})
        kb = KnowledgeBase(tmp_settings, embeddings=emb)
        kb.import_manual_dir(manual_dir)
        try:
            yield kb
        finally:
            kb._store._client.delete_collection(kb.collection_name)


def queries_of(cases: list[ChatCase], normalised: bool, lexicon: Lexicon | None = None) -> list[str]:
    """The text search reads: the message as typed, or as `normalize_message` reads it."""
    if not normalised:
        return [c.text for c in cases]
    return [normalize_message(c.text, lexicon).text for c in cases]


def search_all(kb: KnowledgeBase, queries: list[str], exclude: list[str] | None = None) -> list[SearchResult]:
    """Hybrid search of every query (vectors embedded once in a batch), as the graph searches one message."""
    queries = [without_greeting(q) for q in queries]
    return [res for res, _t in kb.search_many(queries, k=5, modes=["hybrid"], exclude=exclude)["hybrid"]]


def top1_accuracy(cases: list[ChatCase], results: list[SearchResult]) -> dict[str, Any]:
    """Share of answerable messages whose hit 1 is their article, per split and overall."""
    out: dict[str, Any] = {}
    for split in ("fit", "held_out", "all"):
        pairs = [(c, r) for c, r in zip(cases, results, strict=True)
                 if c.article and (split == "all" or c.split == split)]
        right = sum(1 for c, r in pairs if r.hits and r.hits[0].id == c.article)
        out[split] = {"n": len(pairs), "top1": right, "accuracy": round(right / len(pairs), 4) if pairs else 0.0}
    return out


def _features(res: SearchResult) -> list[float]:
    return [float(res.features.get(f, 0.0)) for f in FEATURES]


def fit_confidence(kb: KnowledgeBase, cases: list[ChatCase], queries: list[str],
                   say: Callable[[str], None] = lambda _m: None) -> tuple[FusionConfig, dict[str, Any]]:
    """The confidence model fitted on the `fit` messages (see the module docstring) and its calibration
    report; `kb.fusion` gets the coefficients (not saved: the caller decides)."""
    fit = [(c, q) for c, q in zip(cases, queries, strict=True) if c.split == "fit"]
    answerable = [(c, q) for c, q in fit if c.article]
    unanswerable = [q for c, q in fit if not c.article]
    asked = search_all(kb, [q for _c, q in answerable])
    absent = search_all(kb, [q for _c, q in answerable], exclude=[c.article or "" for c, _q in answerable])
    none = search_all(kb, unanswerable) if unanswerable else []
    x = [_features(r) for r in asked] + [_features(r) for r in absent] + [_features(r) for r in none]
    y = [1.0 if r.hits and r.hits[0].id == c.article else 0.0 for (c, _q), r in zip(answerable, asked, strict=True)]
    y += [0.0] * (len(absent) + len(none))
    xa, ya = np.array(x, dtype=np.float64), np.array(y)
    w = fit_logistic(xa, ya, l2=1.0)
    kb.fusion.coef = [round(float(v), 4) for v in w]
    kb.fusion.fitted_on = (
        f"logistic regression (IRLS, L2 1.0) of 'hit 1 is the right article' on {len(answerable)} chat-style "
        f"messages about the bundled manual (data/chat_retrieval_dev.jsonl, split fit, read through "
        f"normalize_message), the same messages with their article removed from the ranking and "
        f"{len(unanswerable)} messages the manual does not answer (label 0: the gate must hand off)")
    report = _calibration_report(xa, ya, w)
    say(f"confidence model: coef {kb.fusion.coef}, brier {report['brier']}")
    return kb.fusion, report


def shop_lexicon(settings: Settings) -> Lexicon:
    return load_lexicon(lexicon_files(settings.data_dir, settings.chat_lexicon))
