"""Chat Korean as customers type it on a phone, read into the words the manual uses.

`normalize_for_shop` is called once per customer message (the inquiry graph's classify node); its `text` is
what the classifier and the search read, the customer's own text is what is stored and shown. Steps:

1. the shop's slang lexicon (`data/chat_lexicon.tsv`, extended by `<data dir>/chat_lexicon.tsv` or the file
   `SAJANG_CHAT_LEXICON` names): 에프 → 에어프라이어, 택배비 → 배송비, 어케 → 어떻게, 카톡 → 카카오톡 …;
2. emoticons, laughter and shouting (ㅠㅠ, ㅋㅋ, ㅡㅡ, ;;, !!!, 😡) leave the text and become the `mood`
   (frustrated / neutral / happy): a feeling, not a word to search for;
3. spacing restored by Kiwi (`Kiwi.space`) in words run together ("배송비얼마예요" → "배송비 얼마예요");
   a message already spaced keeps its spacing;
4. typos corrected by Kiwi's typo model (`typos="basic_with_continual"`: ㅐ/ㅔ, 잇/있, 언재/언제, 바다요/받아요)
   where the corrected reading is cheaper than the literal one.

A clean message keeps its spacing and spelling, only the lexicon's words change (the classifier's examples
and the manual are clean text: Kiwi would re-space them, "만두" → "만 두"). Everything
runs on the Kiwi instance the search already loaded: no start-up cost of its own, ~1 ms a message.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from sajang import PACKAGE_DATA

from .text import kiwi_analyser

Mood = Literal["frustrated", "neutral", "happy"]
LEXICON_PATH = PACKAGE_DATA / "chat_lexicon.tsv"
SHOP_LEXICON_NAME = "chat_lexicon.tsv"  # a shop's own entries, in its data dir
TYPO_MODEL = "basic_with_continual"
# Kiwi's default (2.5) also rewrites rare but correct words; 1.5 keeps the one-jamo slips chat is full of
TYPO_COST_THRESHOLD = 1.5
# a run of Hangul this long without a space is words typed together ("교환하려면어떻게해야돼요"); shorter
# runs are one word with its particles and endings ("배송비는", "취소됐나요")
UNSPACED_RUN = 6

_FRUSTRATED = re.compile(
    r"[ㅠㅜ]|ㅡ\s*ㅡ|-_-|;;|!{2,}|\?{3,}|[😡😠🤬😤😭😢😞😩😫💢👎]"
    r"|짜증|화나|화가\s*나|열\s*받|답답|어이\s*없|최악|장난\s*(해|하|치)|너무\s*(느려|늦|하)|언제까지\s*기다",
)
_HAPPY = re.compile(r"ㅋ{2,}|ㅎ{2,}|\^\^|\^_\^|[😊😄😀😁🙂😍🥰👍❤♥]|:\)")
# what leaves the searched text: jamo runs (ㅠㅠ, ㅋㅋ, ㅡㅡ), emoji and pictographs, repeated punctuation
_JAMO_RUN = re.compile(r"[ㄱ-ㅎㅏ-ㅣ]+")
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D]+")
_EMOTICON = re.compile(r"\^\^|\^_\^|-_-|:\)|:\(|;;+|~{2,}|…+|\.{2,}")
_REPEATED_MARK = re.compile(r"([!?])[!?]+")
_SPACES = re.compile(r"\s+")
_HANGUL_RUN = re.compile(rf"[가-힣]{{{UNSPACED_RUN},}}")


@dataclass(frozen=True)
class NormalizedMessage:
    text: str  # what classify and retrieve read
    mood: Mood
    changes: tuple[str, ...] = field(default=())  # what was changed, for the agent and the evaluation


# --- lexicon ----------------------------------------------------------------------------------------

def read_lexicon(path: Path) -> dict[str, str]:
    """`slang<TAB>standard` lines of a lexicon file (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        slang, sep, standard = line.partition("\t")
        slang, standard = slang.strip(), standard.strip()
        if not sep or not slang or not standard:
            raise ValueError(f"{path}: line {n}: expected 'slang<TAB>standard'")
        if len(slang.replace(" ", "")) < 2:
            raise ValueError(f"{path}: line {n}: '{slang}' is too short to replace safely (two syllables or more)")
        out[slang] = standard
    return out


class Lexicon:
    """Slang → standard, longest entry first; a space inside an entry matches any spacing or none."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = dict(entries)
        self._by_key = {self._key(k): v for k, v in self.entries.items()}
        alternatives = sorted(self.entries, key=lambda k: -len(self._key(k)))
        pattern = "|".join(r"\s*".join(re.escape(part) for part in k.split()) for k in alternatives)
        self._pattern = re.compile(pattern) if pattern else None
        # the words it writes, kept whole when spacing is restored (longest first)
        self.words = frozenset(w for v in self.entries.values() for w in v.split() if len(w) >= 3)
        self.protected = whole_words_pattern(self.words)

    @staticmethod
    def _key(slang: str) -> str:
        return "".join(slang.split())

    def apply(self, text: str) -> tuple[str, list[str]]:
        """`text` with every entry replaced (the particle after it agreeing with the new word: 포인트가 →
        적립금이), and the replacements made ("에프→에어프라이어")."""
        if self._pattern is None:
            return text, []
        changes: list[str] = []
        parts: list[str] = []
        pos = 0
        for m in self._pattern.finditer(text):
            standard = self._by_key[self._key(m.group(0))]
            parts.append(text[pos:m.start()])
            parts.append(standard)
            pos = m.end()
            if standard != m.group(0):
                changes.append(f"{m.group(0)}→{standard}")
                particle = _PARTICLE.match(text, pos)
                if particle:
                    parts.append(particle_after(standard, particle.group(0)))
                    pos = particle.end()
        parts.append(text[pos:])
        return "".join(parts), changes


# particles whose form depends on the last syllable of the word before them
_PARTICLE_FORMS = {"이": ("이", "가"), "가": ("이", "가"), "은": ("은", "는"), "는": ("은", "는"),
                   "을": ("을", "를"), "를": ("을", "를"), "과": ("과", "와"), "와": ("과", "와"),
                   "으로": ("으로", "로"), "로": ("으로", "로"), "이에요": ("이에요", "예요"), "예요": ("이에요", "예요")}
_PARTICLE = re.compile(r"(이에요|예요|으로|이|가|은|는|을|를|과|와|로)(?![가-힣])|(이에요|예요|으로)")


# every syllable ending in ㄹ (옮길, 맡길, 보낼 …): the stem a «-ㄹ 수 있어요» question is built on
RIEUL_FINAL = "".join(chr(code) for code in range(0xAC00, 0xD7A4) if (code - 0xAC00) % 28 == 8)


def particle_after(word: str, particle: str) -> str:
    """`particle` in the form `word` takes: 이/은/을/과/으로/이에요 after a final consonant (으로: not after ㄹ),
    가/는/를/와/로/예요 after a vowel."""
    forms = _PARTICLE_FORMS.get(particle)
    last = word[-1:] if word else ""
    if forms is None or not ("가" <= last <= "힣"):
        return particle
    final = (ord(last) - 0xAC00) % 28
    if particle in ("으로", "로"):
        return forms[1] if final in (0, 8) else forms[0]  # 8 = ㄹ (RIEUL_FINAL)
    return forms[0] if final else forms[1]


def whole_words_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern of `words`, longest first (so that a word inside a longer one never splits it)."""
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


# The shop's own compound words (its manual's and catalogue's, `register_shop_words`), per data dir: kept
# whole when spacing is restored, as the lexicon's are ("부대찌개밀키트물몇미리" → "부대찌개 밀키트 물 몇 미리";
# Kiwi alone writes "밀 키트", "단순 변 심").
_shop_words: dict[str, frozenset[str]] = {}
_shop_words_lock = threading.Lock()


def register_shop_words(data_dir: Path | None, words: Iterable[str]) -> None:
    with _shop_words_lock:
        _shop_words[str(data_dir)] = frozenset(words)


def shop_words_registered(data_dir: Path | None) -> bool:
    """Whether the knowledge base of this data dir has registered the shop's words (its first load does)."""
    with _shop_words_lock:
        return str(data_dir) in _shop_words


@lru_cache(maxsize=8)
def _protected_of(lexicon_words: frozenset[str], shop_words: frozenset[str]) -> re.Pattern[str] | None:
    return whole_words_pattern(lexicon_words | shop_words)


@lru_cache(maxsize=8)
def _lexicon_of(paths: tuple[Path, ...], stamps: tuple[float, ...]) -> Lexicon:
    entries: dict[str, str] = {}
    for path in paths:
        entries.update(read_lexicon(path))  # later files (the shop's) replace earlier entries
    return Lexicon(entries)


def lexicon_files(data_dir: Path | None = None, extra: Path | None = None) -> list[Path]:
    """The bundled lexicon, then the shop's (`<data dir>/chat_lexicon.tsv`), then `extra` (the setting)."""
    paths = [LEXICON_PATH]
    if data_dir is not None and (Path(data_dir) / SHOP_LEXICON_NAME).is_file():
        paths.append(Path(data_dir) / SHOP_LEXICON_NAME)
    if extra is not None:
        if not Path(extra).is_file():
            raise FileNotFoundError(f"chat lexicon {extra}: no such file")
        paths.append(Path(extra))
    return paths


def load_lexicon(paths: Iterable[Path]) -> Lexicon:
    """The merged lexicon of `paths`, re-read when a file changes (the shop edits its own)."""
    paths = tuple(paths)
    return _lexicon_of(paths, tuple(p.stat().st_mtime for p in paths))


# --- mood -------------------------------------------------------------------------------------------

def mood_of(text: str) -> Mood:
    """frustrated (ㅠㅠ, ㅡㅡ, ;;, !!!, 😡, 짜증, 너무 늦어요) > happy (ㅋㅋ, ㅎㅎ, ^^, 😊) > neutral."""
    if _FRUSTRATED.search(text):
        return "frustrated"
    if _HAPPY.search(text):
        return "happy"
    return "neutral"


def without_emoticons(text: str) -> str:
    """`text` without emoticons, laughter, emoji and repeated punctuation ("!!!" → "!")."""
    text = _EMOJI.sub(" ", text)
    text = _EMOTICON.sub(" ", text)
    text = _JAMO_RUN.sub(" ", text)
    text = _REPEATED_MARK.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


# --- Kiwi: spacing and typos ------------------------------------------------------------------------

def restore_spacing(text: str, protected: re.Pattern[str] | None = None) -> str:
    """Spaces put back where words were typed together. Only inside a long unspaced run of Hangul, and only
    inserted: the customer's own spaces stay, the rest of the message is left as it is (Kiwi would re-space
    clean words too: "만두" → "만 두"), and no space goes inside a `protected` word (the lexicon's words:
    Kiwi writes "에어 프라이어"), while one goes before it ("만두에어프라이어" → "만두 에어프라이어")."""
    runs = list(_HANGUL_RUN.finditer(text))
    if not runs:
        return text
    kiwi, lock = kiwi_analyser()
    with lock:
        spaced = str(kiwi.space(text, reset_whitespace=False))
    letters = [ch for ch in text if not ch.isspace()]
    if [ch for ch in spaced if not ch.isspace()] != letters:
        return text  # Kiwi changed a character: keep the customer's text
    # positions among the non-space characters: what lies inside a long run (its first letter excluded)
    offset = [0]
    for ch in text:
        offset.append(offset[-1] + (not ch.isspace()))
    inside: set[int] = set()
    for run in runs:
        inside.update(range(offset[run.start()] + 1, offset[run.end()]))
    kept = _space_positions(text)
    added = (_space_positions(spaced) - kept) & inside
    # «유효기간은요» → «유효 기간은 요»: the polite «요» closing a word is never a word of its own
    # (nor «욤», «용», «염», as chat types it: «하고싶으면욤»)
    added -= {i for i in added if letters[i] in "요욤용염" and (i + 1 == len(letters) or not "가" <= letters[i + 1] <= "힣")}
    # «시켜보려는데» → «시켜 보려는 데»: chat's «-는데» (but, and so) is one ending, not «데» (a place)
    added -= {i for i in added if letters[i] == "데" and i > 0 and letters[i - 1] in "는은던인"}
    if protected is not None:
        joined = "".join(letters)
        for m in protected.finditer(joined):
            added -= set(range(m.start() + 1, m.end()))
            if m.start() in inside:
                added.add(m.start())
    return "".join((" " if i in kept or i in added else "") + ch for i, ch in enumerate(letters)).strip()


def _space_positions(text: str) -> set[int]:
    """Indexes (among the non-space characters) of the characters a space precedes."""
    out: set[int] = set()
    i = 0
    pending = False
    for ch in text:
        if ch.isspace():
            pending = i > 0
            continue
        if pending:
            out.add(i)
            pending = False
        i += 1
    return out


def correct_typos(text: str) -> tuple[str, list[str]]:
    """`text` with the morphemes Kiwi's typo model reads as slips corrected, and the corrections made.
    Unchanged when no morpheme needed one (rebuilding the text from morphemes would re-space it)."""
    if not re.search(r"[가-힣]", text):
        return text, []
    kiwi, lock = kiwi_analyser()
    with lock:
        tokens = kiwi.tokenize(text, typos=TYPO_MODEL, typo_cost_threshold=TYPO_COST_THRESHOLD)
        # a "correction" to a bare final consonant is the model misreading a word («해동» → 하+어도+ᆼ)
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        fixed = [t for t in tokens if t.typo_cost > 0]
        mended: list[tuple[int, int, str]] = []
        for start, end in words:
            inside = [t for t in tokens if start <= t.start < end]
            if not any(t.typo_cost > 0 for t in inside) or any(_is_artefact(t.form, t.tag) for t in inside):
                continue
            # only the word holding the slip is rebuilt: joining every morpheme would re-space the whole
            # message («간장게장 해동» → «간장 게장해동»)
            mended.append((start, end, str(kiwi.join([(t.form, t.tag) for t in inside]))))
    if not mended:
        return text, []
    out, last = [], 0
    for start, end, word in mended:
        out += [text[last:start], word]
        last = end
    changes = [f"{text[t.start:t.end]}→{t.form}" for t in fixed
               if any(start <= t.start < end for start, end, _w in mended)]
    return "".join(out) + text[last:], changes


def _is_artefact(form: str, tag: str) -> bool:
    return tag.startswith("Z_") or all("\u1100" <= ch <= "\u11ff" or "\u3131" <= ch <= "\u318e" for ch in form)


def normalize_message(text: str, lexicon: Lexicon | None = None,
                      shop_words: frozenset[str] = frozenset()) -> NormalizedMessage:
    """What the classifier and the search read of a customer's chat message (see the module docstring);
    `shop_words` are kept whole, like the lexicon's words, when spacing is restored."""
    original = (text or "").strip()
    lexicon = lexicon if lexicon is not None else load_lexicon([LEXICON_PATH])
    changes: list[str] = []
    out, swapped = lexicon.apply(original)
    changes += swapped
    mood = mood_of(original)
    bare = without_emoticons(out)
    if bare != out and re.search(r"[0-9A-Za-z가-힣]", bare):
        changes.append("emoticons")
        out = bare
    protected = _protected_of(lexicon.words, shop_words) if shop_words else lexicon.protected
    spaced = restore_spacing(out, protected)
    if spaced != out:
        changes.append("spacing")
        out = spaced
    out, fixed = correct_typos(out)
    changes += fixed
    ended = _CHAT_ENDING.sub(lambda m: f"{m.group(1) or m.group(2) or m.group(3)}요", _DIALECT_IF.sub("면", out))
    if ended != out:
        changes.append("endings")
        out = ended
    return NormalizedMessage(out, mood, tuple(changes))


# «보내주시나여», «몇시까지 해여», «뭐에여», «며칠이에염», «되나용», «하고싶으면욤»: the polite ending -요 typed as
# -여, -염, -용 or -욤 (the typo model leaves them); not after 가 («무가염 버터», «가용») nor 아 («유아용»),
# after 면 only as -욤 («냉면용»)
# «반품하믄», «취소되믄»: the conditional -면 as spoken in the south-east («믄» ends no standard word)
_DIALECT_IF = re.compile(r"(?<=[가-힣])믄(?![가-힣])")
_CHAT_ENDING = re.compile(r"(?:([나까가되돼해에예어아세죠래네])여|([나까되돼해에예어세죠래네])[염용욤]|(면)욤)(?=[\s?？!.~ㅠㅜ;]|$)")


def normalize_for_shop(text: str, data_dir: Path | None, extra_lexicon: Path | None = None) -> NormalizedMessage:
    """`normalize_message` with the shop's lexicon: the bundled one, `<data dir>/chat_lexicon.tsv`, then the
    file the `SAJANG_CHAT_LEXICON` setting names (`extra_lexicon`), and the shop's own compound words."""
    with _shop_words_lock:
        words = _shop_words.get(str(data_dir), frozenset())
    return normalize_message(text, load_lexicon(lexicon_files(data_dir, extra_lexicon)), words)
