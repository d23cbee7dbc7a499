"""Inquiry classification: category, urgency and "wants a person".

Offline (default): an embedding classifier over the labelled Korean and English examples shipped in
`sajang/data/intents_train.tsv` (each category scored by the mean of its 3 most similar examples, so
categories with several kinds of questions keep them apart), plus keyword rules for urgency and
explicit requests for a person (urgency from the incident the words report, never from the topic). The
example vectors of the bundled e5 model ship precomputed in
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


# --- a request for a person: an explicit one, not any mention of 상담 ----------------------------------
# "상담원 연결해 주세요", "사람이랑 얘기할래요", "직원분 바꿔주세요" ask for a person; "상담 시간이 언제예요?",
# "상담원 연결은 몇 시까지 돼요?" ask about reaching one (the manual answers them).
_PERSON = r"(?:상담\s*(?:원|사|직원)|직원|사람|담당자|매니저|사장님|관리자|책임자)(?:님|분)?"
_ASKED_FOR = (r"(?:이랑|하고|과|와|한테|에게|께|을|를|이|가|으로|로)?\s*(?:좀\s*)?"
              r"(?:연결|바꿔|불러|통화|얘기|이야기|대화|말\s*(?:하|할|좀)|상담\s*(?:받|하|해|할)|직접|부탁|원해|원합)")
HUMAN_REQUEST = _rx(
    _PERSON + _ASKED_FOR, r"전화\s*(?:로\s*)?(?:상담|연결|통화)", r"(?:챗\s*)?봇\s*말고|기계\s*말고|자동\s*응답\s*말고",
    r"연결\s*(?:해|시켜)\s*(?:주|줘)",
    r"\b(human|real person|live agent|representative|operator)\b", r"\b(speak|talk)\s+(to|with)\s+(a|an|some|your)",
    r"\bnot?\s+(want\s+to\s+)?(talk|chat)\w*\s+(to|with)\s+a\s+bot\b", r"\b(an?|human|support)\s+agent\b",
)
# the message is only the person asked for: "상담원", "상담원요", "사람 불러줘요", "담당자분 부탁해요"
_ONLY_PERSON = re.compile(r"^\s*" + _PERSON + r"\s*(?:님|이요|요|좀|부탁(?:해요|합니다|드려요|드립니다)?)?[\s.!?~]*$")
# wording that makes it a request rather than a question about how or when
_DEMAND = _rx(r"주세요|줘|주실래|주시겠|주십시오|부탁|싶어|싶습|싶은데|할래|할게요|원해|원합|바꿔|불러|ㄱㄱ",
              r"\bplease\b|\bi\s+(want|need|would like)\b|\blet me\b|\bcan i (speak|talk)\b")
_TELL_ME = re.compile(r"알려\s*(?:주|줘)\S*|가르쳐\s*(?:주|줘)\S*")
_ASKING_ABOUT = _rx(r"시간|몇\s*시|언제|운영|영업|주말|공휴일|점심|번호|어떻게|방법|어디서|가능|있나요|있어요\?|되나요|돼요\?",
                    r"\b(hours?|when|how do i|how can i|phone number|weekends?|holidays?|saturdays?|sundays?|what time|open)\b")

_ASKING_WHEN_EN = re.compile(r"\b(weekends?|saturdays?|sundays?|holidays?|what time|opening hours|business hours)\b",
                             re.IGNORECASE)
_NOW_EN = re.compile(r"\b(now|asap|immediately|urgent(ly)?)\b", re.IGNORECASE)
_PLAIN_REQUEST_EN = re.compile(r"\b(please|i\s+(want|need|would\s+like)|let\s+me|connect\s+me)\b", re.IGNORECASE)


def wants_human(text: str) -> bool:
    """An explicit request for a person (see `HUMAN_REQUEST`); asking when or how to reach one is not."""
    if _ONLY_PERSON.match(text):
        return True
    if not HUMAN_REQUEST.search(text):
        return False
    if _ASKING_WHEN_EN.search(text) and not _NOW_EN.search(text) and not _PLAIN_REQUEST_EN.search(text):
        return False  # "can I talk to a real person on Sundays?" asks when one works
    # "연결 방법 알려 주세요" asks how: its 주세요 asks for the information, not for the person
    demand = _DEMAND.search(_TELL_ME.sub(" ", text))
    return bool(demand) or not _ASKING_ABOUT.search(text)


# --- urgency from what happened, never from the topic ---------------------------------------------
# A cooking question, a care question or "오늘 출발해요?" is no incident; "냄비가 깨져서 왔어요" is.
# Each kind: the evidence in the customer's words. `urgent` kinds put the conversation first in the queue,
# `high` kinds hand it to a person with the photo request.
# what can be «없어요» without anything ordered missing: no problem, a receipt, a message
_NOT_GOODS = (r"(?:문제|이상|하자|파손|탈|별\s*문제|영수증|명세서|쿠폰|적립금|연락|문자|답변?|소식|알림|내역|결제|재고|"
              r"입금|전화|변화|흠집|돈|환불금|환불|"
              # the customer's own state, not a thing of the order («이사 때문에 정신이 하나도 없네요»)
              r"정신|경황|시간|여유|기운|힘|입맛|생각|기억|의욕|걱정|자신|"
              # what the order shows or tastes like, not a thing of it («시켰는데 맛이 없어요», «송장 번호 없어요?»)
              r"맛|재미|송장|번호|조회|마이페이지|답장)")
INCIDENTS: dict[str, tuple[str, re.Pattern[str]]] = {
    "spoilage": ("urgent", _rx(
        # (not «카드값이 이상해서», «좀 이상했어요»: strange, not spoilt)
        r"(?<!이)상했|(?<!이)상한\s*(것|거|듯|맛|냄새)|(?<!이)상해\s*(있|서)|쉰\s*(내|냄새)|썩|변질|곰팡|이상한\s*(냄새|맛)|냄새(가|도|는)?\s*(좀\s*|약간\s*|살짝\s*|너무\s*)?(이상|심|역)",
        r"맛이\s*(이상|시큼)|색이\s*(이상|변했)|"
        # «삼겹살 색이 초록색이에요»: food turned a colour it never has
        r"(고기|삼겹살|목살|갈비|김치|만두|국물|게장|생선|닭)\S{0,2}\s*(속|안|겉)?\S{0,2}\s*(색|색깔)?\S{0,2}\s*(이|가)?\s*"
        r"(초록|녹색|파랗|푸르|거무|까맣|검게|검은색)\S{0,3}\s*(으로|로)?\s*(변했|변해|변색|이에요|이네요|인데|이에여|임|이야|이요)|시큼한\s*냄새|spoil|rotten|mou?ldy?|"
        r"smell(?:s|ed|ing)?\s+(?:(?:really|very|so|kind\s+of|a\s+bit)\s+)?(bad|off|weird|strange|funny|sour|awful|terrible)")),
    "foreign_object": ("urgent", _rx(
        r"이물질|벌레|머리카락|털이\s*(나|들어|있)|(플라스틱|유리|쇠|비닐|철)\s*(조각|가루)|(쇳|금속)\s*조각|철사|돌이\s*(나|씹|들어)",
        # «철수세미 조각 같은 게 씹혔어요», «딱딱한 게 씹혔어요»: something that is no food, in the mouth or the dish
        r"(?<![가-힣])(철|쇠)\s*수세미\s*(조각|가루|같은|나왔|들어|씹)|(조각|가루|같은|딱딱한|이상한)\s*(게|거|것)?\s*(이|가)?\s*씹혔|(같은|딱딱한|이상한)\s*(게|거|것)\s*(이|가)?\s*(나왔|들어\s*있)",
        r"foreign object|insect|\bbugs?\b|\bhair\b|(plastic|glass|metal|wire)\s+(piece|bit|shard|fragment)s?|"
        r"(piece|bit|shard|fragment|chunk)s?\s+of\s+(?:[a-z]+\s+){0,2}(plastic|glass|metal|wire)")),
    "safety": ("urgent", _rx(
        # (not «식중독 걸리는 거 아니죠?», «배탈 나면 어떡해요»: the harm feared, none told)
        r"(?:배탈|식중독)(?!\s*(?:걸리는|걸릴|걸리면|나는|날|나면|안\s*(?:나|걸)))|토했|토하|구토|설사|복통|두드러기|"
        r"(알레르기|알러지)\s*(반응|올라|일어|났)|숨이\s*(차|막)|응급",
        # «씹혀서 뱉어 보니 … 이빨 아파요», «먹고 배가 아파요»: a tooth or the stomach hurt by what was eaten (not
        # «이가 아파서 부드러운 거 있어요?», «애가 배 아프다고 해서 죽 주문하려는데», «택배 나갔나요»)
        r"(먹|씹|드시|드셨|마시|마셨)[^.?!？]{0,30}?(이빨|치아|잇몸|어금니|(?<![가-힣])배|(?<![가-힣])이(?=\s*가))\s*(가|이)?\s*(너무\s*|엄청\s*|좀\s*)?"
        r"(아파요|아파서|아팠|아픈데|아프네|아프대|아프다|깨졌|깨져|나갔|부러)",
        r"병원\s*(에\s*)?(갔|가|다녀|진료|치료)|다쳤|다쳐|베였|베임|찔렸|(?<![전대통])화상(?!\s*(상담|통화|회의|채팅))|데였|피가\s*(나|났)",
        # «손 데었어요», «뜨거워서 데었어요»: burnt (not «그런데», «데어» alone)
        r"(손|발|팔|입|혀|손가락|손등|다리)\S{0,2}\s*(을|를|이|가)?\s*(좀\s*|살짝\s*|크게\s*)?(데었|데어서|데여서|데임)|뜨거워서\s*(손\s*)?(데었|데였)",
        # glass or ceramic shards, and an allergen the customer fears («갑각류 알레르기 있어서 상자 여는 것도 무서워요»)
        r"파편|(알레르기|알러지)[^?？]{0,40}(무서|겁나|위험|큰일)",
        # «입술이 붓고 숨쉬기가 답답해요»: an allergic reaction described, not named
        r"(먹|드시|드셨|마시)[^.?!？]{0,24}?((입술|얼굴|목|눈|혀)\S{0,2}\s*(이|가)?\s*(붓|부었|부어|퉁퉁)"
        r"|숨\s*(쉬기|쉬는\s*게|쉬기가)\S{0,2}\s*(답답|힘들|어렵|곤란))",
        r"food poisoning|got sick|(?:feel|feeling|felt)\s+(?:really\s+|very\s+|so\s+|a\s+bit\s+)?(?:sick|ill|unwell|nauseous)(?!\s+of)|vomit|threw up|throwing up|diarrh|stomach\s*ache|stomach\s+hurts|\brash\b|hives|"
        r"hospital|allergic reaction|injur|burn(ed|t)\b|\bcut (my|myself)|shards?\b|"
        r"(tooth|teeth)\s+(hurts?|broke|broken|chipped|cracked)|(chipped|broke|cracked)\s+(a|his|her|my|their)\s+(tooth|teeth)",
        r"(nearly|almost) (swallowed|choked)|\bchoked\b|swollen|swell(?:ing|ed)\b|can'?t breathe",
        # «애기가 아이스팩 뜯어서 안에 젤을 먹었어요»: what is packed with food, not food, swallowed
        # (the gel named after an ice pack: «젤» alone is also chat for 제일, «젤리» a sweet)
        r"(?:(?:아이스\s*팩|보냉\s*팩)[^.?!？]{0,16}?(?:젤|겔|내용물)|방부제|실리카\s*겔|건조제|제습제|탈산소제)[^.?!？]{0,16}?"
        r"(?:먹었|먹어\s*버렸|먹은\s*(?:거|것)\s*같|삼켰|삼킨\s*(?:거|것)\s*같|입에\s*넣었)",
        r"(?:ate|swallowed)\s+(?:the\s+|some\s+)?(?:ice\s*pack|gel|silica|desiccant)")),
    "legal": ("urgent", _rx(
        r"소비자\s*(원|보호원|센터|단체)|소보원|1372|고소|소송|고발|신고\s*(하|할|했|합|하겠)|변호사|공정위|경찰|법적|민원\s*(넣|제기)",
        r"lawyer|\bsue\b|lawsuit|legal action|consumer (agency|protection)|report you")),
    # a caller posing as us got their card details, «이거 사기 아니에요?»: money at risk now
    "fraud": ("urgent", _rx(
        r"피싱|사기\s*(아니|아님|아냐|인가|인\s*것|인\s*듯|같|맞|당했|당한|치|꾼)|"
        r"(카드\s*번호|비밀\s*번호|비번|인증\s*번호|계좌\s*번호)\S{0,8}\s*(알려\s*(줬|드렸|주었)|말해\s*(줬|버렸)|불러\s*(줬|드렸))",
        # «카드번호랑 비번 달래서 알려줬어요»: asked for by someone, then given
        r"(카드\s*번호|비밀\s*번호|비번|인증\s*번호)[^.?!？]{0,8}?(달래|달라|요구)\S*\s*(알려|불러|말해)\s*(줬|드렸|주었|버렸)",
        # «제가 안 한 주문이 3건이나 결제됐어요 계정 해킹당한 것 같아요»: orders nobody of theirs placed, an account taken
        r"(?:안\s*한|하지\s*않은|한\s*적\s*(?:도\s*)?없는|모르는)\s*(?:주문|결제)\S{0,3}\s*[^.?!？]{0,16}?(?:결제|승인|출금|청구|됐|되었)"
        # (harm told, not a worry: «해킹 걱정돼서 그러는데 카드정보 저장돼요?» asks the rule)
        r"|해킹\s*(?:을|를|이|가)?\s*(?:당했|당한|당해|된\s*(?:거|것)\s*같|됐)"
        r"|(?:카드|계정|아이디|명의|개인\s*정보)\S{0,2}\s*(?:도용\s*(?:을|를|이|가)?\s*(?:당했|당한|당해|됐|된)|털|뚫)",
        # «주문내역에 모르는 사람 이름이랑 주소가 다 보여요»: someone else's personal data shown to them
        r"개인\s*정보\S{0,2}\s*(?:유출|노출|털)|(?:다른|모르는)\s*(?:사람|분)\S{0,2}\s*(?:이름|주소|전화\s*번호|연락처|개인\s*정보)"
        r"[^.?!？]{0,20}?(?:보여|보이|나와)",
        # «받은 상자 송장에 다른 사람 이름, 주소 … 적혀 있고»: a parcel labelled with someone else's data
        r"(?:송장|명세서|상자|박스)\S{0,2}\s*(?:다른|모르는)\s*(?:사람|분)\S{0,2}\s*(?:이름|주소|전화\s*번호|연락처)"
        r"[^.?!？]{0,20}?(?:적혀|찍혀)\s*(?:있|왔)",
        r"phishing|\bscam(med)?\b|fraud|hack(?:ed|ing)|unauthori[sz]ed|data\s+(?:leak|breach)")),
    "repeated": ("urgent", _rx(
        r"몇\s*번째|세\s*번째|여러\s*번\s*(문의|연락|말씀|얘기|물어)|벌써\s*(두|세|네|다섯|몇|[2-9])\s*번|또\s*(이러|이런|그러)",
        # «네번째 문의에요», «두 번째 연락드려요»: the same matter asked again (not «두 번째 주문»)
        r"(두|세|네|다섯|여섯|[2-9])\s*번\s*째\s*(문의|연락|전화|채팅|요청|말씀|글|남기)",
        # «확인해 보겠다고만 하고 연락이 없네요»: promised and never came back
        r"(겠다|준다|주겠다|드리겠다|드린다)\s*고\s*(만|는)?\s*(하고|했는데|하더니|해\s*놓고)[^.?!？]{0,12}?(연락|답|소식|처리)\S{0,2}\s*(도|이|가)?\s*(없|안)",
        r"아직도\s*(답|연락|처리)|계속\s*(같은|똑같)|몇\s*번을\s*(말|문의|연락)",
        # «전화도 두 번이나 했는데 아무도 안 받네요», «문의 세 번이나 남겼는데»: contact tried again and again, nobody
        # answering (not «결제가 두 번이나», «두 번째 주문», «기사님이 전화했는데 아무도 안 받아서»)
        r"(문의|연락|전화|채팅|메일|문자|말씀|얘기|요청)\S{0,3}\s*(도\s*)?(두|세|네|몇|여러|[2-9])\s*(번|차례)\s*(이나|씩이나)",
        r"(?<!기사님이 )(?<!기사가 )(?<!기사님이)(전화|연락|문의)[^.?!？]{0,16}?(했|드렸|걸었|남겼)[^.?!？]{0,6}?"
        r"아무도\s*(안\s*받|답\s*(이|을)?\s*(없|안))",
        # «문의 남겨도 답도 없고», «연락드렸는데도 답이 없어요»: asked and never answered
        r"(문의|연락|전화|채팅|메일|문자)\S{0,3}\s*(남겨도|해도|드려도|넣어도|남겼는데도|했는데도|드렸는데도)\s*"
        r"(답|연락|답장|답변)\S{0,2}\s*(도|이|가)?\s*(없|안\s*(와|오|줘|주))(?![가-힣]*면)",
        # «파손 접수했는데 아직 연락이 없어요»: a request taken and never followed up
        r"(접수|신청|요청)\S{0,3}\s*(했|한|드렸|넣었|남겼|됐)\S{0,3}\s*(는데|데|지만|는데도)\s*(아직|아직도|여태|여태껏|계속)?\s*"
        r"(연락|답|답변|답장|소식)\S{0,2}\s*(이|가|도)?\s*(없|안\s*(와|오|줘|주))(?![가-힣]*면)"
        # (not when they ask how it stands: «교환신청 했는데 아직 연락이 없어서요 어떻게 되고 있어요?» is answered from
        # their claim)
        r"(?!.*(?:(?:어떻게|어케|어캐)\s*(?:되|돼)\s*(?:고|가)|진행\s*(?:상황|중|돼|되)))",
        r"third time|again and again|still no (reply|answer)|keep (asking|telling)|nobody (answers|picks up|replied)")),
    "damage": ("high", _rx(
        r"파손|누수|깨졌|터졌|샜|찌그러졌|부서졌|부러졌|망가졌|찢어졌|찢겨|(?<![가-힣])금이\s*(쫙\s*|좀\s*|살짝\s*|길게\s*|크게\s*)?(갔|간|가\s*있)|"
        # «도마가 금 간 채로 왔어요»
        r"(?<![가-힣])금\s*(?:간|가서|가\s*있는)\s*(?:채로?|상태로)\s*(?:왔|옴|도착|배송)|깨짐|터짐|산산\s*조각|박살|조각\s*(났|나\s*있)|"
        # «냄비가 두동강 나있네요»
        r"두\s*동강|동강\s*(?:나|났|난)",
        r"(깨져|깨진|터져|터진|새서|새고|찌그러져|찌그러진|부서져|부러져|부러진|망가져|찢어져|젖어)\s*(서\s*|채로?\s*)?"
        r"(왔|옴|도착|배송|받|있|와서|있었)",
        # «아이스팩이 다 터져서», «손잡이가 부러져서»
        r"(포장|상자|박스|봉지|봉투|파우치|팩|병|유리|용기|뚜껑|냄비|그릇|접시|코팅|손잡이|소스|양념|국물)\S{0,2}\s*(다\s*|전부\s*|모두\s*)?"
        r"(깨져|터져|새(?!로|\s*(?:거|걸|것|게|상품|제품))|찌그러|찢어|부서|부러져|부러졌|부러진|벗겨|눌려|눌렸|눌린|눌림)",
        # the chat lexicon writes «찌그러져» as the manual's «눌려»: a thing that came crushed (not a button «눌렸»)
        r"(눌려|눌린)\s*(서\s*|채로?\s*)?(왔|옴|도착|배송|와서)|(완전히|심하게|다|많이)\s*(눌려|눌렸|눌린|눌림)",
        # what the leak did: «상자가 국물범벅이에요», «김치까지 다 젖었어요»
        r"범벅|흥건|국물\s*바다|(?<![가-힣])다\s*새\s*(있|어\s*있|었)|(다|전부|같이|까지)\s*젖(었|어\s*(있|서))|국물이\s*(샜|새서|흘러)",
        r"broken|damaged|leak|crushed|cracked|dented")),
    # «결제가 두 번 됐어요», "charged twice": their money taken twice
    "double_charge": ("high", _rx(
        # («카드 결제가 세 번이나 됐어요»: taken more than twice)
        r"(결제|승인|출금|청구)\S{0,2}\s*(?:두|세|네|여러|[234])\s*번\s*(?:이나|씩)?\s*(됐|되었|났|나갔|빠|찍|들어)|"
        r"(중복|이중)\s*(결제|승인|출금|청구)\S{0,2}\s*(됐|되었|났|돼\s*있)|"
        r"(?:두|세|네|여러|[234])\s*번\s*(?:이나|씩)?\s*(빠져|빠졌|출금됐|청구됐|결제됐|승인됐)|"
        r"중복\s*으로\s*(결제|승인|출금|청구)?\s*(됐|되었|나갔|빠졌)",
        # «주문 안 했는데 결제됐다고 문자 왔어요»: money taken for nothing they ordered
        r"(주문|구매|결제)\S{0,2}\s*(한\s*적\s*(도\s*|이\s*)?없|안\s*했|하지\s*않았)\S{0,3}\s*(는데|데|는데도)[^.?!？]{0,24}?"
        r"(결제|승인|출금|청구)\S{0,3}\s*(됐|되었|났|나갔|빠)",
        # «돈은 빠져나갔는데 주문내역이 없어요»: money taken, no order to show for it
        r"(돈|금액|결제|카드)\S{0,2}\s*(은|는|이|가|도)?\s*(빠져\s*나갔|빠졌|나갔|출금\s*됐|결제\s*됐|승인\s*됐)\S{0,3}\s*(는데|데|지만)"
        r"[^.?!？]{0,20}?(주문\s*(내역|목록)?|내역)\S{0,2}\s*(에\s*)?(없|안\s*(보|떠|나와)|조회\s*(가\s*)?안)",
        # «주문금액보다 만원이 더 빠져나갔어요»: more taken than the order came to
        # (not «결제금액보다 3천원 더 나갔어요 배송비인가요?»: what the difference is, asked)
        r"(?:금액|가격|결제\s*금액)\S{0,2}\s*보다\s*[^.?!？]{0,12}?더\s*(?:빠져\s*나갔|빠졌|결제\s*(?:됐|되었)|청구\s*(?:됐|되었)|나갔)"
        r"(?![^.?!？]*(?:인가요|인지|인가|때문|맞나요|맞죠))",
        r"charged twice|double[- ]charged|two charges|charged for (something|an order) i (didn'?t|never)|"
        r"charged (?:me )?more than")),
    "missing": ("high", _rx(
        r"누락|빠졌|빠져\s*(있|서|왔)|빠진\s*(상품|거|게|물건|구성품)|안\s*들어\s*(있|왔)|개만\s*(왔|옴|들어)|(하나|한\s*개|1개|구성품|소스|사은품)\S{0,2}\s*(없|안\s*왔|빠)",
        # «고기 한 팩이 없대요»: a counted piece of the order is not there
        r"(?<![가-힣\d])(\d+|한|두|세)\s*(봉지?|팩|병|통|세트|인분|캔|마리|개|봉)\s*(이|가|은|는|도)?\s*(없|안\s*왔|빠)"
        r"(?!어요\s*\?|나요|나\s*\?|는지|을까|으면|으세요)",
        # «2봉 시켰는데 1봉만 왔어요»: a count with its unit, and only that many came (not «상자 하나만 왔어요»,
        # a parcel sent in two boxes: the manual says the other one follows)
        r"(\d+|한|두|세)\s*(봉지?|팩|병|통|세트|인분|장|캔|박스|마리)\s*만\s*(왔|옴|들어\s*(있|왔)|도착|받았)",
        # «두 봉 결제했는데 한 봉밖에 없어요»: only that many there
        # (in what came: not «냉동실에 한 팩밖에 없어서 더 시키려는데»)
        r"(시켰|주문했|결제했|샀|구매했|받았|왔는데|열어\s*보니|열었더니|뜯어\s*보니)\S{0,3}[^.?!？]{0,24}?"
        r"(\d+|한|두|세)\s*(봉지?|팩|병|통|세트|인분|장|캔|마리|개)\s*밖에\s*(없|안\s*(왔|들어)|못\s*받)"
        r"(?!나요|나\s*[?？]|는지|을까|어요\s*[?？]|어여?\s*[?？])",
        r"(?<![가-힣])(반|절반|일부)\s*만\s*(왔|옴|들어\s*(있|왔)|도착|받았)",
        # «포기김치랑 만두 같이 시켰는데 박스에 만두밖에 없어요»: of what was ordered, only one thing came
        r"(시켰|주문했|결제했|샀|구매했)\S{0,3}[^.?!？]{0,30}?(박스|상자|택배)\S{0,2}\s*(에|엔|에는)?\s*[가-힣]{1,8}\s*밖에\s*"
        r"(없|안\s*(왔|들어))(?!나요|나\s*[?？]|는지|을까|어요\s*[?？]|어여?\s*[?？])",
        # «박스 열어보니 손만두가 아예 없어요»: opened, and a thing ordered is not there (not «열어보니 이상 없네요»,
        # «받아 보니 영수증이 없어요», «재고 아예 없어요?», «연락이 전혀 없어요»)
        r"(열어\s*(보니|봤더니)|열었더니|뜯어\s*(보니|봤더니)|뜯었더니|받아\s*보니|(시켰|주문했|샀)\S{0,1}(는데|더니))"
        r"(?![^.?!？]{0,30}?" + _NOT_GOODS + r"\s*(은|는|이|가|도|에|에서|에도)?\s*(전혀\s*|아무\s*|별\s*)?(없|안))"
        r"[^.?!？]{0,30}?(없어요|없어여|없어용|없네요|없네여|없었|없음|없더라|없습니다|없고|안\s*들어\s*있)(?![^.?!？]*[?？])",
        r"(?<![가-힣])(?!" + _NOT_GOODS + r")[가-힣]{1,8}\s+(아예|하나도|전혀)\s*(없|안\s*왔|안\s*들어)(?!\S*\s*[?？])(?!나요|는지|을까)",
        # «배송완료라는데 물건이 없어요 … 벌써 3일째», «택배사는 모른다 하고»: a parcel lost for days, the courier no help
        r"(물건|택배|상품|소포)\S{0,2}\s*(이|가)?\s*(없|안\s*왔|못\s*받)[^?？]{0,40}(이틀|사흘|나흘|며칠|[2-9]\s*일)\s*(째|이나|동안)",
        r"택배\s*(사|기사)\S{0,3}\s*(는|도|에서도?)?\s*(모른|몰라|모르겠)",
        # «선물세트 상자가 텅 비어서 왔다네요»: the parcel came empty
        r"텅\s*(비|빈)\S*\s*(서\s*)?(왔|옴|도착|배송)|빈\s*(상자|박스|택배)\S{0,2}\s*(만|가|이)?\s*(왔|옴|도착|받았)|"
        r"(상자|박스|택배|포장)\S{0,2}\s*(이|가|는|만)?\s*(비어서\s*(왔|옴|도착)|비어\s*있었)",
        r"missing|only (got|received) \d|not in the (box|package)|(box|package|parcel) (was|came|arrived) empty")),
    # «다른 사람 이름 적힌 상자가 왔어요»: somebody else's parcel came — theirs to collect, ours to resend
    "misdelivered": ("high", _rx(
        r"다른\s*(사람|분|집)\S{0,2}\s*(이름|주소)\S{0,2}\s*(이|가)?\s*(적힌|적혀\s*있는|써\s*있는|쓰인|붙은|붙어\s*있는)\s*"
        r"(상자|박스|택배|소포|물건)\S{0,2}\s*(이|가)?\s*(왔|옴|도착했|배달됐)",
        r"다른\s*(사람|분|집)\S{0,2}\s*(택배|물건|상자|박스|소포)\s*(이|가)\s*((우리|저희)?\s*집\S{0,2}\s*)?(왔|옴|도착했|배달됐)",
        r"(someone|somebody) else'?s (parcel|package|box|order)|addressed to (someone|somebody) else")),
    "defect": ("high", _rx(
        r"불량|고장|작동\S{0,2}\s*안\s*(돼|되|해)|코팅\S{0,2}\s*벗겨|유통\s*기한\S{0,2}\s*(이미\s*|벌써\s*|한참\s*|다\s*)?(지난|지났|넘은|넘었)",
        # «유통기한이 어제까지로 찍혀서 왔어요», «유통기한 이틀 남은 게 왔어요»: out of date, or nearly, on arrival
        r"유통\s*기한\S{0,2}\s*(이|가|은|는)?\s*(어제|그제|그저께|지난\s*주|오늘)\s*(까지|였|이었)"
        r"|유통\s*기한\S{0,2}\s*(이|가)?\s*(하루|이틀|사흘|[1-3]\s*일)\s*(밖에\s*|도\s*)?(안\s*)?남은\s*(거|게|걸|것|상품|제품)\S{0,2}\s*(왔|옴|도착|배송)",
        # "살짝 녹아서 왔는데 다시 얼려도 되나요" is a care question (the manual: refreeze it at once)
        r"(?<!살짝 )(?<!살짝)(?<!조금 )(?<!조금)(?<!약간 )(?<!약간)(?<!말랑하게 )(?<!말랑해서 )(녹아서|녹은\s*채로?|녹아)\s*(왔|도착|배송)|다\s*녹(았|아|고)|녹아\s*있|늦게\s*와서\s*녹|해동돼서\s*왔",
        # «만두가 물렁물렁 물이 뚝뚝 떨어져요»: thawed through on arrival
        r"물렁\s*물렁|물이\s*뚝뚝|흐물흐물",
        r"defective|doesn'?t work|arrived\s+(?:(?:totally|completely|fully|all|already)\s+)?(expired|melted|thawed)|melted")),
}
# pressure and anger: the queue shows them (high), they hand nothing off on their own
PRESSURE = _rx(
    # (not what the food does or when it is eaten: «김치가 너무 빨리 시어요», «오늘까지 먹어야 하나요»)
    r"급해|급합니다|급하게|당장|오늘\s*(꼭|까지|안에)(?!\s*(?:먹|드셔|드시|드세))|(?<!너무\s)(?<!너무)빨리(?!\s*(?:시|쉬|익|상하|녹|물러))"
    r"|화가|화나|짜증|어이\s*없|최악|실망"
    # «장난하세요?», «3일째 안 와요»: mocked, or waiting for days
    r"|장난\s*(하|해|치|쳐|까)|(\d|이틀|사흘|나흘|며칠|몇\s*일)\s*(일)?\s*째\s*(안|못)\s*(와|오|받|옴)",
    r"urgent|asap|right now|angry|terrible|worst|unacceptable|disappointed",
)
LOW_CATEGORIES = {"product", "stock", "other", "coupon_points"}


# "불량이면 반품비 제가 내요?", "파손되면 어떻게 해요?": a question about a case, not a report of one
# "터져 있으면 사진 언제까지 보내요?": 으면 / 다면 after the evidence make it a case too
_HYPOTHETICAL = re.compile(r"\s*(?:이면|으면|면|이라면|라면|다면|는다면|되면|됐으면|일\s*때|인\s*경우|일\s*경우|시에?|의\s*경우)(?:요|여|용)?(?![가-힣])"
                           r"|\s*(?:기준|여부)"
                           # "파손돼서 오면", "터져서 도착하면": the evidence in a case to come
                           r"|\s*(?:돼서|되서|되어서|된\s*채로|져서|진\s*채로|서|채로)\s*(?:(?:오면|도착하면|받으면|받게\s*되면)(?:요|여|용)?|왔으면"
                           # «찌그러져서 오는 경우 있잖아요»: the case in general
                           r"|(?:오는|도착하는|배송되는|올)\s*(?:경우|때)(?:도|는|가|에|엔|에는|에도)?)"
                           r"(?![가-힣])")
# «불량은요?», «파손품은요?» after a fee answer: the case asked about, not one reported
_ELLIPTIC_CASE = re.compile(r"\s*(?:품|이|인\s*거|인\s*건|난\s*거|된\s*거)?\s*(?:은|는|이나|도)\s*(?:요|여|용)\s*[?？]*\s*$")
# "만약 …", "if it turns out defective": the sentence imagines a case before the evidence
_CASE_BEFORE = re.compile(r"(?:만약|만일|혹시라도|\bif\b|\bin case\b|\bwhat if\b|\bsuppose\b)[^.?!？\n]*$", re.IGNORECASE)
# «며칠 이하로 남은 거 오면 불량으로 교환해 줘요?»: the evidence is what the shop does in a case imagined just
# before it, in a sentence that asks
# (nothing told between: «받으면 바로 먹으려고 했는데 곰팡이 폈어요 환불돼요?» reports; «있으면 안 되는 머리카락» too)
_IF_BEFORE = re.compile(r"(?:오면|받으면|남으면|나오면|왔으면|받았으면)\s+"
                        r"(?![^.?!？\n]*(?:는데|었|았|였|했|왔|났|폈|됐|네요|어요|아요))[^.?!？\n]{0,20}$")
_ASKED_AFTER = re.compile(r"[^.?!？\n]*[?？]")
# "불량인가요?", "불량인지 봐 주세요": whether it is a defect is asked, not said (a spoilage suspicion, «상한 건지
#모르겠어요», stays a report: food safety)
# «불량이라 바꾸는 거면 그것도 내야 돼요?»: the defect as the reason of a case put as a condition, not one told
_REASON_THEN_IF = re.compile(r"\s*(?:이라|이라서|이니까|이어서)\s+[가-힣]+?\s*(?:거|것|게|건)?\s*(?:이)?면")
_ASKS_WHETHER = re.compile(r"\s*(?:인가요|인가|인가여|인지|일까요|일까|인\s*건가요|인\s*건지)(?![가-힣])"
                           r"|\s*(?:이에요|예요|이에여|예여|인\s*거예요|인\s*거에요|임|인감|인\s*거임)\s*\?")
# "이물질 나오면 …", "파손 접수하려면 …": the verb after what happened makes it a case or a purpose. Never for
# threats, repeated complaints or harm («경찰 부르면 되겠네요», «설사 계속하면 어떡해요» are reports)
_CASE_VERB = re.compile(r"\s*[이가은는을를]?\s+(?:나면|났으면|난다면|나오면|나왔으면|있으면|있다면|오면|왔으면|왔다면|생기면|생겼으면|되면|됐으면|"
                        r"발견되면|발견하면|들어\s*있으면|접수하려면|신청하려면|보내려면|교환하려면|반품하려면|환불받으려면|신고하면|접수하면|"
                        r"신청하면|말씀드리면|알리면|알려드리면|"
                        # «이물질이 나왔다고 신고하면»: a report imagined
                        r"(?:나왔|생겼|있었|왔)다고\s*(?:신고|말씀|연락|접수|문의)\S{0,3}면)"
                        r"(?:요|여|용)?(?![가-힣])")
_CASE_KINDS = {"damage", "missing", "defect", "foreign_object", "spoilage"}
# «파손된 상품은 사진을 언제까지 보내야 하는지 …»: goods of that kind in general (topic 은/는), asked how the
# procedure goes — not «제 상품이 파손됐는데요»
_GENERIC_CASE = re.compile(r"(?:된|난|진)\s*(?:상품|물건|제품|경우)\s*(?:사진\s*)?(?:은|는)\s+[^.!?？\n]*?"
                           # («파손된 상품 사진은 언제까지 보내야 하나요?»: the photo of such goods)
                           r"(?:언제까지|며칠\s*(?:안|이내|내)|기한|방법|절차)[^.!?？\n]*?(?:해야|야\s*(?:하|되|돼)|하는지|되는지|여쭤|궁금)"
                           # «파손된 냉동식품은 택배로 다시 보내야 되나요»: what one does with such goods
                           r"|(?:된|난|진)\s*[가-힣]{0,6}?(?:은|는)\s+[^.!?？\n]{0,12}?(?:다시\s*보내|돌려\s*보내|반송|버려|폐기)"
                           r"\S{0,2}\s*(?:야\s*)?(?:되나요|돼요|되요|하나요|할까요|되죠|하죠)")
# …unless the message says it is theirs («제가 받은 파손된 상품은», «방금 열어봤어요», «사진 첨부합니다»)
_OWN_CASE = re.compile(r"제가|저희|받은|받았|왔|온\s|방금|오늘|어제|열어|뜯어|첨부|보냅니다|보내드")
# «구성품 빠져서 나중에 따로 받게 되면 …»: a condition a few words on, with no report between (not «빠져서 왔는데
# 어떻게 하면 돼요?», where 왔는데 reports it)
_CASE_LATER = re.compile(r"(?P<between>[^.?!？\n]{0,16}?)(?:받게\s*되면|되면|받으면|오면|생기면|있으면|남았으면|실\s*때|을\s*때"
                         # «24시간 지나서 발견하면», «다른 상품까지 젖으면», «다 녹아 버리면», «재발송 해 주면»
                         r"|발견하면|발견되면|알게\s*되면|확인하면|젖으면|녹으면|버리면|해\s*주면|해\s*주시면|보내\s*주면"
                         r"|보내\s*주시면|지나면|넘으면)"
                         r"(?![가-힣])")
_REPORTED = re.compile(r"는데|었|았|였|왔|옴|했|어요|에요|네요|나온|들어간|들어\s*있|있는|받은|보낸|생긴")
# «환불되면 좋겠어요», «교환됐으면 해요»: a wish after the evidence, which the report still stands for
_WISH = re.compile(r"\s*(?:좋겠|해요|합니다|싶|바랍|하네요)")
# «이것도 불량 처리 되나요?», «불량으로 쳐줘요?»: whether it counts as a defect is asked, not said
_COUNTS_AS_DEFECT = re.compile(r"\s*(?:처리|인정|해당|기준|사유)|"
                               # «얼마 안 남은 게 오면 불량으로 바꿔 준다고 하더라구요»: what the shop is said to do
                               r"\s*(?:으로|로)\s*(?:바꿔|교환해)\s*(?:준다|주신다|주나|주시나|주는지|주시는지|줘요\s*[?？])|"
                               r"\s*(?:으로|로)\s*(?:처리|인정|간주|쳐|치|보나|보시|보는지|볼\s*수|봐\s*주)")
# «봉투가 빵빵한데 상한 거 아니에요?»: a sign the manual calls normal (fermenting kimchi), asked about — unless
# somebody ate it or it smells: a spoilage suspicion stays a report (food safety)
# (a frozen food «겉만 살짝 말랑», «조금 녹아서»: the manual says to freeze it again — unless another sign is told,
# `_ATE_OR_SMELLS`)
_NORMAL_SIGN = re.compile(r"빵빵|부풀|가스|발효|시큼해졌|익었|(?:살짝|조금|약간|겉만)\s*(?:\S{1,4}\s*)?(?:말랑|녹(?![색슬슨]))"
                          # «갈비탕 국물이 너무 맑은데 상한 거 아니죠?»: a clear broth is how it is made
                          r"|국물이?\s*(?:너무|좀|엄청|많이|완전|진짜|아주|되게|넘)?\s*맑")
# a bulging pot is a defect; only fermented food swells by itself
_FERMENTED = re.compile(r"김치|깍두기|동치미|총각|열무|장아찌|젓갈|된장|고추장|막장|kimchi", re.IGNORECASE)
_ATE_OR_SMELLS = re.compile(r"먹었|먹은|먹고|먹이|드셨|냄새|배탈|토|설사|아파|곰팡|색이|색깔|거무|초록|하얀|점이|끈적|미끌|"
                            r"진물|물이\s*(?:줄줄|흘|흐)")
_ASKS_IF_SPOILED = re.compile(r"\s*(?:아니|인가|인지|일까|맞나|맞아요|맞죠)|\s*(?:이에요|에요|예요|인가요)\s*\?"
                              r"|\s*(?:된|한|인)?\s*(?:건가|건지|걸까|거\s*아니)")
# «파손접수 사진 24시간 지나면 …», «이물질 신고 결과는 …»: the procedure named by the evidence's word, not a report
_PROCEDURE_AFTER = re.compile(r"\s*(?:접수|신고\s*(?:하면|결과|방법|절차|기준|시)|처리\s*(?:기간|절차|방법|기준)|보상\s*(?:기준|규정|방법)|기준|규정)"
                              # «파손 신고 24시간 넘으면 안 받아줘요?», «빠진 거 신고 며칠 안에 해야 돼요»: the
                              # report's deadline asked
                              r"|(?:된|진|난)?\s*(?:거|건|것)?\s*(?:은|는)?\s*(?:신고|접수|알리|말씀)\S{0,2}\s*(?:\S{1,8}\s*)?"
                              r"(?:며칠|몇\s*(?:일|시간)|언제|기한|기간|안에|이내|\d+\s*시간\s*(?:넘|지나|안|이내))"
                              # «누락된 거 보내 주면 배송비 내야 돼요?»: what the resend costs, asked of it
                              r"|(?:된|진|난)?\s*(?:거|건|것|상품|물건|구성품)?\s*(?:을|를|은|는)?\s*보내\s*(?:주면|주시면|줄\s*때|주실\s*때)"
                              r"[^.!?？]{0,16}(?:배송비|택배비|비용|운임|돈|내야|내요|드나요|들어요)"
                              # «누락된 거 다시 보내줄 때 택배비 내야 돼요?»: how the resend works
                              r"|(?:된|진|난)?\s*(?:거|것|상품|물건|구성품)?\s*(?:을|를|은|는)?\s*(?:다시\s*보내|재발송|재배송)\S{0,4}"
                              r"\s*(?:때|면|시)"
                              # «빠져서 다시 보내 주는 거 택배비 제가 내요?»: what the resend costs
                              r"|(?:된|진|난|져서)?\s*(?:거|것|상품|물건|구성품)?\s*(?:을|를|은|는)?\s*(?:다시\s*보내|재발송|재배송)\s*"
                              r"(?:주|줘|주시|드리)?\S{0,2}\s*(?:거|건|것)\s*(?:은|는)?\s*(?:배송비|택배비|비용|운임|돈)"
                              # «구성품 빠진 거 며칠 안에 말해야 돼요?»: by when such a case must be told
                              r"|(?:된|진|난)?\s*(?:거|건|것|경우|상품|물건|구성품)?\s*(?:은|는)?\s*"
                              r"(?:며칠\s*안에|며칠\s*이내|언제까지|기한\S{0,3})\s*(?:말|알려|신청|접수|연락|얘기|말씀|요청|해야)"
                              r"[^.!?？]{0,12}[?？]")


# «연락이 하나도 없어요», «정신이 하나도 없네요»: what is missing is no thing of the order
# («돈이 아직 안 들어왔어요»: the refund, with a «not yet» between)
_NOT_GOODS_BEFORE = re.compile(r"(?<![가-힣])" + _NOT_GOODS + r"\s*(?:이|가|은|는|도)?\s*(?:아직\s*(?:도\s*)?|여태\s*)?$")


# «뉴스에서 식품 이물질 사고 얘기를 보다가», «다른 데서 시켰다가 구성품이 빠져서 고생한 적이»: what happened
# elsewhere, told before a question about this shop
_HEARSAY_BEFORE = re.compile(r"(?:(?:뉴스|기사)\S{0,2}\s[^.?!？]{0,30}"
                             r"|다른\s*(?:데|곳|쇼핑몰|가게|업체|사이트)\S{0,2}\s[^.?!？]{0,12}?(?:시켰|샀|주문했|구매했)\S{0,1}"
                             r"(?:다가|을\s*때|던)[^.?!？]{0,20})$")
_QUESTION_LATER = re.compile(r"[.!?？~]\s+[^.!?？~]*(?:[?？]|[나까가]요\s*$|는지\s*$)")


# «송장번호가 두개 왔는데 상자가 하나밖에 안왔어요»: one box of a parcel sent in two, the other follows (the manual)
_ONE_OF = re.compile(r"(?:하나|한\s*개|1\s*개)\s*(?:만|밖에)[^.?!？]{0,4}(?:왔|옴|도착)")
_PARCEL_COUNT_BEFORE = re.compile(r"(?:상자|박스|택배|소포)\S{0,2}\s*(?:이|가|은|는)?\s*$")
# «불량인 걸 한참 뒤에야 알았어요 … 아직 반품 신청 가능할까요?»: a defect found long after (weeks, months: not «3일
# 지났는데», a fresh report), and whether the return window is still open is asked — the manual's periods answer it
_FOUND_LATE = re.compile(r"늦게\s*알|한참\s*(?:뒤|후|지나)|"
                         r"(?:받은|산|구매한|배송\s*받은)\s*지\s*[^.?!？,]{0,6}?"
                         r"(?:\d+\s*(?:주|달|개월|년)|[한두세네]\s*달|몇\s*(?:주|달|개월)|일주일|보름)"
                         r"[^.?!？,]{0,6}?(?:지났|지난|넘었|넘은|넘어|째|됐|다\s*돼)|"
                         r"(?:기간|기한)\S{0,3}\s*(?:지났|지난|넘었|넘은|끝났)")
_RETURN_WINDOW_ASKED = re.compile(r"(?:반품|교환|환불)[^.?!？]{0,10}?(?:기간|기한|가능|되나|되요|돼요|될까|할\s*수\s*있)"
                                  r"[^.!]{0,12}(?:[?？]|나요|까요|죠|건가|$)")
# …but harm or spoiled food told with it is an incident however late («냄비 불량이라 손을 데었어요»)
_HARM_TOLD = re.compile(r"데었|데였|다쳤|다치|베였|베여|화상|피가|상했|상한|쉰\s*내|곰팡|덜\s*익|녹아|배탈|설사")


# «들기름 상자 찌그러져서 환불 요청했는데 진행 상황 좀 알려주세요»: a request made about it, how it stands asked —
# a damage, a missing piece or a defect told before it was reported then (food safety stays an incident however it is
# told; one told after the question is new: «…진행상황 알려주세요 근데 이번 것도 터져서 왔어요»)
_PROGRESS_OF_REQUEST = re.compile(
    r"(요청|신청|접수|문의)\s*(을|를)?\s*(했|드렸|넣었|해\s*놨|해\s*뒀)\S{0,3}\s*(는데|데|고)[^.?!？]{0,30}?"
    r"(진행\s*(상황|중|됐|돼|되고)|어떻게\s*(됐|되었|돼\s*가|되가|되고)|처리\s*(됐|되었|중|언제|상황|다\s*됐)|언제\s*(돼|되|처리)|소식)")
_REPORTED_BEFORE_KINDS = ("damage", "missing", "defect", "double_charge", "misdelivered")


# an injury told (a burn, a cut, a tooth, bleeding) and an illness told (what eating did to the body): which notice an
# urgent handoff of harm to health shows
_INJURY = _rx(r"다쳤|다쳐|베였|베임|찔렸|화상|데였|데었|데어서|데여서|피가\s*(나|났)|파편|(이빨|치아|잇몸|어금니|(?<![가-힣])이)\s*(가|이)?\s*"
              r"(너무\s*|엄청\s*|좀\s*)?(아파|아프|깨졌|깨져|나갔|부러)",
              r"injur|burn(ed|t)\b|\bcut\b|bleed|blood|shards?\b|tooth|teeth")
_ILLNESS = _rx(r"배탈|식중독|토했|토하|구토|설사|복통|두드러기|알레르기|알러지|숨|붓|부었|부어|퉁퉁|열이|어지러",
               r"sick|ill\b|vomit|threw up|diarrh|stomach|rash|hives|allerg|swell|breath|poison|nause")


def reports_injury(text: str) -> bool:
    """An injury told and no illness: the handoff says what to do for a wound, not for a reaction."""
    return bool(_INJURY.search(text)) and not _ILLNESS.search(text)


# «부대찌개 시켰는데 된장찌개가 왔어요», «주문한 거랑 다른 게 왔네요», «잘못 온 것 같아요»: another product came than
# the one ordered (not «시켰는데 문자가 왔어요», «주문했는데 아직 안 왔어요»)
# (what came is a product, not a message, a status or the parcel itself; what was ordered is a product, not a day)
_NOT_A_PRODUCT = (r"(?![가-힣]*(?:문자|알림|연락|메시지|카톡|전화|택배|상자|박스|송장|안내|답장|답변|배송|출고|결제|취소|환불|주문|"
                  r"물건|상품|제품|사은품|선물|기사|아직|벌써|오늘|어제))")
_NOT_A_DAY = r"(?!(?:어제|오늘|그저께|그제|지난주|저번|방금|아까|며칠|전에|주말|아침|저녁|밤)(?![가-힣]))"
WRONG_ITEM_REPORT = re.compile(
    # (a name of two words as spacing restores it: «김치 손만두», «고기 왕만두»)
    r"(?<![가-힣])" + _NOT_A_DAY + _NOT_A_PRODUCT + r"(?:[가-힣]{1,6}\s)?" + _NOT_A_DAY + _NOT_A_PRODUCT
    + r"[가-힣]{2,10}\s*(?:을|를)?\s*(?:시켰|주문했|샀|구매했)\S{0,1}(?:는데|더니)\s+"
    # (a word before what came only with its subject particle, «고기 왕만두가 왔어요»: not «포장 꼼꼼하게 왔네요»)
    + _NOT_A_PRODUCT + r"(?:(?:[가-힣]{1,6}\s)" + _NOT_A_PRODUCT + r"[가-힣]{2,10}?\s*(?:이|가)|[가-힣]{2,10}?\s*(?:이|가)?)"
    + r"\s*(?:왔|옴|와\s*있|와서|도착했|들어\s*있)"
    # «주문한 건 부대찌개인데 닭갈비가 왔네요»: what was ordered, then what came
    r"|(?:주문한|시킨|산)\s*(?:건|거는|것은|게)\s*[가-힣]{2,10}\s*(?:인데|였는데|이었는데)\s+(?:[가-힣]{1,6}\s)?[가-힣]{2,10}?\s*(?:이|가)"
    r"\s*(?:왔|옴|와\s*있|도착했|들어\s*있)(?!을|으면|다면)"
    r"|(?:주문한|시킨|산)\s*(?:거|것|상품|제품)\S{0,1}\s*(?:랑|이랑|과|와)\s*(?:완전(?:히)?\s*|전혀\s*|아예\s*|좀\s*)?다른\s*(?:게|거|것|상품|제품|물건)\S{0,2}\s*(?:왔|옴|도착했|들어\s*있)(?!을|으면|다면)"
    # «엉뚱한 게 왔어요», «전혀 다른 상품이 왔네요»
    r"|(?<![가-힣])(?:엉뚱한|전혀\s*다른|완전\s*다른|아예\s*다른)\s*(?:게|거|것|걸|상품|제품|물건)\S{0,2}\s*(?:왔|옴|와\s*있|도착했|배송\s*됐)(?!을|으면|다면)"
    r"|잘못\s*(?:온|왔(?!다)|배송\s*(?:됐|되었|돼\s*서|된))(?![^.?!？]*(?:면|경우|때))")
# a question asked of the wrong-item rule after the report («어떻게 해요?», «먹어도 돼요?», «다시 보내 주나요?»): the
# manual answers it; a bare report («부대찌개 시켰는데 된장찌개가 왔어요;; 이거 머에요») is a mistake a person must put
# right (not «이거 뭐예요», said of the thing that came)
_ASKED_OF_WRONG_ITEM = re.compile(
    r"[?？]|어떻게|어케|어떡\s*해야|뭘\s*해야|머\s*해야|먹어도|드셔도|돌려\s*보내|반송|보내야|다시\s*보내|재발송|교환|반품|환불"
    r"|되나요|돼요|되요|되나|할까요|하나요|해야|가능|주나요|주시나요|주세요|해\s*줘|해\s*주|\bhow\b|\bcan\b|\bshould\b|\bdo i\b")


# "I ordered the mild one but got the spicy one", "you sent me the wrong item"
WRONG_ITEM_REPORT_EN = re.compile(
    r"\bi\s+(?:ordered|bought|paid\s+for)\b[^.?!]{1,40}?\b(?:but|and)\s+(?:i\s+)?(?:got|received|was\s+sent)\b"
    r"|\b(?:got|received|was\s+sent|sent\s+me)\s+(?:the\s+|a\s+)?wrong\s+(?:item|product|one|thing|flavou?r)"
    r"|\bwrong\s+(?:item|product)\s+(?:came|arrived|was\s+(?:sent|delivered))|\bnot\s+what\s+i\s+ordered\b", re.IGNORECASE)


# how urgent each kind of incident is: those of `INCIDENTS`, and a wrong item only reported (as a missing piece: the
# shop resends, no harm done)
INCIDENT_LEVELS: dict[str, str] = {**{kind: level for kind, (level, _rx) in INCIDENTS.items()}, "wrong_item": "high"}


def wrong_item_reported(text: str) -> bool:
    """Another product came than the one ordered, told as a report with nothing asked of the shop's rule."""
    found = WRONG_ITEM_REPORT.search(text) or WRONG_ITEM_REPORT_EN.search(text)
    return found is not None and not _ASKED_OF_WRONG_ITEM.search(text, found.end()) \
        and not _ASKED_OF_WRONG_ITEM.search(text, 0, found.start())


