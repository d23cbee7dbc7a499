"""Korean text processing for retrieval: Kiwi content morphemes and section/sentence chunking."""

from __future__ import annotations

import bisect
import itertools
import os
import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from sajang import PACKAGE_DATA

# Content morphemes only: nouns, numerals, roots, verb/adjective stems, foreign words, hanja.
# Particles, endings and suffixes carry no topic and would only add noise to BM25.
_KEEP_TAGS = {"NNG", "NNP", "NR", "SN", "XR", "VV", "VA", "SL", "SH", "MAG"}
# «안 뜯었는데»: the adverb that negates, a twin of the noun in «7일 안에» (within); «못» has no such twin
_NEGATIONS = frozenset({"안"})
# Stems/adverbs so frequent in help text that they match everything.
_STOP = {
    "하", "있", "되", "없", "않", "같", "이", "그", "저", "것", "수", "등", "및", "때", "더", "잘", "좀", "또",
    "the", "a", "an", "of", "to", "in", "is", "are", "and", "or", "for", "on", "my", "i", "you", "it",
    "be", "do", "does", "can", "how", "what", "with", "this", "that", "at", "by", "from", "was", "me",
    "s", "t", "d", "ll", "re", "ve", "m", "u", "ur", "your", "we", "our", "us", "if", "will", "would",
    "could", "should", "there", "any", "im", "whats", "pls", "please", "get", "got", "just", "so",
}
# English: customers' words for what the manual calls otherwise, and a light stemmer, so that "shipping
# cost" meets "delivery fee" and "refunded" meets "refund" in BM25 (Kiwi tags English words SL, whole)
_EN_SYNONYMS = {
    "ship": "deliver", "shipping": "deliver", "shipped": "deliver", "shipment": "deliver", "ships": "deliver",
    "postage": "deliver", "delivery": "deliver", "deliveries": "deliver", "delivered": "deliver",
    "cost": "fee", "costs": "fee", "charge": "fee", "charges": "fee", "charged": "fee", "fees": "fee",
    "package": "parcel", "packages": "parcel", "box": "parcel", "boxes": "parcel",
    "money": "refund", "reimburse": "refund",
    "much": "fee",  # "how much is shipping": a question of price (stop words drop "how")
    "dumpling": "mandu", "dumplings": "mandu",
    "visa": "card", "mastercard": "card", "amex": "card",
}
_EN_SUFFIXES = ("ing", "ed", "es", "s")
# nouns that ask rather than name a topic ("환불은 며칠 걸려요?")
_QUESTION_NOUNS = {"며칠", "얼마", "무엇", "어느"}
_LATIN = re.compile(r"[a-z][a-z0-9]*")
_kiwi_lock = threading.Lock()


class KiwiOnOneThread:
    """The Kiwi methods we call, each run on one thread of its own. Kiwi keeps ~3.5 MB of working memory for
    every thread that ever analysed a text (40 threads of a server's pool: +140 MB RSS under load); the calls
    already take turns on `_kiwi_lock`, so running them all on one thread costs no parallelism."""

    def __init__(self, kiwi: Any) -> None:
        self._kiwi = kiwi
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiwi")
        self._thread_id = self._executor.submit(threading.get_ident).result()
        self._pid = os.getpid()

    def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        # on its own thread (a call from a call), or in a forked child, where that thread does not exist
        if threading.get_ident() == self._thread_id or os.getpid() != self._pid:
            return getattr(self._kiwi, method)(*args, **kwargs)
        return self._executor.submit(getattr(self._kiwi, method), *args, **kwargs).result()

    def tokenize(self, text: str, **options: Any) -> Any:
        if not isinstance(text, str):  # an iterable is analysed lazily, by whoever reads the result
            raise TypeError("KiwiOnOneThread.tokenize takes one text")
        return self._run("tokenize", text, **options)

    def space(self, text: str, **options: Any) -> Any:
        if not isinstance(text, str):
            raise TypeError("KiwiOnOneThread.space takes one text")
        return self._run("space", text, **options)

    def join(self, morphs: Any, **options: Any) -> Any:
        return self._run("join", morphs, **options)


