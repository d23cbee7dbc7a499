"""Messages that ask nothing: a greeting, thanks, an "okay", a goodbye, a compliment, or an opener that
only says what the question will be about ("반품 문의요", "쿠폰 관련해서 질문 있어요").

A person answering a shop's chat replies to "안녕하세요" with a greeting and an offer to help, and to
"감사합니다" with a "you're welcome"; handing such a message to an agent (no manual article answers it, so
the confidence gate would) wastes the agent's time and leaves the customer waiting for nothing. A message
is small talk only when nothing else is left once its greeting, thanks, laughter and emoticons are taken
out: "안녕하세요 배송비 얼마예요" is a question.
"""

from __future__ import annotations

import re
import zlib
from typing import Literal

Kind = Literal["greeting", "thanks", "ack", "bye", "compliment", "opener"]

_FLAT = r"[\s,.!?~^…ㅎㅋㅠㅜ:;)(*♡♥❤👍🙏😊😀😄🙂^]*"
_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("thanks", re.compile(r"(?:정말|너무|진짜|넘|대단히)?\s*(?:감사(?:합니다|해요|드립니다|드려요|하다|요)?|고맙(?:습니다|어요|네요|습니당)|"
                          r"고마워(?:요)?|땡큐|ㄱㅅ|ㄳ|thank\s*you(?:\s+so\s+much)?|thanks(?:\s+a\s+lot)?|thx|ty)",
                          re.IGNORECASE)),
    ("bye", re.compile(r"수고(?:하세요|하셨습니다|하셨어요|많으셨어요|많으셨습니다)|좋은\s*하루\s*(?:되세요|보내세요)|"
                       r"안녕히\s*(?:계세요|가세요)|(?:good\s*)?bye|have\s+a\s+(?:nice|good)\s+day", re.IGNORECASE)),
    ("greeting", re.compile(r"안녕(?:하세요|하십니까|하세여|하세용)?|ㅎㅇ|하이|헬로|여보세요|저기요|계세요|사장님|"
                            r"hello|hi|hey|good\s+(?:morning|afternoon|evening)", re.IGNORECASE)),
    ("ack", re.compile(r"네|넵|넹|녜|예|알겠(?:습니다|어요|어용)|알았어요|확인했(?:습니다|어요)|ㅇㅋ|ㅇㅇ|오케이|오키|"
                       r"ok(?:ay)?|got\s+it|i\s+see|알겠습니다", re.IGNORECASE)),
    ("compliment", re.compile(r"(?:(?:만두|김치|갈비탕|상품|제품|음식|반찬|밀키트|고기)?\s*(?:(?:너무|정말|진짜|넘|완전)\s*)?"
                              r"(?:맛있(?:어요|었어요|네요|습니다|어용)|최고(?:예요|에요|네요)?|좋아요|좋았어요|좋네요|"
                              r"잘\s*(?:받았(?:어요|습니다)|먹었(?:어요|습니다)|먹을게요)|번창하세요)"
                              r"|(?:it\s+was\s+|so\s+)?(?:delicious|tasty|great|love\s+it))", re.IGNORECASE)),
)
_ANY = re.compile("|".join(f"(?:{p.pattern})" for _k, p in _PATTERNS), re.IGNORECASE)
# a complaint or a question mark after a compliment is not a compliment ("맛있었는데 이번엔 왜 …?")
_NOT_SMALL = re.compile(r"왜|근데|는데|지만|(?<![가-힣])안\s*(?:돼|되|와|오|왔|보|맞|좋|먹|열|나)|못\s*[가-힣]|않|없|문제|불량|"
                        r"언제|어디|얼마|어떻게", re.IGNORECASE)

