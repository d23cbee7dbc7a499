"""Inquiry classification: category, urgency and "wants a person".

Offline (default): an embedding classifier over the labelled Korean and English examples shipped in
`sajang/data/intents_train.tsv` (each category scored by the mean of its 3 most similar examples, so
categories with several kinds of questions keep them apart), plus keyword rules for urgency and
explicit requests for a human. The example vectors of the bundled e5 model ship precomputed in
`intents_vectors.npz` (checked against a hash of model + texts; otherwise embedded once and cached
in the `embedding_cache` table).

With a chat model: structured output (`LLMClassification`), with the keyword rules still applied on
top so that a food-safety complaint is never ranked below `urgent`.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from sajang import PACKAGE_DATA
from sajang.config import Settings
from sajang.graphs.inquiry.state import CATEGORIES, URGENCIES
from sajang.knowledge.text import without_greeting

DATA_DIR = PACKAGE_DATA
TRAIN_FILE = DATA_DIR / "intents_train.tsv"
EVAL_KO_FILE = DATA_DIR / "intents_eval_ko.tsv"
VECTORS_FILE = DATA_DIR / "intents_vectors.npz"
TOP_K = 3
TEMPERATURE = 0.02  # e5 cosines live in a narrow band; this spreads them into usable probabilities


def load_examples(path: Path = TRAIN_FILE) -> list[tuple[str, str]]:
    """(category, text) pairs of a `category<TAB>text` file (`#` lines are comments)."""
    out: list[tuple[str, str]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cat, sep, text = line.partition("\t")
        if not sep or cat not in CATEGORIES or not text.strip():
            raise ValueError(f"{path.name} line {n}: expected '<category>\\t<text>' with a known category")
        out.append((cat, text.strip()))
    return out


# --- keyword rules --------------------------------------------------------------------------------

def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.IGNORECASE)


HUMAN_REQUEST = _rx(
    r"상담(원|사|직원)", r"사람(이랑|하고|과|한테|이랑|으로|을|이)?\s*(얘기|이야기|말|연결|상담|불러|바꿔)",
    r"직원(분)?(이랑|하고|과|한테)?\s*(연결|통화|얘기|바꿔|상담)", r"담당자", r"매니저(님)?\s*(연결|바꿔)",
    r"전화\s*(상담|연결|통화)", r"통화\s*(하고|가능|원)", r"(챗)?봇\s*말고", r"연결\s*해\s*(주|줘)",
    r"\b(human|real person|live agent|representative|operator)\b", r"\b(speak|talk)\s+(to|with)\s+(a|an|some|your)",
    r"\bnot?\s+(want\s+to\s+)?(talk|chat)\w*\s+(to|with)\s+a\s+bot\b", r"\b(an?|human|support)\s+agent\b",
)
URGENT = _rx(
    # food safety
    r"상했|상한|상해|쉰\s*내|썩|변질|곰팡이|이물질|벌레|배탈|식중독|토했|구토|설사|두드러기|알레르기\s*반응|병원|응급",
    # legal threats / authorities
    r"소비자\s*(원|보호원|센터)|고소|소송|고발|신고(하|할|했)|변호사|공정위|경찰",
    # repeated complaint
    r"몇\s*번째|세\s*번째|여러\s*번|벌써\s*(두|세)\s*번|또\s*(이러|이런|그러)|아직도\s*(답|연락|처리)|계속\s*(같은|똑같)",
    r"spoil|rotten|mou?ld|food poisoning|got sick|vomit|hospital|allergic reaction|insect|\bbugs?\b|foreign object",
    r"lawyer|\bsue\b|lawsuit|legal action|consumer (agency|protection)|third time|again and again|still no (reply|answer)",
)
HIGH = _rx(
    r"파손|깨져|깨졌|깨짐|터져|터졌|새서|샜|녹아|녹았|찌그러|누락|빠져\s*(있|서|왔)|불량|고장|망가|오배송|다른\s*(게|상품이)\s*왔",
    r"급해|급합니다|급하게|당장|오늘\s*(꼭|까지|안에)|빨리|화가|화나|짜증|어이\s*없|최악|실망",
    r"broken|damaged|leak|missing|defective|crushed|melted|wrong item|urgent|asap|right now|angry|terrible|worst",
    r"unacceptable|disappointed",
)
LOW_CATEGORIES = {"product", "stock", "other", "coupon_points"}


def rule_urgency(text: str, category: str) -> str:
    """Urgency from keywords and category: urgent > high > normal > low."""
    if URGENT.search(text):
        return "urgent"
    if HIGH.search(text) or category == "damage_defect":
        return "high"
    return "low" if category in LOW_CATEGORIES else "normal"


def wants_human(text: str) -> bool:
    return bool(HUMAN_REQUEST.search(text))


def max_urgency(a: str, b: str) -> str:
    return a if URGENCIES.index(a) >= URGENCIES.index(b) else b


# --- result ---------------------------------------------------------------------------------------

@dataclass
class Classification:
    category: str
    urgency: str
    wants_human: bool
    confidence: float
    method: str  # embedding | llm
    scores: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LLMClassification(BaseModel):
    """What the chat model returns for one customer message."""

    category: Literal["delivery", "exchange", "return_refund", "cancel", "damage_defect", "stock", "product",
                      "payment", "coupon_points", "human", "other"] = Field(
        description="the inquiry category id")
    urgency: Literal["low", "normal", "high", "urgent"] = Field(
        description="urgent: damage with food-safety risk, repeated complaint or legal threat")
    wants_human: bool = Field(description="the customer explicitly asks for a person")


# --- embedding classifier -------------------------------------------------------------------------

def _examples_key(model_name: str, texts: list[str]) -> str:
    h = hashlib.sha256(model_name.encode())
    for t in texts:
        h.update(b"\x00" + t.encode())
    return h.hexdigest()


class EmbeddingClassifier:
    """kNN-style classifier over the example vectors (cosine, mean of top-k per category)."""

    def __init__(self, settings: Settings, examples: list[tuple[str, str]] | None = None) -> None:
        from sajang.knowledge.embeddings import get_embeddings

        self.settings = settings
        self.embeddings = get_embeddings(settings)
        self.examples = examples if examples is not None else load_examples()
        self.labels = np.array([CATEGORIES.index(c) for c, _ in self.examples], dtype=np.int64)
        self.matrix = self._example_vectors([t for _, t in self.examples])

    def _example_vectors(self, texts: list[str]) -> np.ndarray:
        key = _examples_key(self.embeddings.model_name, texts)
        if VECTORS_FILE.exists():
            with np.load(VECTORS_FILE) as data:
                if str(data["key"]) == key:
                    return data["vectors"].astype(np.float32)
        return self.embeddings.embed(texts, "query")

    def save_vectors(self) -> Path:
        """Write the shipped vectors file (run after editing the examples)."""
        texts = [t for _, t in self.examples]
        key = _examples_key(self.embeddings.model_name, texts)
        np.savez_compressed(VECTORS_FILE, key=np.array(key), vectors=self.matrix.astype(np.float16))
        return VECTORS_FILE

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """(n, n_categories) category scores of query vectors."""
        sims = vectors @ self.matrix.T  # (n, m)
        out = np.full((vectors.shape[0], len(CATEGORIES)), -1.0, dtype=np.float32)
        for c in range(len(CATEGORIES)):
            cols = sims[:, self.labels == c]
            if cols.shape[1] == 0:
                continue
            k = min(TOP_K, cols.shape[1])
            top = -np.sort(-cols, axis=1)[:, :k]
            out[:, c] = top.mean(axis=1)
        return out

    def classify_vectors(self, texts: list[str], vectors: np.ndarray) -> list[Classification]:
        scores = self.scores(vectors)
        results: list[Classification] = []
        for text, row in zip(texts, scores, strict=True):
            probs = np.exp((row - row.max()) / TEMPERATURE)
            probs /= probs.sum()
            best = int(row.argmax())
            category = CATEGORIES[best]
            human = wants_human(text)
            if human and category == "other":
                category = "human"  # "can I talk to someone?" is a request, not chit-chat
            results.append(Classification(
                # a question *about* reaching us (hours, phone) is answered from the manual; only an explicit
                # request hands the conversation to a person before the bot tries
                category=category, urgency=rule_urgency(text, category), wants_human=human,
                confidence=round(float(probs[best]), 4), method="embedding",
                scores={CATEGORIES[i]: round(float(row[i]), 4) for i in np.argsort(-row)[:3]}))
        return results

    def classify_many(self, texts: list[str]) -> list[Classification]:
        texts = [t.strip() for t in texts]
        if not texts:
            return []
        # the greeting says nothing of the category; the keyword rules below still read the whole text
        vectors = self.embeddings.embed([without_greeting(t) for t in texts], "query", persist=False)
        return self.classify_vectors(texts, vectors)

    def classify(self, text: str) -> Classification:
        return self.classify_many([text])[0]


_classifiers: dict[str, EmbeddingClassifier] = {}
_lock = threading.Lock()


def get_classifier(settings: Settings) -> EmbeddingClassifier:
    key = f"{settings.embeddings}|{settings.embedding_model}|{settings.embedding_base_url}|" \
          f"{settings.resolved_database_url}"
    with _lock:
        clf = _classifiers.get(key)
        if clf is None:
            clf = _classifiers[key] = EmbeddingClassifier(settings)
    return clf


def classify_llm(settings: Settings, text: str, config: Any = None) -> Classification:
    """Structured-output classification by the chat model; keyword rules can only raise urgency."""
    from sajang.graphs.common.llm import structured
    from sajang.graphs.inquiry.prompts import classify_messages

    out: LLMClassification = structured(settings, LLMClassification).invoke(classify_messages(text), config)
    human = out.wants_human or wants_human(text)
    urgency = max_urgency(out.urgency, rule_urgency(text, out.category))
    return Classification(category=out.category, urgency=urgency, wants_human=human, confidence=1.0,
                          method="llm")


def classify_text(settings: Settings, text: str, config: Any = None) -> Classification:
    """The configured classifier: the chat model when one is set, else the embedding classifier."""
    if settings.llm_enabled:
        return classify_llm(settings, text, config)
    return get_classifier(settings).classify(text)


if __name__ == "__main__":  # python -m sajang.graphs.inquiry.classifier  → rebuild the shipped vectors
    from sajang.config import get_settings

    print(get_classifier(get_settings()).save_vectors())
