"""Chat-style questions against the shop's own manual: top-1 article accuracy with and without chat
normalisation, and the confidence model fitted on them (the answer gate's calibration).

The dev set (`data/chat_retrieval_dev.jsonl`, written for Sajang) holds one customer message per line as
shoppers type on a phone (no spacing, typos, slang, ㅠㅠ) with the manual article that answers it (`article`,
null when the manual does not answer it) and its split: `fit` (the confidence model is fitted on these) or
`held_out` (only measured). The manual is indexed into a throw-away database + Chroma dir; vectors come
through the shop DB's embedding cache, so a second run embeds only new texts.

Fitting (`training_rows`, `fit_rows`), as `evaluation._fit_calibration` does for a FAQ corpus: a logistic model of "hit 1
is the right article" over the retrieval features, on the `fit` messages of three kinds: answerable ones as
they are (label: hit 1 right), answerable ones with their article removed from the ranking (label 0: the
manual has no answer) and the unanswerable ones (label 0).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
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
from .fusion import FEATURES
from .normalize import Lexicon, lexicon_files, load_lexicon, normalize_message
from .service import KnowledgeBase, SearchResult
from .text import without_greeting

CHAT_DEV_PATH = PACKAGE_DATA / "chat_retrieval_dev.jsonl"
CHAT_DEV_EN_PATH = PACKAGE_DATA / "chat_retrieval_dev_en.jsonl"  # English chat about the English articles
MANUAL_DIR = PACKAGE_DATA / "manual"
UNANSWERABLE_WEIGHT = 5
L2 = 0.01  # penalty of the logistic fit (the features are cosines and margins of a few hundredths)


@dataclass(frozen=True)
class ChatCase:
    text: str
    article: str | None  # None: the manual does not answer it
    split: str  # fit | held_out
    also: tuple[str, ...] = ()  # other articles that state the answer as well

    def answered_by(self, article_id: str | None) -> bool:
        return article_id is not None and (article_id == self.article or article_id in self.also)


def read_chat_cases(path: Path = CHAT_DEV_PATH) -> list[ChatCase]:
    cases: list[ChatCase] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(ChatCase(str(row["q"]), row.get("article") or None, str(row.get("split") or "fit"),
                                  tuple(row.get("also") or ())))
        except (ValueError, KeyError) as exc:
            raise DataError(f"{path}: line {n}: expected {{q, article, split}} ({exc})") from None
    return cases


@contextmanager
def manual_index(settings: Settings, manual_dir: Path = MANUAL_DIR, english: bool = False) -> Iterator[KnowledgeBase]:
    """The manual in a throw-away knowledge base (own SQLite file and Chroma dir, the shop's embedding cache):
    the Korean articles, and with `english` their English versions too (searched with language="en", as
    the bot searches an English message)."""
    emb = get_embeddings(settings)
    with tempfile.TemporaryDirectory(prefix="sajang-chat-eval-") as tmp:
        tmp_settings = settings.model_copy(update={
            "data_dir": Path(tmp), "database_url": f"sqlite:///{Path(tmp) / 'eval.db'}", "chroma_url": None})
        kb = KnowledgeBase(tmp_settings, embeddings=emb)
        # the Korean articles only: the dev set is Korean chat, and an English twin (`*.en.md`) of the right
        # article is neither right nor wrong for it
        korean = Path(tmp) / "manual"
        korean.mkdir()
        for path in sorted(Path(manual_dir).glob("*.md")):
            if english or not path.name.endswith(".en.md"):
                (korean / path.name).write_bytes(path.read_bytes())
        kb.import_manual_dir(korean)
        try:
            yield kb
        finally:
            kb._store._client.delete_collection(kb.collection_name)


def queries_of(cases: list[ChatCase], normalised: bool, lexicon: Lexicon | None = None) -> list[str]:
    """The text search reads: the message as typed, or as `normalize_message` reads it."""
    if not normalised:
        return [c.text for c in cases]
    return [normalize_message(c.text, lexicon).text for c in cases]


def search_all(kb: KnowledgeBase, queries: list[str], exclude: list[str] | None = None,
               language: str | None = None) -> list[SearchResult]:
    """Hybrid search of every query (vectors embedded once in a batch), as the graph searches one message."""
    queries = [without_greeting(q) for q in queries]
    found = kb.search_many(queries, k=5, modes=["hybrid"], exclude=exclude, language=language)
    return [res for res, _t in found["hybrid"]]


def top1_accuracy(cases: list[ChatCase], results: list[SearchResult]) -> dict[str, Any]:
    """Share of answerable messages whose hit 1 is their article, per split and overall."""
    out: dict[str, Any] = {}
    for split in ("fit", "held_out", "all"):
        pairs = [(c, r) for c, r in zip(cases, results, strict=True)
                 if c.article and (split == "all" or c.split == split)]
        right = sum(1 for c, r in pairs if r.hits and c.answered_by(r.hits[0].id))
        out[split] = {"n": len(pairs), "top1": right, "accuracy": round(right / len(pairs), 4) if pairs else 0.0}
    return out


def _features(res: SearchResult) -> list[float]:
    return [float(res.features.get(f, 0.0)) for f in FEATURES]


def training_rows(kb: KnowledgeBase, cases: list[ChatCase], queries: list[str]) -> list[tuple[int, list[float], float]]:
    """(case index, features, label) rows of the confidence model from the `fit` messages: answerable ones
    as asked (label: hit 1 right), the same with their article removed from the ranking (label 0) and the
    unanswerable ones (label 0)."""
    fit = [i for i, c in enumerate(cases) if c.split == "fit"]
    answerable = [i for i in fit if cases[i].article]
    unanswerable = [i for i in fit if not cases[i].article]
    asked = search_all(kb, [queries[i] for i in answerable])
    absent = search_all(kb, [queries[i] for i in answerable], exclude=[cases[i].article or "" for i in answerable])
    none = search_all(kb, [queries[i] for i in unanswerable]) if unanswerable else []
    def label(i: int, res: SearchResult) -> float:
        return 1.0 if res.hits and cases[i].answered_by(res.hits[0].id) else 0.0

    rows = [(i, _features(r), label(i, r)) for i, r in zip(answerable, asked, strict=True)]
    rows += [(i, _features(r), label(i, r)) for i, r in zip(answerable, absent, strict=True)]
    # the unanswerable messages are the gate's real negatives (the rows without their article only mimic
    # them): they count UNANSWERABLE_WEIGHT times
    rows += [(i, _features(r), 0.0) for i, r in zip(unanswerable, none, strict=True)] * UNANSWERABLE_WEIGHT
    return rows


def fit_rows(rows: list[tuple[int, list[float], float]]) -> tuple[list[float], dict[str, Any]]:
    """Logistic coefficients (intercept first) of `rows` and the calibration report."""
    x = np.array([f for _i, f, _y in rows], dtype=np.float64)
    y = np.array([label for _i, _f, label in rows])
    w = fit_logistic(x, y, l2=L2)
    return [round(float(v), 4) for v in w], _calibration_report(x, y, w)


def describe_fit(n_answerable: int, n_unanswerable: int) -> str:
    return (f"logistic regression (IRLS, L2 {L2}) of 'hit 1 is the right article' on {n_answerable} chat-style "
            f"messages about the bundled manual (data/chat_retrieval_dev.jsonl, split fit, read through "
            f"normalize_message), the same messages with their article removed from the ranking and "
            f"{n_unanswerable} messages the manual does not answer (label 0: the gate must hand off)")


def shop_lexicon(settings: Settings) -> Lexicon:
    return load_lexicon(lexicon_files(settings.data_dir, settings.chat_lexicon))
