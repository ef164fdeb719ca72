/* Web chat widget: one WebSocket to /chat/ws, history on (re)connect, pending resends.
 *
 * Customer-provided and agent text is only ever put into the page with textContent.
 * A message is "pending" until the server acknowledges it after its database commit;
 * pending messages survive a reload (localStorage) and are resent with the same id,
 * which the server recognises as a redelivery.
 *
 * Every visible string comes from `cfg.strings[lang]` (built-in tables plus the admin's
 * title, sent by the server for each offered language). An element showing one carries
 * data-i18n (and data-i18n-vars), so a language change re-renders it in place.
 */
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("ir-config").textContent);
  const base = new URL("..", document.currentScript.src); // .../chat/
  const strings = cfg.strings || {};
  const store = safeStorage();
  const KEY = { token: "ir-webchat-token", lang: "ir-webchat-lang", pending: "ir-webchat-pending" };
  const embedded = new URLSearchParams(location.search).get("embed") === "1";
  // a signed-in customer: the embedding site's signed identity, passed in our URL's
  // fragment by the loader (never sent to a server but ours, in the session request)
  const signed = new URLSearchParams(location.hash.slice(1)).get("identity") || "";

  const $ = (id) => document.getElementById(id);
  const log = $("log"), text = $("text"), quick = $("quick"), typing = $("typing");
  const conn = $("conn"), langSelect = $("lang"), form = $("compose"), prechat = $("prechat");

  let token = store.get(KEY.token) || "";
  let lang = pickLanguage();
  let ws = null;
  let lastId = 0;          // highest stored message id shown: history resumes after it
  let retryDelay = 500;
  let typingTimer = 0;
  let checked = false;     // asked /chat/session once since the page loaded
  const shown = new Map(); // "m:<id>" or "c:<client id>" -> <li>
  const pending = new Map(JSON.parse(store.get(KEY.pending) || "[]"));

  function safeStorage() {
    try {
      const s = window.localStorage; s.setItem("ir-probe", "1"); s.removeItem("ir-probe");
      return { get: (k) => s.getItem(k), set: (k, v) => s.setItem(k, v), del: (k) => s.removeItem(k) };
    } catch (_) { // storage blocked (third-party frame): the cookie still keeps the visitor
      const m = new Map();
      return { get: (k) => m.get(k) || null, set: (k, v) => m.set(k, v), del: (k) => m.delete(k) };
    }
  }

  // a var may itself be a string key ({ key: "agent" }), translated with the rest
  function t(key, vars) {
    const table = strings[lang] || strings[cfg.default_language] || {};
    let s = table[key] ?? key;
    for (const [k, v] of Object.entries(vars || {})) {
      s = s.split(`{${k}}`).join(typeof v === "object" ? t(v.key) : String(v));
    }
    return s;
  }

  // show string `key` in `el` now and after every language change; no key: empty
  function say(el, key, vars) {
    el.removeAttribute("data-i18n-vars");
    if (!key) { el.removeAttribute("data-i18n"); el.textContent = ""; return; }
    el.dataset.i18n = key;
    if (vars) el.dataset.i18nVars = JSON.stringify(vars);
    el.textContent = t(key, vars);
  }

  // same rules as channels/webchat/i18n.py: exact code, primary subtag, no/nn -> nb
  function matchLanguage(wanted) {
    const code = String(wanted).toLowerCase(), primary = code.split("-")[0];
    const find = (c) => cfg.languages.find((l) => l.toLowerCase() === c);
    return find(code) || find(primary) || (primary === "no" || primary === "nn" ? find("nb") : undefined);
  }

  function browserLanguage() {
    for (const wanted of navigator.languages || [navigator.language || ""]) {
      const hit = matchLanguage(wanted);
      if (hit) return hit;
    }
    return cfg.default_language;
  }

  function savedLanguage() { // the visitor's own pick in the switcher wins over the browser's
    const saved = store.get(KEY.lang);
    return saved && cfg.languages.includes(saved) ? saved : null;
  }

  function pickLanguage() { return savedLanguage() || browserLanguage(); }

  function setLanguage(code) {
    lang = code;
    langSelect.value = code;
    applyLanguage();
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t("title");
    document.querySelectorAll("[data-i18n]").forEach((el) => {
      el.textContent = t(el.dataset.i18n, el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : null);
    });
    document.querySelectorAll("[data-i18n-label]").forEach((el) => el.setAttribute("aria-label", t(el.dataset.i18nLabel)));
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    if (embedded) window.parent.postMessage({ type: "ir-webchat-lang", lang }, "*"); // the loader's button follows
  }

  function fillLanguages() {
    for (const code of cfg.languages) {
      const opt = document.createElement("option");
      opt.value = code;
      opt.textContent = (strings[code] || {}).name || code;
      langSelect.append(opt);
    }
    langSelect.value = lang;
    langSelect.addEventListener("change", () => {
      store.set(KEY.lang, langSelect.value); setLanguage(langSelect.value);
    });
    window.addEventListener("languagechange", () => { // the browser's languages changed
      if (!savedLanguage()) setLanguage(browserLanguage());
    });
  }

  // --- rendering ----------------------------------------------------------------------
  // `body` is text as it is (a message); `notice` a string key and its vars (a system line)
  function addMessage({ author, name, body, notice, key, pendingState }) {
    const li = document.createElement("li");
    li.className = `msg msg--${author}`;
    if (author !== "system") {
      const who = document.createElement("span");
      who.className = "who";
      if (name) who.textContent = name;
      else say(who, author === "customer" ? "you" : author);
      li.append(who);
    }
    const p = document.createElement("span");
    p.className = "body";
    if (notice) say(p, notice.key, notice.vars);
    else p.textContent = body;
    li.append(p);
    if (pendingState) li.classList.add("pending");
    log.append(li);
    if (key) shown.set(key, li);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function showQuickReplies(replies) {
    quick.replaceChildren();
    for (const q of replies || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = q.label;
      b.addEventListener("click", () => {
        quick.replaceChildren();
        submit({ type: "quick_reply", payload: q.payload, label: q.label }, q.label);
        text.focus();
      });
      quick.append(b);
    }
  }

  function onMessage(m) {
    if (m.id && shown.has(`m:${m.id}`)) return;
    let li = m.client_id && shown.get(`c:${m.client_id}`);
    if (li) {
      li.classList.remove("pending");
      if (m.id) shown.set(`m:${m.id}`, li);
    } else {
      li = addMessage({ author: m.author, name: m.name, body: m.text,
                        key: m.id ? `m:${m.id}` : null });
      if (m.client_id) shown.set(`c:${m.client_id}`, li);
    }
    for (const hook of messageHooks) hook(li, m); // attach.js: the message's files
    if (m.id) lastId = Math.max(lastId, m.id);
    if (m.author !== "customer") { setTyping(""); showQuickReplies(m.quick_replies); }
  }

  function setTyping(who) {
    clearTimeout(typingTimer);
    say(typing, who ? "typing" : null, who ? { name: who } : null);
    if (who) typingTimer = setTimeout(() => say(typing, null), 6000);
  }

  function onEvent(e) {
    const name = e.name || { key: "agent" };
    const notice = (k, vars) => addMessage({ author: "system", notice: { key: k, vars } });
    if (e.event === "agent_typing") setTyping(name);
    else if (e.event === "agent_joined") notice("joined", { name });
    else if (e.event === "agent_left") notice("left", { name });
    else if (e.event === "resolved") { setTyping(""); notice("resolved"); }
  }

  // --- sending --------------------------------------------------------------------------
  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID().replaceAll("-", "");
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function savePending() { store.set(KEY.pending, JSON.stringify([...pending])); }

  function submit(frame, shownText) {
    const id = newId();
    const full = { ...frame, id, lang };
    pending.set(id, full);
    savePending();
    addMessage({ author: "customer", body: shownText, key: `c:${id}`, pendingState: true });
    transmit(full);
  }

  function transmit(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  function onAck(a) {
    pending.delete(a.id);
    savePending();
    const li = shown.get(`c:${a.id}`);
    if (li) li.classList.remove("pending");
    if (conn.dataset.i18n === "slow_down" || conn.dataset.i18n === "restarting") say(conn, null);
    if (a.message_id) { shown.set(`m:${a.message_id}`, li); lastId = Math.max(lastId, a.message_id); }
  }

  function onError(e) {
    if (e.code === "bad_token") { token = ""; store.del(KEY.token); return; } // close follows
    const li = e.id && shown.get(`c:${e.id}`);
    if (e.retry) { // stays pending; resent on reconnect
      say(conn, e.code === "slow_down" ? "slow_down" : "restarting");
      return;
    }
    if (li) {
      pending.delete(e.id); savePending();
      li.classList.remove("pending"); li.classList.add("failed");
      li.dataset.reason = e.message || ""; // the server's words (English) for whoever debugs
      const err = document.createElement("span");
      err.className = "err";
      say(err, e.code === "rejected" ? "rejected" : "failed");
      li.append(err);
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    if (value.length > cfg.max_text) { say(conn, "too_long", { max: cfg.max_text }); return; }
    if (conn.dataset.i18n === "too_long") say(conn, null);
    text.value = "";
    submit({ type: "message", text: value }, value);
  });
  text.addEventListener("keydown", (ev) => { // Enter sends, Shift+Enter is a new line
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
  });

  // --- the pre-chat form (shown when the server asks for it) ------------------------------
  function showPrechat() {
    const pc = cfg.prechat;
    if (!pc) return;
    for (const f of ["name", "email"]) {
      const required = pc.required.includes(f);
      $(`prechat-${f}-row`).hidden = !pc.fields.includes(f);
      $(`prechat-${f}-row`).querySelector(".opt").hidden = required;
      $(`prechat-${f}`).required = required;
    }
    prechat.hidden = false;
    form.hidden = true;
    document.body.dataset.prechat = "open";
    $(`prechat-${pc.fields[0]}`).focus();
  }

  function prechatProblem(field, key) {
    say($(`prechat-${field}-error`), key);
    if (key) $(`prechat-${field}`).setAttribute("aria-invalid", "true");
    else $(`prechat-${field}`).removeAttribute("aria-invalid");
  }

  prechat.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const pc = cfg.prechat;
    const values = { name: $("prechat-name").value.trim(), email: $("prechat-email").value.trim() };
    let bad = null;
    for (const f of ["name", "email"]) {
      let key = null;
      if (pc.fields.includes(f) && pc.required.includes(f) && !values[f]) key = "prechat_required";
      else if (f === "email" && values.email && !$("prechat-email").checkValidity()) key = "prechat_email_invalid";
      prechatProblem(f, key);
      if (key && !bad) bad = f;
    }
    if (bad) { $(`prechat-${bad}`).focus(); return; }
    const resp = await fetch(new URL("profile", base), {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, ...values }),
    }).catch(() => null);
    if (!resp || !resp.ok) {
      const code = resp ? ((await resp.json().catch(() => ({}))).error || {}).code : "";
      if (code === "email_invalid") prechatProblem("email", "prechat_email_invalid");
      else if (code === "name_required" || code === "email_required") prechatProblem(code.split("_")[0], "prechat_required");
      else say(conn, "failed");
      return;
    }
    prechat.hidden = true;
    form.hidden = false;
    document.body.dataset.prechat = "done";
    text.focus();
  });

  // --- connection -----------------------------------------------------------------------
  function forgetConversation() { // another visitor now: nothing of the last one stays
    pending.clear();
    savePending();
    shown.clear();
    log.replaceChildren();
    lastId = 0;
  }

  async function ensureToken() {
    if (token && checked) return;
    const before = token || store.get(KEY.token) || "";
    const resp = await fetch(new URL("session", base), {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: before, identity: signed }),
    });
    if (!resp.ok) throw new Error(`session: HTTP ${resp.status}`);
    const data = await resp.json();
    token = data.token;
    checked = true;
    store.set(KEY.token, token);
    if (before && before.split(".")[0] !== data.visitor) forgetConversation();
    document.body.dataset.identity = data.identity || "none";
    if (data.prechat) showPrechat();
  }

  async function connect() {
    say(conn, "connecting");
    try { await ensureToken(); } catch (_) { return reconnectLater(); }
    const url = new URL("ws", base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(url);
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "hello", token, after: lastId, lang })));
    ws.addEventListener("message", (ev) => dispatch(JSON.parse(ev.data)));
    ws.addEventListener("close", reconnectLater);
  }

  function reconnectLater() {
    ws = null;
    say(conn, "offline");
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  function dispatch(f) {
    if (f.type === "welcome") {
      retryDelay = 500;
      say(conn, null);
      document.body.dataset.visitor = f.visitor;
      f.messages.forEach(onMessage);
      for (const frame of pending.values()) transmit(frame); // deduped by id on the server
      document.body.dataset.ready = "1";
    } else if (f.type === "message") onMessage(f);
    else if (f.type === "ack") onAck(f);
    else if (f.type === "event") onEvent(f);
    else if (f.type === "error") onError(f);
  }

  // --- for attach.js (issue 24): files in messages, and sending one ----------------------
  const messageHooks = [];
  window.irChat = { messageHooks, addMessage, say, t, base, newId, acked: onAck,
                    token: () => token, lang: () => lang };

  // --- start ----------------------------------------------------------------------------
  fillLanguages();
  applyLanguage();
  for (const [id, frame] of pending) {
    addMessage({ author: "customer", body: frame.label || frame.text, key: `c:${id}`, pendingState: true });
  }
  if (embedded) {
    const close = $("close");
    close.hidden = false;
    const done = () => window.parent.postMessage({ type: "ir-webchat-close" }, "*");
    close.addEventListener("click", done);
    document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") done(); });
    text.focus();
  }
  connect();
})();