# "반품 문의요", "교환 관련해서요", "쿠폰 질문 있어요", "I have a question about my order": the topic is named, the
# question comes next (a person answering a chat says "네, 말씀해 주세요", not "connecting you to an agent")
_OPENER = re.compile(
    r"^(?:안녕하세요[,\s!~.]*)?(?:[가-힣A-Za-z0-9·]+\s*){0,3}?"
    # «배송 관련해서 여쭤볼 게 있어요», «쿠폰 물어볼게 있는데요»
    r"(?:(?:문의|질문|관련해서|관련|건으로|때문에)(?:\s*(?:여쭤|물어)\s*(?:볼|봐|보고\s*싶은)\s*(?:게|거|것|께)?(?=\s*있))?"
    r"|(?:여쭤|물어)\s*(?:볼|봐|보고\s*싶은)\s*(?:게|거|것|께)?(?=\s*있))\s*"
    r"(?:요|이요|예요|이에요|드려요|드릴게요|드립니다|드리려고요|드릴께요|할게요|할께요|있어요|있는데요|있습니다|있어서요|"
    r"(?:좀|하나|하나만|몇\s*가지)\s*(?:할게요|드릴게요|드려요|있어요|할께요|드릴께요))?\s*[.!~^ㅎㅠ]*$"
    r"|^(?:hi|hello|hey)?[,!\s]*(?:i\s+have\s+(?:a\s+)?(?:quick\s+)?question|(?:quick\s+)?question)"
    r"(?:\s+about\s+[a-z\s]{1,30})?[.!]*$", re.IGNORECASE)
# what no opener is: a complaint or a report ("배송 때문에 화나요", "환불 문의했는데 답이 없어요")
_NOT_OPENER = re.compile(r"안\s*(?:와|왔|오|돼|되)|없어|없는|늦|화|짜증|했는데|왜|언제|어디|얼마|어떻게|[?？]")

_REPLIES: dict[Kind, dict[str, tuple[str, ...]]] = {
    "opener": {
        "ko": ("네, 말씀해 주세요. 어떤 점이 궁금하신가요?", "네, 편하게 물어봐 주세요. 무엇이 궁금하신가요?"),
        "en": ("Sure, go ahead. What would you like to know?", "Of course. What's your question?"),
    },
    "greeting": {
        "ko": ("안녕하세요, {shop}입니다. 무엇을 도와드릴까요? 배송, 주문 확인, 교환·반품, 상품 문의 모두 편하게 물어봐 주세요.",
               "안녕하세요! {shop}입니다. 궁금하신 점을 편하게 말씀해 주세요."),
        "en": ("Hello, this is {shop}. How can I help? Ask me about delivery, your order, returns or our products.",
               "Hi! This is {shop}. What can I do for you?"),
    },
    "thanks": {
        "ko": ("도움이 되었다니 다행이에요. 더 궁금한 점이 있으면 언제든 말씀해 주세요.",
               "별말씀을요! 또 궁금한 게 생기면 편하게 물어봐 주세요."),
        "en": ("You're welcome! If anything else comes up, just ask.", "Glad I could help. Anything else, just ask."),
    },
    "ack": {
        "ko": ("네, 더 궁금한 점이 있으면 언제든 말씀해 주세요.",),
        "en": ("Sure. If anything else comes up, just ask.",),
    },
    "bye": {
        "ko": ("감사합니다. 좋은 하루 보내세요!", "이용해 주셔서 감사합니다. 좋은 하루 되세요!"),
        "en": ("Thank you, have a great day!",),
    },
    "compliment": {
        "ko": ("따뜻한 말씀 감사합니다! 저희도 정말 기뻐요. 또 궁금한 점이 있으면 언제든 말씀해 주세요.",
               "좋게 말씀해 주셔서 감사합니다! 앞으로도 정성껏 준비할게요."),
        "en": ("Thank you so much, that's lovely to hear! We'll keep doing our best.",),
    },
}


