"""Korean-first strings of the agent hub (English switchable), and the labels of order/claim states.

No emoji in the text: a machine without an emoji font (CI, many Linux desktops) shows boxes. The
buttons and queue markers get their ✅ 👎 📎 🤖 👤 look from small inline SVG icons instead
(`agent_hub.css`, `agent_render.ICON_*`)."""

from __future__ import annotations

from sajang.labels import CLAIM_STATUS_LABELS, CLAIM_TYPE_LABELS, ORDER_STATUS_LABELS
from sajang.ui.i18n import Strings

T = Strings({
    "page_title": {"ko": "상담원 허브 · 사장님 AI 매니저", "en": "Agent hub · Sajang"},
    "brand": {"ko": "상담원 허브", "en": "Agent hub"},
    "nav_inquiries": {"ko": "문의", "en": "Inquiries"},
    "nav_reviews": {"ko": "리뷰", "en": "Reviews"},
    "nav_qna": {"ko": "상품 Q&A", "en": "Product Q&A"},
    "nav_learned": {"ko": "학습된 답변", "en": "Learned answers"},
    "role_agent": {"ko": "상담원", "en": "agent"},
    "role_admin": {"ko": "관리자", "en": "admin"},
    "not_logged_in": {"ko": "로그인이 필요합니다", "en": "Please log in"},
    "logout": {"ko": "로그아웃", "en": "Log out"},
    "language": {"ko": "언어", "en": "Language"},
    # queue
    "queue_title": {"ko": "문의 대기열", "en": "Queue"},
    "tab_new": {"ko": "새로 들어온 문의", "en": "New"},
    "tab_mine": {"ko": "내가 처리 중인 문의", "en": "Mine"},
    "tab_done": {"ko": "처리 완료", "en": "Resolved"},
    "queue_empty_new": {"ko": "기다리는 문의가 없어요. 새 문의가 오면 여기에 바로 나타납니다.",
                        "en": "No one is waiting. New handoffs appear here by themselves."},
    "queue_empty_mine": {"ko": "맡은 문의가 없어요. 새 문의에서 골라 맡아 주세요.",
                         "en": "Nothing assigned to you. Pick one from New."},
    "queue_empty_done": {"ko": "아직 처리 완료된 문의가 없어요.", "en": "Nothing resolved yet."},
    "owner_bot": {"ko": "상담원 대기", "en": "waiting"},
    "qna_badge": {"ko": "상품 Q&A", "en": "Product Q&A"},
    "qna_left": {"ko": "답변 기한 {h}시간 남음", "en": "{h} h left"},
    "qna_overdue": {"ko": "답변 기한 {h}시간 지남", "en": "{h} h overdue"},
    "owner_person": {"ko": "{name}", "en": "{name}"},
    "owner_done": {"ko": "{name}", "en": "{name}"},
    "guest": {"ko": "비회원", "en": "Guest"},
    "ago_now": {"ko": "방금", "en": "just now"},
    "ago_min": {"ko": "{n}분", "en": "{n} min"},
    "ago_hour": {"ko": "{n}시간", "en": "{n} h"},
    "ago_day": {"ko": "{n}일", "en": "{n} d"},
    "waiting": {"ko": "대기 {t}", "en": "waiting {t}"},
    "search_label": {"ko": "문의 검색", "en": "Search inquiries"},
    "search_ph": {"ko": "고객명 · 전화 뒷자리 4개 · 주문번호 · 대화 내용", "en": "Name, phone last 4, order no., text"},
    "search_results": {"ko": "「{q}」 검색 결과 {n}건", "en": "{n} results for “{q}”"},
    "search_empty": {"ko": "검색어와 맞는 문의가 없어요.", "en": "No inquiry matches the search."},
    "notify_on": {"ko": "긴급 문의 알림 켜기", "en": "Alert me to urgent inquiries"},
    "alert_title": {"ko": "긴급 문의가 들어왔어요", "en": "New urgent inquiry"},
    "alert_body": {"ko": "상담원 허브의 대기열에서 확인해 주세요.", "en": "Open the agent hub queue."},
    "service_missing": {"ko": "문의 서비스를 아직 불러올 수 없습니다: {error}",
                        "en": "The inquiry service is not available yet: {error}"},
    # conversation
    "conv_title": {"ko": "대화", "en": "Conversation"},
    "conv_pick": {"ko": "왼쪽 대기열에서 문의를 고르면 대화가 여기에 열립니다.",
                  "en": "Pick an inquiry from the queue to open the conversation."},
    "role_customer": {"ko": "고객", "en": "Customer"},
    "role_ai": {"ko": "AI", "en": "AI"},
    "role_system": {"ko": "안내", "en": "Notice"},
    "role_agent_msg": {"ko": "{name} (상담원)", "en": "{name} (agent)"},
    "claim": {"ko": "이 문의 맡기", "en": "Take this inquiry"},
    "claim_won": {"ko": "이 문의를 맡았습니다. 고객에게 답변해 주세요.", "en": "You took this inquiry."},
    "claim_lost": {"ko": "이미 다른 상담원{who}이 맡은 문의입니다. 대기열을 새로고침했어요.",
                   "en": "Another agent{who} already took this inquiry. The queue was refreshed."},
    "claimed_by_other": {"ko": "{name} 상담원이 처리 중인 문의입니다 (읽기 전용).",
                         "en": "{name} is handling this inquiry (read-only)."},
    "resolved_note": {"ko": "처리 완료된 문의입니다.", "en": "This inquiry is resolved."},
    "suggest_label": {"ko": "AI 제안 답변", "en": "AI suggestion"},
    "suggest_none": {"ko": "(제안 없음 — 다시 제안을 눌러 보세요)", "en": "(no suggestion — try regenerate)"},
    "use_ai": {"ko": "AI 답변 사용", "en": "Use AI answer"},
    "regen": {"ko": "다시 제안", "en": "Regenerate"},
    "feedback": {"ko": "피드백", "en": "Feedback"},
    "attach": {"ko": "첨부", "en": "Attach"},
    "canned": {"ko": "상용구", "en": "Canned reply"},
    "canned_pick_one": {"ko": "상용구 넣기…", "en": "Insert a canned reply…"},
    "canned_missing": {"ko": "채우지 못한 항목이 있어요: {names} — 답변 입력란에서 직접 고쳐 주세요.",
                       "en": "Some values are missing: {names} — fill them in the reply box."},
    "canned_unknown": {"ko": "알 수 없는 변수: {names}", "en": "Unknown variables: {names}"},
    "canned_inserted": {"ko": "상용구를 넣었습니다: 「{title}」. 고친 뒤 보내기를 눌러 주세요.",
                        "en": "Inserted “{title}”. Edit it, then send."},
    "input_label": {"ko": "답변 입력", "en": "Your reply"},
    "input_ph": {"ko": "고객에게 보낼 답변을 입력하세요 (Enter 줄바꿈, 보내기 버튼으로 전송)",
                 "en": "Type the reply to the customer"},
    "send": {"ko": "보내기", "en": "Send"},
    "resolve": {"ko": "처리 완료", "en": "Resolve"},
    "sent": {"ko": "답변을 보냈습니다.", "en": "Reply sent."},
    "sent_file": {"ko": "사진을 보냈습니다: {name}", "en": "Photo sent: {name}"},
    "file_caption": {"ko": "사진을 보내 드립니다. ({name})", "en": "Here is a photo. ({name})"},
    "empty_reply": {"ko": "보낼 내용을 입력해 주세요.", "en": "Type a reply first."},
    "resolved": {"ko": "문의를 처리 완료했습니다.", "en": "Inquiry resolved."},
    "no_thread": {"ko": "먼저 대기열에서 문의를 골라 주세요.", "en": "Pick an inquiry first."},
    "fb_title": {"ko": "올바른 답변 가르치기", "en": "Teach the correct answer"},
    "fb_help": {"ko": "AI가 틀렸다면 고객에게 했어야 할 올바른 답변을 적어 주세요. 바로 학습되어 다음 문의부터 쓰입니다. "
                      "주문번호·연락처 같은 개인 정보는 빼고 일반적인 답으로 적어 주세요.",
                "en": "Write the answer the AI should have given. It is learned at once. Leave out personal data."},
    "fb_answer": {"ko": "올바른 답변", "en": "Correct answer"},
    "fb_submit": {"ko": "학습시키기", "en": "Teach"},
    "fb_cancel": {"ko": "닫기", "en": "Close"},
    "fb_empty": {"ko": "올바른 답변을 입력해 주세요.", "en": "Type the correct answer."},
    "fb_learned": {"ko": "학습했습니다 (#{id}). 이제 비슷한 질문 「{question}」에는 이렇게 답합니다: 「{answer}」 — "
                         "[학습된 답변] 탭에서 되돌릴 수 있어요.",
                   "en": "Learned (#{id}). Similar questions like “{question}” now get: “{answer}” — undo it in "
                         "Learned answers."},
    "error": {"ko": "처리하지 못했습니다: {error}", "en": "Could not do that: {error}"},
    # profile
    "profile_title": {"ko": "고객 프로필", "en": "Customer profile"},
    "profile_pick": {"ko": "문의를 고르면 고객 정보가 여기에 나옵니다.", "en": "Pick an inquiry to see the customer."},
    "profile_guest": {"ko": "비회원 문의입니다{name}. 주문 정보가 연결되어 있지 않아요.",
                      "en": "Guest inquiry{name}: no orders are linked."},
    "profile_unknown": {"ko": "고객 {id} 정보를 찾을 수 없습니다.", "en": "Customer {id} not found."},
    "no_segment": {"ko": "세그먼트 미분류", "en": "No segment yet"},
    "total_spent": {"ko": "누적 결제 {amount}", "en": "Spent {amount}"},
    "order_count": {"ko": "주문 {n}건", "en": "{n} orders"},
    "joined": {"ko": "가입 {date}", "en": "Joined {date}"},
    "won": {"ko": "{n}원", "en": "₩{n}"},
    "recent_orders": {"ko": "최근 주문", "en": "Recent orders"},
    "past_claims": {"ko": "지난 클레임", "en": "Past claims"},
    "past_reviews": {"ko": "지난 리뷰", "en": "Past reviews"},
    "none": {"ko": "없음", "en": "None"},
    "more": {"ko": "외 {n}건", "en": "+{n} more"},
    "tracking": {"ko": "{courier} {no}", "en": "{courier} {no}"},
    "articles": {"ko": "AI 추천 매뉴얼", "en": "Suggested manual articles"},
    "articles_none": {"ko": "이 문의에 맞는 매뉴얼을 찾지 못했어요.", "en": "No matching article."},
    "articles_error": {"ko": "매뉴얼 검색을 할 수 없습니다: {error}", "en": "Manual search unavailable: {error}"},
    # learned answers page
    "learned_title": {"ko": "학습된 답변", "en": "Learned answers"},
    "learned_help": {"ko": "상담원이 [피드백]으로 가르친 답변입니다. AI는 비슷한 질문에 바로 이 답변을 씁니다. "
                           "잘못 배운 답변은 [되돌리기]로 끌 수 있어요 (기록은 남습니다).",
                     "en": "Answers agents taught with Feedback. Undo switches one off (the record stays)."},
    "learned_search": {"ko": "검색 (질문·답변)", "en": "Search (question or answer)"},
    "learned_inactive": {"ko": "되돌린 답변도 보기", "en": "Show undone answers"},
    "learned_refresh": {"ko": "새로고침", "en": "Refresh"},
    "learned_empty": {"ko": "아직 학습된 답변이 없어요. 문의 화면의 [피드백]으로 가르칠 수 있습니다.",
                      "en": "Nothing learned yet. Teach with Feedback in a conversation."},
    "learned_count": {"ko": "{n}개 (활성 {active}개)", "en": "{n} ({active} active)"},
    "learned_q": {"ko": "질문", "en": "Question"},
    "learned_a": {"ko": "답변", "en": "Answer"},
    "learned_by": {"ko": "{name} · {time}", "en": "{name} · {time}"},
    "learned_from": {"ko": "대화 {thread}", "en": "conversation {thread}"},
    "learned_active": {"ko": "사용 중", "en": "Active"},
    "learned_off": {"ko": "되돌림 ({who}, {time})", "en": "Undone ({who}, {time})"},
    "learned_undo": {"ko": "되돌리기", "en": "Undo"},
    "learned_undo_confirm": {"ko": "이 학습된 답변을 되돌릴까요? AI가 더 이상 쓰지 않습니다.",
                             "en": "Undo this learned answer? The AI will stop using it."},
    "learned_undone": {"ko": "#{id} 답변을 되돌렸습니다.", "en": "Answer #{id} undone."},
    "learned_unavailable": {"ko": "지식 베이스를 불러올 수 없습니다: {error}", "en": "Knowledge base unavailable: {error}"},
    # canned replies page
    "nav_canned": {"ko": "상용구", "en": "Canned replies"},
    "canned_help": {"ko": "상담원이 답변 입력란에 넣어 고쳐 쓰는 저장된 답변입니다. 변수는 대화에 맞게 채워집니다: {vars}. "
                          "값이 없으면 [주문번호 입력]처럼 표시됩니다. 추가·수정·삭제는 관리자만 할 수 있어요.",
                    "en": "Saved replies agents insert into the reply box and edit. Variables are filled from the "
                          "conversation: {vars}. A missing value shows as a placeholder. Only the admin edits."},
    "canned_pick": {"ko": "수정할 상용구", "en": "Reply to edit"},
    "canned_new": {"ko": "(새 상용구)", "en": "(new reply)"},
    "canned_title": {"ko": "제목", "en": "Title"},
    "canned_body": {"ko": "내용", "en": "Text"},
    "canned_save": {"ko": "저장", "en": "Save"},
    "canned_delete": {"ko": "삭제", "en": "Delete"},
    "canned_saved": {"ko": "저장했습니다: 「{title}」", "en": "Saved: “{title}”"},
    "canned_deleted": {"ko": "삭제했습니다: 「{title}」", "en": "Deleted: “{title}”"},
    "canned_empty": {"ko": "아직 상용구가 없어요.", "en": "No canned replies yet."},
    "canned_admin_only": {"ko": "상용구는 관리자만 추가·수정·삭제할 수 있어요.", "en": "Only the admin edits canned replies."},
    "reviews_pending": {"ko": "리뷰 관리 화면을 준비 중입니다.", "en": "The reviews screen is not installed yet."},
})



def _badges(table: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The labels of `sajang.labels` as badges (English capitalised: "on its way" → "On its way")."""
    return {k: {"ko": v["ko"], "en": v["en"][:1].upper() + v["en"][1:]} for k, v in table.items()}


ORDER_STATUS = _badges(ORDER_STATUS_LABELS)
CLAIM_TYPE = _badges(CLAIM_TYPE_LABELS)
CLAIM_STATUS = _badges(CLAIM_STATUS_LABELS)