def new_kiwi() -> Any:
    from sajang.memory import kiwi_allocator_defaults

    kiwi_allocator_defaults()  # before kiwipiepy's mimalloc is loaded: ~30 MB less, the same analyses
    from kiwipiepy import Kiwi

    # without the multi-word dictionary (proper nouns of several words: places, works, organisations): 180 MB
    # less of the ~480 MB Kiwi holds; the same analyses, typo corrections and spacing on the 3,733 Korean texts
    # of our manual, evaluation sets, classifier examples and bench wordings
    kiwi = Kiwi(load_multi_dict=False)
    for word in kiwi_words():
        kiwi.add_user_word(word, "NNG")
    return kiwi


KIWI_WORDS_PATH = PACKAGE_DATA / "kiwi_words.txt"


def kiwi_words() -> list[str]:
    """The shop nouns Kiwi is taught (`data/kiwi_words.txt`: «오배송» is one word, not 오 + 배송)."""
    return [w for line in KIWI_WORDS_PATH.read_text(encoding="utf-8").splitlines()
            if not line.startswith("#") for w in line.split()]


_kiwi_in_child: Any = None  # a `kiwi_process.KiwiInChild`, when `load_kiwi_in_child` started one


@lru_cache(maxsize=1)
def _kiwi() -> Any:
    """`KiwiOnOneThread` of this process's Kiwi, or the child's Kiwi when one was started first."""
    if _kiwi_in_child is not None:
        return _kiwi_in_child
    return KiwiOnOneThread(new_kiwi())


def load_kiwi_in_child() -> None:
    """For a one-shot command: Kiwi loads in a child process while this one imports the rest (see
    `kiwi_process`); every analysis of this process goes there. Nothing to do once Kiwi is loaded here."""
    global _kiwi_in_child
    if _kiwi.cache_info().currsize or _kiwi_in_child is not None:
        return
    from .kiwi_process import KiwiInChild

    _kiwi_in_child = KiwiInChild()


def kiwi_analyser() -> tuple[Any, threading.Lock]:
    """The process's one Kiwi (~2 s of CPU to load, ~0.3 GB) and the lock every call on it holds (chat
    normalisation spaces and corrects with the same instance)."""
    return _kiwi(), _kiwi_lock


class Morpheme(NamedTuple):
    """One morpheme of Kiwi's analysis: its form, its tag and where it stands in the analysed text."""

    form: str
    tag: str
    start: int
    len: int


@lru_cache(maxsize=4096)
def analysis(text: str) -> tuple[Morpheme, ...]:
    """Kiwi's plain analysis (no typo model) of `text` exactly as given. Recent texts are remembered: the
    search, the answer's extraction, the conditional check and the order question's product words
    (`intents.noun_runs`) each analyse the same customer message (Kiwi holds the GIL while it analyses)."""
    with _kiwi_lock:
        return tuple(Morpheme(tok.form, tok.tag, tok.start, tok.len) for tok in _kiwi().tokenize(text))


def _becoming_verb(typed: str) -> str | None:
    """«깨지», «꺼지»: the verb of becoming `typed` spells when Kiwi knows it as one verb (its dictionary form), else None
    («써지» is 쓰 + 어지, «뜯어지» 뜯 + 어지)."""
    read = analysis(typed + "다")
    return read[0].form if len(read) == 2 and read[0].tag == "VV" and read[0].form == typed else None


def morphemes(text: str) -> list[tuple[str, str]]:
    """Every morpheme of `text` with its Kiwi tag (endings and particles included), from `analysis`."""
    text = text.strip()
    if not text:
        return []
    out: list[tuple[str, str]] = []
    found = analysis(text)
    skip = 0
    for i, m in enumerate(found):
        if skip:
            skip -= 1
            continue
        # «물건깨져서오면»: typed together, Kiwi may read «깨져» as 깨 + 어 + 지 where it reads «깨져서» alone as the one
        # verb 깨지 (the manual's «깨지거나»): read as that verb where Kiwi knows one (not «써지나요», which is 쓰)
        if m.tag.startswith("VV") and i + 2 < len(found) and found[i + 1].form in ("어", "아") \
                and found[i + 1].tag == "EC" and found[i + 2].form == "지" and found[i + 2].tag == "VX" \
                and (verb := _becoming_verb(text[m.start:found[i + 2].start] + "지")):
            out.append((verb, "VV"))
            skip = 2
            continue
        # «제주살아요 냉동갈비탕 …»: in a sentence Kiwi may read a place and its verb typed together as one
        # unknown noun; alone, the word is read right (제주 + 살 + 어요)
        if m.tag in ("NNG", "NNP") and len(m.form) >= 4 and m.form[-1] in "요여":
            alone = analysis(m.form)
            if len(alone) > 1 and alone[0].tag.startswith("NN") and any(a.tag.startswith("E") for a in alone):
                out.extend((a.form, a.tag) for a in alone)
                continue
        out.append((m.form, m.tag))
    return out