def incident_evidence(text: str) -> list[str]:
    """The kinds of incident the customer's words report (spoilage, foreign_object, damage, missing …).
    A wrong item is one when only reported (`wrong_item_reported`): asked what to do, the manual answers."""
    out: list[str] = []
    progress = _PROGRESS_OF_REQUEST.search(text)
    for kind, (_level, rx) in INCIDENTS.items():
        # (what is told before the request's progress is asked is why it was made; after it, something new)
        reported_until = progress.start() if progress is not None and kind in _REPORTED_BEFORE_KINDS else -1
        if any(not (m.end() <= reported_until or _HYPOTHETICAL.match(text, m.end())
                    or (kind == "defect" and (_ASKS_WHETHER.match(text, m.end()) or _REASON_THEN_IF.match(text, m.end())
                                              or _COUNTS_AS_DEFECT.match(text, m.end())))
                    or (kind in ("spoilage", "defect") and _ASKS_IF_SPOILED.match(text, m.end())
                        and _NORMAL_SIGN.search(text) and (kind == "spoilage" or _FERMENTED.search(text))
                        and not _ATE_OR_SMELLS.search(text))
                    or (kind == "missing" and (_NOT_GOODS_BEFORE.search(text, 0, m.start())
                                               or (_ONE_OF.match(text, m.start())
                                                   and _PARCEL_COUNT_BEFORE.search(text, 0, m.start()))))
                    or (kind == "defect" and _FOUND_LATE.search(text) and _RETURN_WINDOW_ASKED.search(text)
                        and not _HARM_TOLD.search(text))
                    or (kind in _CASE_KINDS and _HEARSAY_BEFORE.search(text, 0, m.start())
                        and _QUESTION_LATER.search(text, m.end()))
                    or (kind in _CASE_KINDS and _PROCEDURE_AFTER.match(text, m.end()))
                    or (kind in ("damage", "defect") and _GENERIC_CASE.match(text, m.end())
                        and not _OWN_CASE.search(text))
                    or (kind == "defect" and _IF_BEFORE.search(text, 0, m.start())
                        and _ASKED_AFTER.match(text, m.end()))
                    or (kind in _CASE_KINDS and _ELLIPTIC_CASE.match(text, m.end()) and len(text) <= 14)
                    or (kind in _CASE_KINDS and (_CASE_VERB.match(text, m.end())
                                                 or _CASE_BEFORE.search(text, 0, m.start())
                                                 or _later_case(text, m.end()))))
               for m in rx.finditer(text)):
            out.append(kind)
    if not out and wrong_item_reported(text):  # («만두 시켰는데 터져서 왔어요» is the damage told)
        out.append("wrong_item")
    return out


