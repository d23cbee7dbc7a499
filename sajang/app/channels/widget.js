/* Sajang chat widget: a bubble on the shop's site that talks to /api/v1/chat/* of the server it came from.
   <script src="https://SAJANG/widget.js" data-member-id="…" data-member-hash="…" async></script> */
(function () {
  "use strict";
  var CONFIG = /*CONFIG*/{};
  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script || window.__sajangWidget) return;
  window.__sajangWidget = true;
  var BASE = new URL(script.src, location.href).origin;
  var API = BASE + "/api/v1/chat";
  var STORE_KEY = "sajang-chat:" + BASE;
  var member = {id: script.getAttribute("data-member-id"), hash: script.getAttribute("data-member-hash")};
  var POLL_MS = 5000;

  var host = document.createElement("div");
  host.id = "sajang-chat-widget";
  var root = host.attachShadow ? host.attachShadow({mode: "open"}) : host;
  var color = CONFIG.color || "#ff6b35";
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:'Pretendard','Apple SD Gothic Neo','Noto Sans KR','NanumGothic','Malgun Gothic',sans-serif}" +
    ".bubble{position:fixed;right:20px;bottom:20px;width:60px;height:60px;border-radius:50%;border:0;cursor:pointer;" +
    "background:" + color + ";color:#fff;box-shadow:0 6px 20px rgba(0,0,0,.22);display:flex;align-items:center;justify-content:center;z-index:2147483000}" +
    ".bubble svg{width:30px;height:30px}" +
    ".badge{position:absolute;top:2px;right:2px;min-width:18px;height:18px;border-radius:9px;background:#e02424;color:#fff;font-size:11px;line-height:18px;text-align:center;padding:0 5px;display:none}" +
    ".panel{position:fixed;right:20px;bottom:92px;width:380px;height:min(640px,calc(100vh - 120px));background:#fff;border-radius:18px;" +
    "box-shadow:0 12px 40px rgba(0,0,0,.25);display:none;flex-direction:column;overflow:hidden;z-index:2147483000}" +
    ".panel.open{display:flex}" +
    ".head{background:" + color + ";color:#fff;padding:16px 18px;display:flex;align-items:center;gap:12px}" +
    ".avatar{width:40px;height:40px;border-radius:50%;background:rgba(255,255,255,.25);display:flex;align-items:center;justify-content:center;font-weight:700;font-size:18px}" +
    ".title{font-size:16px;font-weight:700}.sub{font-size:12px;opacity:.9;margin-top:2px}" +
    ".close{margin-left:auto;background:transparent;border:0;color:#fff;font-size:26px;cursor:pointer;line-height:1}" +
    ".log{flex:1;overflow-y:auto;padding:16px 14px;background:#f6f7f9;display:flex;flex-direction:column;gap:10px}" +
    ".row{display:flex;flex-direction:column;max-width:82%}.row.me{align-self:flex-end;align-items:flex-end}.row.them{align-self:flex-start}" +
    ".who{font-size:11px;color:#6b7280;margin:0 4px 3px}" +
    ".msg{padding:10px 13px;border-radius:16px;font-size:14px;line-height:1.5;white-space:pre-wrap;word-break:break-word}" +
    ".me .msg{background:" + color + ";color:#fff;border-bottom-right-radius:4px}" +
    ".them .msg{background:#fff;color:#111827;border:1px solid #e5e7eb;border-bottom-left-radius:4px}" +
    ".agent .msg{background:#eef6ff;border-color:#cfe3ff}" +
    ".meta{font-size:11px;color:#9ca3af;margin:3px 4px 0}" +
    ".chips{display:flex;flex-wrap:wrap;gap:6px;padding:8px 12px;background:#f6f7f9;border-top:1px solid #eef0f3}" +
    ".chip{border:1px solid " + color + ";color:" + color + ";background:#fff;border-radius:16px;padding:6px 12px;font-size:13px;cursor:pointer}" +
    ".chip:hover{background:" + color + ";color:#fff}" +
    ".typing .msg{display:flex;gap:4px;align-items:center;padding:13px 14px}" +
    ".dot{width:7px;height:7px;border-radius:50%;background:#9ca3af;animation:b 1.2s infinite}" +
    ".dot:nth-child(2){animation-delay:.2s}.dot:nth-child(3){animation-delay:.4s}" +
    "@keyframes b{0%,60%,100%{opacity:.3;transform:translateY(0)}30%{opacity:1;transform:translateY(-3px)}}" +
    "form{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #e5e7eb;background:#fff}" +
    "textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:20px;padding:9px 14px;font-size:14px;height:40px;max-height:96px;outline:none}" +
    "textarea:focus{border-color:" + color + "}" +
    ".send{border:0;border-radius:20px;background:" + color + ";color:#fff;font-size:14px;font-weight:600;padding:0 16px;cursor:pointer}" +
    ".send:disabled{opacity:.5;cursor:default}" +
    ".err{font-size:12px;color:#b91c1c;padding:0 14px 6px;background:#fff;display:none}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100%;border-radius:0}.bubble.hidden{display:none}}" +
    "</style>" +
    "<button class='bubble' type='button' aria-label='채팅 상담 열기'>" +
    "<svg viewBox='0 0 24 24' fill='currentColor'><path d='M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.6 3.5 6.1L4.6 21l4.3-2.4c1 .3 2 .4 3.1.4 5.5 0 10-3.6 10-8s-4.5-8-10-8z'/></svg>" +
    "<span class='badge'></span></button>" +
    "<section class='panel' role='dialog' aria-label='채팅 상담'>" +
    "<div class='head'><div class='avatar'></div><div><div class='title'></div><div class='sub'>AI 상담 · 필요하면 상담원이 이어서 답해요</div></div>" +
    "<button class='close' type='button' aria-label='닫기'>×</button></div>" +
    "<div class='log' aria-live='polite'></div><div class='chips'></div><div class='err'></div>" +
    "<form><textarea rows='1' placeholder='메시지를 입력하세요' aria-label='메시지'></textarea>" +
    "<button class='send' type='submit'>보내기</button></form></section>";

  function $(sel) { return root.querySelector(sel); }
  var bubble = $(".bubble"), panel = $(".panel"), log = $(".log"), chips = $(".chips"), input = $("textarea");
  var sendBtn = $(".send"), errBox = $(".err"), badge = $(".badge");
  $(".title").textContent = CONFIG.shop || "";
  $(".avatar").textContent = (CONFIG.shop || "S").charAt(0);

  var session = load(), messages = [], busy = false, pollTimer = null, seen = 0;

  function load() { try { return JSON.parse(localStorage.getItem(STORE_KEY) || "null"); } catch (e) { return null; } }
  function save(s) { session = s; try { s ? localStorage.setItem(STORE_KEY, JSON.stringify(s)) : localStorage.removeItem(STORE_KEY); } catch (e) {} }

  function call(method, path, body) {
    var headers = {"Content-Type": "application/json"};
    if (session) headers.Authorization = "Bearer " + session.token;
    return fetch(API + path, {method: method, headers: headers, body: body ? JSON.stringify(body) : undefined})
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { j.__status = r.status; return j; }); });
  }

  function ensureSession() {
    if (session && session.member === (member.id || null)) return Promise.resolve(session);
    var body = {channel: "widget"};
    if (member.id && member.hash) { body.member_id = member.id; body.member_hash = member.hash; }
    save(null);
    return call("POST", "/sessions", body).then(function (j) {
      if (j.__status !== 201) throw new Error(j.message || "chat unavailable");
      save({thread_id: j.thread_id, token: j.token, member: member.id || null, name: j.customer_name || null});
      return session;
    });
  }

  function hhmm(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString("ko-KR", {hour: "2-digit", minute: "2-digit"});
  }

  function row(cls, who, text, meta) {
    var r = document.createElement("div"); r.className = "row " + cls;
    if (who) { var w = document.createElement("div"); w.className = "who"; w.textContent = who; r.appendChild(w); }
    var m = document.createElement("div"); m.className = "msg"; m.textContent = text; r.appendChild(m);
    if (meta) { var t = document.createElement("div"); t.className = "meta"; t.textContent = meta; r.appendChild(t); }
    return r;
  }

  function render() {
    log.textContent = "";
    log.appendChild(row("them", CONFIG.shop, CONFIG.welcome, ""));
    var lastAnswer = -1;
    messages.forEach(function (m, i) { if (m.role !== "customer") lastAnswer = i; });
    messages.forEach(function (m, i) {
      if (m.role === "customer") {
        log.appendChild(row("me", "", m.text, hhmm(m.time) + (i < lastAnswer ? " · 읽음" : "")));
      } else if (m.role === "agent") {
        log.appendChild(row("them agent", "상담원 " + (m.author || ""), m.text, hhmm(m.time)));
      } else {
        log.appendChild(row("them", "AI 상담", m.text, hhmm(m.time)));
      }
    });
    if (busy) {
      var t = row("them typing", "", "", "");
      t.querySelector(".msg").innerHTML = "<span class='dot'></span><span class='dot'></span><span class='dot'></span>";
      t.setAttribute("aria-label", "답변 작성 중");
      log.appendChild(t);
    }
    log.scrollTop = log.scrollHeight;
  }

  function renderChips() {
    chips.textContent = "";
    (CONFIG.chips || []).forEach(function (c) {
      var b = document.createElement("button"); b.type = "button"; b.className = "chip"; b.textContent = c.label;
      b.addEventListener("click", function () { send(c.text); });
      chips.appendChild(b);
    });
  }

  function showError(text) { errBox.textContent = text || ""; errBox.style.display = text ? "block" : "none"; }

  function refresh() {
    if (!session) return Promise.resolve();
    return call("GET", "/sessions/" + session.thread_id + "/messages").then(function (j) {
      if (j.__status === 401 || j.__status === 404) { save(null); messages = []; render(); return; }
      if (j.__status !== 200) return;
      var changed = (j.messages || []).length !== messages.length;
      messages = j.messages || [];
      if (changed && !busy) render();
      var agentCount = messages.filter(function (m) { return m.role === "agent"; }).length;
      if (!panel.classList.contains("open") && agentCount > seen) {
        badge.textContent = String(agentCount - seen); badge.style.display = "block";
      }
    }).catch(function () {});
  }

  function send(text) {
    text = (text || "").trim();
    if (!text || busy) return;
    showError("");
    busy = true; sendBtn.disabled = true;
    messages.push({role: "customer", text: text, time: new Date().toISOString()});
    render();
    ensureSession().then(function (s) {
      return call("POST", "/sessions/" + s.thread_id + "/messages", {text: text});
    }).then(function (j) {
      if (j.__status === 401 || j.__status === 404) { save(null); throw new Error("대화가 만료되었어요. 다시 보내 주세요."); }
      if (j.__status !== 200) throw new Error(j.message || "보내지 못했어요.");
      busy = false;
      return refresh();
    }).catch(function (e) {
      messages.pop();
      input.value = text;
      showError(e.message || "보내지 못했어요. 다시 시도해 주세요.");
    }).then(function () { busy = false; sendBtn.disabled = false; render(); });
  }

  function open() {
    panel.classList.add("open"); bubble.classList.add("hidden");
    badge.style.display = "none";
    seen = messages.filter(function (m) { return m.role === "agent"; }).length;
    render(); input.focus();
    refresh().then(function () { seen = messages.filter(function (m) { return m.role === "agent"; }).length; });
    if (!pollTimer) pollTimer = setInterval(refresh, POLL_MS);
  }

  function close() {
    panel.classList.remove("open"); bubble.classList.remove("hidden");
    seen = messages.filter(function (m) { return m.role === "agent"; }).length;
  }

  bubble.addEventListener("click", function () { panel.classList.contains("open") ? close() : open(); });
  $(".close").addEventListener("click", close);
  $("form").addEventListener("submit", function (e) { e.preventDefault(); var t = input.value; input.value = ""; send(t); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); var t = input.value; input.value = ""; send(t); }
  });

  renderChips();
  render();
  (document.body || document.documentElement).appendChild(host);
  if (session) { refresh(); pollTimer = setInterval(refresh, POLL_MS * 3); }
})();