# Korean numerals that multiply the number before them: «5만 원», «3천원», «1만 5천», «백만 원»
_MULTIPLIERS = {"십": 10, "백": 100, "천": 1_000, "만": 10_000, "십만": 100_000, "백만": 1_000_000,
                "천만": 10_000_000, "억": 100_000_000}


def _with_amounts(morphs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The morphemes with every amount written in digits as one digit string, as the manual and the customer
    may write the same amount differently: «5만원», «5만 원» and «50,000원» all become 50000, «3천원» 3000,
    «1.5만원» 15000, «만원» (a multiplier alone, before 원) 10000. Numbers in Hangul words («삼만원», «이십만»)
    and a multiplier standing alone elsewhere («백 하나 더»: a bag) are left as Kiwi read them."""
    out: list[tuple[str, str]] = []
    total: float | None = None
    current: float | None = None
    for i, (form, tag) in enumerate([*morphs, ("", "END")]):
        if tag == "SN" and re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?", form):
            if current is not None:  # two numbers in a row («2 6» of «2~6»): the first stands alone
                out.append((_digits((total or 0) + current), "SN"))
                total = None
            current = float(form.replace(",", ""))
            continue
        after_digits = current is not None or total is not None
        before_won = i + 1 < len(morphs) and morphs[i + 1][0] == "원"
        if tag == "NR" and form in _MULTIPLIERS and (after_digits or before_won) \
                and not (out and out[-1][1] == "NR" and not after_digits):
            part = (current if current is not None else 1) * _MULTIPLIERS[form]
            if total is not None and part >= _MULTIPLIERS["만"] and total < part:
                total *= _MULTIPLIERS[form]  # «십만» written apart: ten, then 만 over it
            else:
                total = (total or 0) + part
            current = None
            continue
        if after_digits:
            out.append((_digits((total or 0) + (current or 0)), "SN"))
            total = current = None
        if tag != "END":
            out.append((form, tag))
    return out


def _digits(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def tokenize(text: str, negations: bool = True) -> list[str]:
    """Lower-cased content morphemes of `text` (Korean via Kiwi; Latin words kept whole; numbers as digits:
    «5만 원» and «50,000원» are both 50000); with `negations` False, the adverb «안» (not) is written «안:not», a
    word apart from the noun «안» (within) — what picks a sentence of an article: «안 뜯었는데» is no «7일 안에»,
    «조회가 안 돼요» is «조회가 안 될 때». The search index keeps one «안», the signal its ranking was fitted with."""
    out: list[str] = []
    for form, full_tag in _with_amounts(morphemes(text)):
        tag = full_tag.split("-")[0]  # Kiwi marks irregular conjugations as VV-I etc.
        if tag not in _KEEP_TAGS:
            continue
        form = form.lower()
        if tag == "SL":
            out.extend(english_stem(w) for w in _LATIN.findall(form) if w not in _STOP)
            continue
        if form in _STOP:
            continue
        if not negations and tag == "MAG" and form in _NEGATIONS:
            out.append(f"{form}:not")
            continue
        mixed = _LATIN_THEN_HANGUL.fullmatch(form)
        if mixed:  # Kiwi keeps «CJ대한통운» whole before 입니다, splits it before a particle: always split
            out.extend((english_stem(mixed.group(1)), mixed.group(2)))
            continue
        out.append(form)
    return out


_LATIN_THEN_HANGUL = re.compile(r"([a-z]+)([가-힣]+)")


def english_stem(word: str) -> str:
    """The BM25 form of an English word: the manual's word for a customer's synonym, else the word without
    a plural or -ing/-ed ending (never below four letters: "news", "bus" stay)."""
    if word in _EN_SYNONYMS:
        return _EN_SYNONYMS[word]
    for suffix in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


_NOUN_TAGS = {"NNG", "NNP", "XR"}  # XR: 단순(하다)
_ALL_HANGUL = re.compile(r"[가-힣]+")


def compound_words(texts: Iterable[str]) -> set[str]:
    """The compounds a shop's texts write: a word starting with two nouns or more («밀키트는» → 밀키트,
    «부대찌개»), or a word of nouns only and the nouns starting the next word («단순 변심» → 단순변심), at
    least three syllables, Hangul only. Customers type them without spaces; the spacing model alone splits
    some of them («밀 키트»)."""
    kiwi, lock = kiwi_analyser()
    out: set[str] = set()
    for text in texts:
        spans = [m.span() for m in re.finditer(r"\S+", text)]
        if not spans:
            continue
        with lock:
            tokens = kiwi.tokenize(text)
        starts = [a for a, _b in spans]
        lead = [""] * len(spans)  # the nouns a word starts with
        nouns_only = [True] * len(spans)
        for tok in tokens:
            w = bisect.bisect_right(starts, tok.start) - 1
            if w < 0:
                continue
            tag = tok.tag.split("-")[0]
            if tag in ("SSO", "SSC", "SW", "SO") and not lead[w]:
                continue  # an opening bracket or a symbol before the word
            if tag in _NOUN_TAGS and nouns_only[w]:
                lead[w] += tok.form
            else:
                nouns_only[w] = False
        for i, nouns in enumerate(lead):
            if len(nouns) >= 3 and _ALL_HANGUL.fullmatch(nouns):
                out.add(nouns)
            if nouns and nouns_only[i] and i + 1 < len(lead) and lead[i + 1]:
                pair = nouns + lead[i + 1]
                if len(pair) >= 4 and _ALL_HANGUL.fullmatch(pair) and spans[i + 1][0] - spans[i][1] == 1:
                    out.add(pair)
    return out


HANGUL = re.compile(r"[가-힣]")  # a Hangul syllable
LATIN_LETTER = re.compile(r"[A-Za-z]")


def text_language(text: str) -> str:
    """"en" for a text written in English (under 5 % of its letters Hangul), else "ko"."""
    hangul = len(HANGUL.findall(text))
    return "en" if hangul < 0.05 * max(1, len(LATIN_LETTER.findall(text)) + hangul) else "ko"


CHAT_NOUNS_PATH = PACKAGE_DATA / "chat_nouns.txt"


@lru_cache(maxsize=1)
def chat_nouns() -> frozenset[str]:
    """Nouns of everyday conversation that name no shop topic (`data/chat_nouns.txt`: 안녕, 지난번, 엄마…)."""
    words = (w for line in CHAT_NOUNS_PATH.read_text(encoding="utf-8").splitlines()
             if not line.startswith("#") for w in line.split())
    return frozenset(words)


# the commonest Korean family names: a three-syllable proper noun starting with one is most likely a person
_SURNAMES = set("김이박최정강조윤장임한오서신권황안송류전홍고문양손")


# «제주 살아요»: Kiwi now and then reads a verb with its polite ending as a proper noun
_POLITE_ENDING = re.compile(r"(?:[아어해워와봐줘]요|[세에예]요|니다)$")


def topic_nouns(text: str) -> list[str]:
    """The Korean nouns of `text` that could name what it is about: Kiwi NNG / NNP of two syllables or more
    (one is mostly a piece of a compound: 배송료 → 배송 + 료), not everyday conversation (안녕하세요,
    지난번에, 엄마가: `data/chat_nouns.txt`), not question words (며칠, 얼마) and not people's names (a
    proper noun of three syllables after a family name, or before 님 / 씨: 김민지입니다)."""
    skip = chat_nouns()
    morphs = morphemes(text)
    out: list[str] = []
    for i, (form, tag) in enumerate(morphs):
        if tag not in ("NNG", "NNP") or len(form) < 2 or not HANGUL.search(form) or form in skip \
                or form in _QUESTION_NOUNS or _POLITE_ENDING.search(form):
            continue
        if tag == "NNP" and ((len(form) == 3 and form[0] in _SURNAMES)
                             or (i + 1 < len(morphs) and morphs[i + 1][0] in ("님", "씨"))):
            continue
        out.append(form)
    return out


# "안녕하세요, 사장님! …", "Hi, …": the greeting at the start of a message names no topic. A Latin greeting
# must end with punctuation or the line ("Hello Kitty 파우치", "hi-fi" are no greetings).
_GREETING = re.compile(
    r"^\s*(?:(?:(?:안녕(?:\s*하세요|\s*하십니까)?|수고(?:\s*많으)?(?:십니다|세요|하세요|하십니다)|사장님|저기요|여보세요)"
    r"(?![가-힣ㄱ-ㅎㅏ-ㅣA-Za-z0-9-])"
    r"|(?:hi|hello|hey|good\s+(?:morning|afternoon|evening))(?:\s+there)?(?=\s*(?:[,!.?~]|$)))"
    r"[\s,.!?~^…]*)+",
    re.IGNORECASE)
_WORD = re.compile(r"[0-9A-Za-z가-힣]")


def without_greeting(text: str) -> str:
    """`text` without the greeting it opens with (what search and the classifier's vector read); a
    message that is only a greeting ("안녕하세요?", "hello :)") stays as it is."""
    rest = _GREETING.sub("", text, count=1).strip()
    return rest if _WORD.search(rest) else text.strip()


def tokenize_many(texts: list[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]


def with_bigrams(tokens: list[str]) -> list[str]:
    """Morphemes plus pairs of adjacent ones: "배송 지연" / "상품 등록" then match as phrases
    (+1.3 points hit@1 on the FAQ dev split over unigrams alone)."""
    return tokens + [f"{a}_{b}" for a, b in itertools.pairwise(tokens)]


# --- chunking ---------------------------------------------------------------------------------------

MAX_CHUNK_CHARS = 360
_SECTION = re.compile(r"^##+\s+(.*)$", re.MULTILINE)
# Sentence ends: Korean polite/formal endings or ASCII/CJK terminators, then optional space.
_SENT_END = re.compile(r"(?<=[.!?。？！])\s+|(?<=[다요죠까][.!?])(?=\S)|\n+")


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str  # what is embedded and indexed: title + section heading + passage


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_END.split(text) if s and s.strip()]


def _sections(body: str) -> list[tuple[str, str]]:
    """(heading, text) per `##` section; text before the first heading has an empty heading."""
    parts: list[tuple[str, str]] = []
    matches = list(_SECTION.finditer(body))
    if not matches:
        return [("", body)]
    if body[: matches[0].start()].strip():
        parts.append(("", body[: matches[0].start()]))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        parts.append((m.group(1).strip(), body[m.end() : end]))
    return parts


def _pack(sentences: list[str], limit: int) -> list[str]:
    """Greedy packing of sentences into pieces of at most `limit` chars (a longer sentence is cut)."""
    pieces: list[str] = []
    current = ""
    for sent in sentences:
        while len(sent) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sent[:limit])
            sent = sent[limit:]
        if current and len(current) + 1 + len(sent) > limit:
            pieces.append(current)
            current = sent
        else:
            current = f"{current} {sent}".strip()
    if current:
        pieces.append(current)
    return pieces


def chunk_article(title: str, body: str, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Split an article on `##` sections, then sentences; every chunk starts with the title (and the
    section heading) so that a passage still says what it is about when it is retrieved alone."""
    title = title.strip()
    chunks: list[str] = []
    for heading, text in _sections(body.strip()):
        prefix = " · ".join(p for p in (title, heading) if p)
        text = re.sub(r"[ \t]+", " ", text).strip()
        if not text:
            if heading:
                chunks.append(prefix)
            continue
        room = max(120, max_chars - len(prefix) - 1)
        for piece in _pack(split_sentences(text), room):
            chunks.append(f"{prefix}\n{piece}" if prefix else piece)
    if not chunks:
        chunks = [title] if title else []
    return [Chunk(i, c) for i, c in enumerate(chunks)]


def lead_sentence(body: str, max_chars: int = 300) -> str:
    """The first sentence of an article's text (headings skipped): help articles and FAQ answers
    restate their topic there, so it is embedded as one more short vector (role `lead`)."""
    text = _SECTION.sub("", body)
    for sent in split_sentences(text):
        sent = re.sub(r"[ \t]+", " ", sent).strip()
        if sent:
            return sent[:max_chars]
    return ""


def best_passage(chunk_text: str, title: str) -> str:
    """The chunk without its title prefix line (what an extractive answer quotes)."""
    first, _, rest = chunk_text.partition("\n")
    if rest and first.startswith(title):
        return rest.strip()
    return chunk_text.strip()