def _later_case(text: str, end: int) -> bool:
    """The evidence ending at `end` is part of a condition stated a few words on («빠져서 나중에 받게 되면»)."""
    later = _CASE_LATER.match(text, end)
    return later is not None and not _REPORTED.search(later.group("between")) and not _WISH.match(text, later.end())


def rule_urgency(text: str, category: str) -> str:
    """urgent (food safety, injury, legal threat, repeated complaint) > high (damage, missing or wrong item,
    defect; or time pressure and anger) > normal > low (product, stock, coupon and chit-chat questions).
    The category alone never raises it: a cooking question filed under damage_defect stays normal."""
    levels = {INCIDENT_LEVELS[kind] for kind in incident_evidence(text)}
    if "urgent" in levels:
        return "urgent"
    if levels or PRESSURE.search(text):
        return "high"
    return "low" if category in LOW_CATEGORIES else "normal"


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
    evidence: list[str] = field(default_factory=list)  # incident kinds the words report (`incident_evidence`)

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
                scores={CATEGORIES[i]: round(float(row[i]), 4) for i in np.argsort(-row)[:3]},
                evidence=incident_evidence(text)))
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
                          method="llm", evidence=incident_evidence(text))


def classify_text(settings: Settings, text: str, config: Any = None) -> Classification:
    """The embedding classifier; the chat model only with `llm_classify_call` (by default the model's one
    answer call classifies), and when that call fails the embedding classifier still answers."""
    if settings.llm_enabled and settings.llm_classify_call:
        try:
            return classify_llm(settings, text, config)
        except Exception:  # a turn must end well: the model's failure is not the customer's
            pass
    return get_classifier(settings).classify(text)


if __name__ == "__main__":  # python -m sajang.graphs.inquiry.classifier  → rebuild the shipped vectors
    from sajang.config import get_settings

    print(get_classifier(get_settings()).save_vectors())