# a first message that only tells something of the customer («요즘 이사 준비 때문에 정신이 하나도 없네요.»): no
# question, no request, no trouble reported — a person answering a chat invites the question rather than
# calling a colleague
_ASKS_OR_WANTS = re.compile(
    # «혹시 … 받을 수 있을까 해서요»: the indirect register asks too (not «드릴까 하고 둘러보는 중이에요»)
    r"[?？]|얼마|언제|어디|어떻게|어케|왜|몇|며칠|뭐|무엇|무슨|어느|나요|까요|가요|는지|던가|되요|돼요|되나|될까|가능|"
    r"(?:을|ㄹ|할|될|있을|받을|줄)까\s*해서|"
    r"있나|없나|있어요|주세요|주실|줘|해\s*주|싶|원해|필요|부탁|바랍|요청|하려|할게|할께|알려|가르쳐|문의|질문|"
    r"\b(?:how|what|when|where|why|which|can|could|do|does|is|are|please|want|need|would)\b", re.IGNORECASE)
_TROUBLE = re.compile(r"안\s*(?:와|왔|오|돼|되|보|맞|나와|들어)|못\s*|않|늦|느려|파손|깨|터|상했|상한|냄새|이상|불량|환불|반품|"
                      r"교환|취소|빠졌|빠져|누락|화나|화가|짜증|ㅡㅡ|[ㅠㅜ]|;;|실망|최악|아파|병원|사고|신고|주문|배송|택배|결제|"
                      r"매번|맨날|계속|자꾸|또\s|던지|던졌|함부로|달라|다르|연락|뜯|찢|입금|송금|보냈|받았|왔어|왔네|왔는데|"
                      r"했어|했는데|했네|졌어|졌네|됐어|됐네|시켰|샀어|까먹|잊어|잊었|모르|몰라|잃어|분실|"
                      r"\b(?:not|no|never|late|broken|damaged|wrong|missing|refund|return|cancel|order)\b", re.IGNORECASE)
_TOLD = re.compile(r"(?:요|다|네요|어요|아요|죠|음|함)\s*[.!~^ㅎㅋ]*\s*$")


def is_remark(text: str) -> bool:
    """A message that tells something of the customer and asks, wants or reports nothing."""
    flat = (text or "").strip()
    return (0 < len(flat) <= 80 and bool(_TOLD.search(flat)) and not _ASKS_OR_WANTS.search(flat)
            and not _TROUBLE.search(flat))


def remark_reply(text: str, locale: str) -> str:
    """The invitation to ask, for a remark (`is_remark`)."""
    return _reply("opener", text, locale)


def _reply(kind: Kind, text: str, locale: str) -> str:
    """One of the kind's replies in the locale, chosen by the message (the wording varies, a message's stays)."""
    options = _REPLIES[kind].get(locale) or _REPLIES[kind]["ko"]
    return options[zlib.crc32(text.strip().encode("utf-8")) % len(options)]


def smalltalk_kind(text: str) -> Kind | None:
    """What kind of small talk the message is, or None when it asks or tells anything else."""
    flat = (text or "").strip()
    if len(flat) <= 40 and _OPENER.match(flat) and not _NOT_OPENER.search(flat):
        return "opener"
    if not flat or len(flat) > 40 or _NOT_SMALL.search(flat):
        return None
    if re.sub(_FLAT, "", _ANY.sub(" ", flat)):
        return None  # something beyond greetings, thanks and emoticons is left: a question or a report
    # the last thing said decides ("안녕하세요 감사합니다" thanks; "네 감사합니다" thanks)
    found: list[tuple[int, Kind]] = []
    for kind, pattern in _PATTERNS:
        found += [(m.end(), kind) for m in pattern.finditer(flat)]
    if not found:
        return None
    priority: dict[Kind, int] = {"compliment": 4, "thanks": 3, "bye": 2, "greeting": 1, "ack": 0}
    kind = max(found, key=lambda f: (priority[f[1]], f[0]))[1]
    # "안녕하세요?" greets; "맛있어요?", "네?" ask something
    return None if kind != "greeting" and re.search(r"[?？]", flat) else kind


def smalltalk_reply(text: str, locale: str, shop_name: str) -> str | None:
    """A short, friendly reply to small talk (the wording varies by message), or None for anything else."""
    kind = smalltalk_kind(text)
    return None if kind is None else _reply(kind, text, locale).format(shop=shop_name)
