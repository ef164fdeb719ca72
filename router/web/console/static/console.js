// Agent console: vanilla JS over /api/v1 with the console's session cookie.
// Every text that comes from a customer, a bot or an agent is inserted with textContent,
// never as HTML (the page's CSP forbids inline script as a second layer).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const BASE = location.pathname.replace(/console\/?$/, "");
  const API = BASE + "api/v1";
  const CHANNELS = { email: "Email", telegram: "Telegram", slack: "Slack", webchat: "Web chat" };
  const AUTHORS = { customer: "Customer", bot: "Bot", system: "System" };
  const S = {
    csrf: "", me: null, queues: [], agents: [], view: { kind: "mine", queue: "" }, convs: [],
    open: null, contact: null, replies: [], unread: new Map(), ws: null, cursor: 0,
    timers: {}, lastTyping: 0, retry: 500,
  };

  // --- small helpers --------------------------------------------------------------------
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }
  // Put `rows` in `list`, keeping every row already there that is equal to its new
  // version (same attributes, text and children). A refresh every few seconds must not
  // swap the element under the agent's pointer or keyboard focus: a click whose mouse-up
  // lands on a new element is lost, and a focused row that is replaced drops focus.
  function keepRows(list, rows) {
    const kept = [...list.children];
    const wanted = rows.map((row) => {
      // the next old row first: an unchanged list costs one comparison a row
      const i = kept.length && kept[0].isEqualNode(row) ? 0 : kept.findIndex((old) => old.isEqualNode(row));
      return i < 0 ? row : kept.splice(i, 1)[0];
    });
    for (const gone of kept) gone.remove();  // first, so a kept row keeps its place
    wanted.forEach((row, i) => {
      if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
    });
  }
  function icon(channel) {
    const base = String(channel || "").split(":")[0];
    const name = CHANNELS[base] ? base : "other";
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", CHANNELS[base] || base || "channel");
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = channel || "";
    const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", "#i-" + name);
    svg.append(title, use);
    return svg;
  }
  const chip = (text, cls = "chip", label) => el("span", { class: cls, text, "aria-label": label });
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
  function ago(seconds) {
    const m = Math.round(seconds / 60);
    return m < 60 ? `${m} min` : m < 1440 ? `${Math.round(m / 60)} h` : `${Math.round(m / 1440)} d`;
  }
  function debounce(key, fn, ms = 150) {
    clearTimeout(S.timers[key]);
    S.timers[key] = setTimeout(fn, ms);
  }
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = S.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const url = path.startsWith("console/") ? BASE + path : API + path;
    const r = await fetch(url, { method, headers, credentials: "same-origin",
                                 body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await r.json(); } catch { data = null; }
    if (r.status === 401 && !path.startsWith("console/")) showSignin();
    if (!r.ok) throw new ApiError(r.status, (data && data.error && data.error.message) || r.statusText);
    return data;
  }
  function fail(where, err) { $(where).textContent = err.message || String(err); }

  // --- sign-in --------------------------------------------------------------------------
  function showSignin() {
    if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
    $("app").hidden = true;
    $("signin").hidden = false;
    $("email").focus();
  }
  $("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("signin-error").textContent = "";
    const token = $("token").value.trim();
    const body = token ? { token } : { email: $("email").value.trim(), password: $("password").value };
    try {
      const s = await call("POST", "console/login", body);
      $("password").value = ""; $("token").value = "";
      if (s.two_factor) return window.consoleTwoFactor(s, start);  // signin2fa.js (issue 29)
      await start(s);
    } catch (err) { fail("signin-error", err); }
  });
  $("logout").addEventListener("click", async () => {
    try { await call("POST", "console/logout", {}); } catch { /* signed out anyway */ }
    S.csrf = "";
    showSignin();
  });

  async function start(session) {
    S.csrf = session.csrf;
    S.me = session.agent;
    $("me").textContent = S.me.display_name || S.me.name;
    $("online").checked = Boolean(S.me.online);
    $("reports-link").hidden = S.me.role !== "admin";  // the reports page is admin-only
    $("faq-link").hidden = S.me.role !== "admin";  // and so are FAQ suggestions
    $("audit-link").hidden = S.me.role !== "admin";  // and the audit log (issue 29)
    $("signin").hidden = true;
    $("app").hidden = false;
    document.body.dataset.agent = S.me.name;
    const agents = await call("GET", "/agents").catch(() => ({ items: [] }));
    S.agents = agents.items;
    await Promise.all([loadQueues(), loadList()]);
    connect();
    document.body.dataset.ready = "1";
    document.dispatchEvent(new CustomEvent("console:ready", { detail: S.me }));  // notify.js
  }

  // --- queues and lists -----------------------------------------------------------------
  function slaBadge(waitSeconds, targetSeconds) {
    if (waitSeconds == null || !targetSeconds) return null;
    const ratio = waitSeconds / targetSeconds;
    if (ratio >= 1) return chip("SLA breached", "badge badge--bad");
    if (ratio >= 0.75) return chip(`SLA ${ago(targetSeconds - waitSeconds)} left`, "badge badge--warn");
    return chip("SLA ok", "badge badge--ok");
  }
  async function loadQueues() {
    const asked = S.queuesAsked = (S.queuesAsked || 0) + 1;  // the newest counts win
    const [queues, mine] = await Promise.all([
      call("GET", "/queues"), call("GET", "/conversations?assignee=me&status=assigned&limit=200")]);
    if (asked !== S.queuesAsked) return;
    S.queues = queues.items;
    $("mine-count").textContent = String(mine.items.length);
    const list = $("queues");
    keepRows(list, S.queues.map((q, i) => {
      const b = el("button", { type: "button", class: "view", "data-queue": q.name,
                               "aria-keyshortcuts": i < 9 ? String(i + 1) : null,
                               "aria-current": S.view.kind === "queue" && S.view.queue === q.name ? "true" : null,
                               on: { click: () => setView("queue", q.name) } },
        el("span", { class: "name", text: q.name }),
        chip(String(q.waiting), "badge count", `${q.waiting} waiting`),
        slaBadge(q.oldest_waiting_seconds, q.sla && q.sla.first_response_seconds));
      if (q.oldest_waiting_seconds != null) b.title = `oldest waiting ${ago(q.oldest_waiting_seconds)}`;
      return el("li", {}, b);
    }));
    $("view-mine").setAttribute("aria-current", S.view.kind === "mine" ? "true" : "false");
    $("view-bot").setAttribute("aria-current", S.view.kind === "bot" ? "true" : "false");
    fillTransfer();
  }
  function setView(kind, queue = "", more = {}) {
    S.view = { kind, queue, ...more };  // search.js adds kinds "view" and "search" (issue 24)
    $("list-title").textContent = kind === "mine" ? "My conversations"
      : kind === "bot" ? "With the bot" : kind === "queue" ? `Waiting in ${queue}` : S.view.title || "";
    loadQueues();
    loadList();
  }
  $("view-mine").addEventListener("click", () => setView("mine"));
  $("view-bot").addEventListener("click", () => setView("bot"));

  // the customer asked for a person (again) while this conversation waited or was assigned
  function wantsHuman(c) {
    if (!c.wants_human_at || c.status === "resolved") return null;
    return chip("asked for a person", "badge badge--warn wants-human",
                `The customer asked for a person at ${new Date(c.wants_human_at).toLocaleTimeString()}`);
  }
  function convSla(c) {
    if (c.sla.first_response_breached_at || c.sla.resolution_breached_at) return chip("SLA breached", "badge badge--bad");
    const due = c.first_response_at ? c.sla.resolution_due : c.sla.first_response_due;
    if (!due || c.status === "resolved") return null;
    const left = (new Date(due) - Date.now()) / 1000;
    if (left <= 0) return chip("SLA breached", "badge badge--bad");
    return chip(`SLA ${ago(left)}`, left < 900 ? "badge badge--warn" : "badge badge--ok");
  }
  async function loadList() {
    // the newest load wins: a slow answer for the view the agent just left, or an older
    // state of this one, never overwrites a newer list
    const asked = S.listAsked = (S.listAsked || 0) + 1;
    let items;
    if (window.consoleLists) {  // search.js (issue 24): every list as rich rows
      items = await window.consoleLists.load(S.view);
    } else {
      // "With the bot": conversations no person has yet, newest first, to take over
      const q = S.view.kind === "mine" ? "assignee=me&status=assigned"
        : S.view.kind === "bot" ? "status=bot"
        : `status=queued&queue=${encodeURIComponent(S.view.queue)}&order=urgency`;
      items = (await call("GET", `/conversations?${q}&limit=100`)).items;
    }
    if (asked !== S.listAsked) return;
    S.convs = items;
    renderList();
  }
  function renderList() {
    $("convs-empty").hidden = S.convs.length > 0;
    keepRows($("convs"), S.convs.map((c) => {
      const unread = S.unread.get(c.id) || 0;
      if (window.consoleLists) {
        return window.consoleLists.row(c, { unread, current: Boolean(S.open && S.open.id === c.id),
                                            open: () => openConversation(c.id) });
      }
      return el("li", {}, el("button", {
        type: "button", class: "conv-item", "data-id": c.id,
        "aria-current": S.open && S.open.id === c.id ? "true" : null,
        on: { click: () => openConversation(c.id) } },
      icon(c.channel), el("span", { class: "title", text: `#${c.id}` }),
      unread ? chip(String(unread), "badge badge--unread", `${unread} unread`) : null,
      wantsHuman(c),
      convSla(c),
      el("span", { class: "sub", text: [c.language || "?", c.status, c.queue, c.priority !== "normal" ? c.priority : ""]
        .filter(Boolean).join(" · ") })));
    }));
  }
  function updateUnread() {
    let total = 0;
    for (const n of S.unread.values()) total += n;
    const badge = $("unread");
    badge.hidden = total === 0;
    badge.textContent = `${total} unread`;
    document.title = document.title.replace(/^\(\d+\) /, "");
    if (total) document.title = `(${total}) ${document.title}`;
  }

  // --- one conversation -----------------------------------------------------------------
  async function openConversation(id, { keepFocus = false } = {}) {
    S.opening = id;  // the newest request wins: a late refresh of another never switches back
    let c;
    try { c = await call("GET", `/conversations/${id}`); } catch (err) { return fail("action-error", err); }
    if (S.opening !== id) return;
    const changed = !S.open || S.open.id !== id;
    const moved = !changed && S.open.status !== c.status;
    S.open = c;
    S.unread.delete(id);
    updateUnread();
    renderConversation(c);
    renderList();
    $("app").classList.add("show-conv");
    if (changed) {
      $("compose-error").textContent = "";
      $("action-error").textContent = "";
      loadContact(c.contact_id);
      loadReplies(c.id);
      if (!keepFocus) $("messages").focus();
    } else if (moved) {
      loadContact(c.contact_id);  // the history shows every conversation's status
    }
  }
  function author(m) {
    if (m.author_kind === "agent") {
      const a = S.agents.find((x) => x.name === m.author_id);
      return (a && a.display_name) || m.author_id || "Agent";
    }
    return AUTHORS[m.author_kind] || m.author_kind;
  }
  function renderConversation(c) {
    $("conv-empty").hidden = true;
    $("conv-body").hidden = false;
    $("conv-title").textContent = `#${c.id}` + (S.contact && S.contact.id === c.contact_id && S.contact.display_name
      ? ` · ${S.contact.display_name}` : "");
    $("conv-meta").replaceChildren(...[
      el("span", { class: "chip" }, icon(c.channel), document.createTextNode(CHANNELS[c.channel.split(":")[0]] || c.channel)),
      chip(c.language ? `language ${c.language}` : "language ?", "chip"),
      chip(c.status, "chip status"), chip(`queue ${c.queue || "–"}`),
      c.assignee ? chip(`assigned to ${c.assignee}`) : null, wantsHuman(c), convSla(c)].filter(Boolean));
    // a bot-held conversation can be taken over at any time: claim, reply or transfer
    const open = c.status === "queued" || c.status === "assigned" || c.status === "bot";
    const bot = c.status === "bot";
    $("claim").disabled = c.status !== "queued" && !bot;
    $("claim").textContent = bot ? "Take over" : "Claim";
    $("claim").title = bot ? "Stop the bot here and answer yourself; the customer is told you joined" : "";
    $("resolve").disabled = c.status === "resolved";
    $("reopen").hidden = c.status !== "resolved";
    $("transfer").disabled = !open;
    $("transfer-to").disabled = !open;
    $("send").disabled = false;
    setMode(mode());
    const list = $("messages");
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...c.messages.map((m) => {
      const kind = m.internal ? "note" : m.author_kind;
      return el("li", { class: `msg msg--${kind}`, "data-id": m.id, "data-author": m.author_kind },
        el("span", { class: "head" }, icon(c.channel),
          el("span", { class: "who", text: author(m) + (m.internal ? " · internal note" : "") }),
          el("time", { datetime: m.created_at, text: when(m.created_at) })),
        el("span", { class: "body", text: m.text }));
    }));
    if (atEnd || list.dataset.conv !== String(c.id)) list.scrollTop = list.scrollHeight;
    list.dataset.conv = String(c.id);
    document.dispatchEvent(new CustomEvent("console:conversation", { detail: c }));  // macros.js
  }
  async function loadContact(id) {
    const box = $("contact-body");
    const asked = S.contactAsked = (S.contactAsked || 0) + 1;  // the newest load wins
    try {
      const p = await call("GET", `/contacts/${id}`);
      if (asked !== S.contactAsked) return;  // late: another conversation's contact
      S.contact = p;
      if (S.open) $("conv-title").textContent = `#${S.open.id}` + (p.display_name ? ` · ${p.display_name}` : "");
      const facts = el("dl", {});
      for (const [k, v] of [["Name", p.display_name], ["Email", p.email], ["Phone", p.phone], ["Language", p.language]]) {
        if (v) facts.append(el("dt", { text: k }), el("dd", { text: v }));
      }
      const ids = el("ul", {}, ...p.identities.map((i) => el("li", {}, icon(i.channel),
        document.createTextNode(" " + (i.username || i.display_name || i.external_id)))));
      const history = el("ul", {}, ...p.conversations.map((c) => el("li", {}, el("button", {
        type: "button", class: "conv-item", "aria-current": S.open && S.open.id === c.id ? "true" : null,
        on: { click: () => openConversation(c.id) } }, icon(c.channel),
      el("span", { class: "title", text: `#${c.id}` }), chip(c.status),
      el("span", { class: "sub", text: when(c.created_at) })))));
      box.replaceChildren(facts, el("h3", { text: "Channels" }), ids,
        el("h3", { text: `History (${p.conversations.length})` }), history);
      document.dispatchEvent(new CustomEvent("console:contact", { detail: p }));  // contacts.js
    } catch (err) {
      if (asked === S.contactAsked) box.replaceChildren(el("p", { class: "error", text: err.message }));
    }
  }
  // after an action on conversation `id`, show its new state, unless the agent has opened
  // another one meanwhile: a late refresh had switched the view back to the first
  async function refreshAfter(id) {
    if (S.opening === id) await openConversation(id, { keepFocus: true });
  }
  async function act(path, body) {
    if (!S.open) return;
    const id = S.open.id;
    $("action-error").textContent = "";
    try {
      await call("POST", `/conversations/${id}/${path}`, body);
      await refreshAfter(id);
      loadQueues(); loadList();
    } catch (err) { fail("action-error", err); }
  }
  $("claim").addEventListener("click", () => act("claim"));
  $("resolve").addEventListener("click", () => act("resolve"));
  $("reopen").addEventListener("click", () => act("reopen"));
  $("online").addEventListener("change", async (ev) => {
    try { await call("POST", "/me/presence", { online: ev.target.checked }); loadQueues(); loadList(); }
    catch (err) { ev.target.checked = !ev.target.checked; fail("action-error", err); }
  });
  $("transfer").addEventListener("click", () => {
    const [kind, name] = $("transfer-to").value.split(":");
    if (name) act("transfer", kind === "agent" ? { agent: name } : { queue: name });
  });
  function fillTransfer() {
    const sel = $("transfer-to");
    const keep = sel.value;
    sel.replaceChildren(
      el("optgroup", { label: "Queues" }, ...S.queues.map((q) => el("option", { value: `queue:${q.name}`, text: q.name }))),
      el("optgroup", { label: "Agents" }, ...S.agents.filter((a) => !a.disabled)
        .map((a) => el("option", { value: `agent:${a.name}`, text: a.display_name || a.name }))));
    if (keep) sel.value = keep;
  }

  // --- writing: reply, note, canned replies, typing -----------------------------------
  const sendHooks = [];  // issue 24: {content(mode), before(mode, text), after(mode)}
  function mode() { return $("mode-note").checked ? "note" : "reply"; }
  function setMode(m) {
    $(m === "note" ? "mode-note" : "mode-reply").checked = true;
    $("compose").classList.toggle("note", m === "note");
    $("reply-label").textContent = m === "note" ? "Internal note (only agents see it)"
      : S.open && S.open.status === "bot" ? "Message to the customer (takes over from the bot)"
      : "Message to the customer";
    $("send").textContent = m === "note" ? "Add note" : "Send";
  }
  for (const r of document.querySelectorAll("input[name=mode]")) r.addEventListener("change", () => setMode(mode()));
  $("compose").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("reply").value;
    const m = mode();  // issue 24: attachments.js may send files without text
    if (!S.open || !(text.trim() || sendHooks.some((h) => h.content && h.content(m)))) return;
    const id = S.open.id;  // the conversation the agent wrote in
    $("compose-error").textContent = "";
    $("send").disabled = true;
    try {
      // issue 24: presence.js asks to confirm (false: not sent), attachments.js adds files
      const extra = {};
      for (const h of sendHooks) {
        const more = h.before ? await h.before(m, text) : {};
        if (more === false) return;
        Object.assign(extra, more);
      }
      const viaMacro = window.consoleApp.send && window.consoleApp.send(m, text, extra);  // macros.js
      await (viaMacro || call("POST", `/conversations/${id}/${m}`, { text, ...extra }));
      for (const h of sendHooks) if (h.after) h.after(m);
      $("reply").value = "";
      await refreshAfter(id);
      loadQueues();
    } catch (err) { fail("compose-error", err); } finally { $("send").disabled = false; }
  });
  $("reply").addEventListener("input", () => {
    if (!S.open || mode() !== "reply" || Date.now() - S.lastTyping < 3000) return;
    S.lastTyping = Date.now();
    call("POST", `/conversations/${S.open.id}/typing`, {}).catch(() => {});
  });
  async function loadReplies(id) {
    try { S.replies = (await call("GET", `/replies?conversation_id=${id}`)).items; } catch { S.replies = []; }
    renderCanned();
  }
  function cannedMatches() {
    const q = $("canned-q").value.trim().toLowerCase();
    if (!q) return [];
    return S.replies.filter((r) => r.id.toLowerCase().includes(q) || r.text.toLowerCase().includes(q)).slice(0, 8);
  }
  function renderCanned() {
    $("canned-list").replaceChildren(...cannedMatches().map((r) => el("li", {}, el("button", {
      type: "button", "data-reply": r.id, on: { click: () => insertCanned(r.id) } },
    el("span", { class: "cid", text: r.id }), el("span", { class: "ctext", text: r.text })))));
  }
  async function insertCanned(id) {
    if (!S.open) return;
    try {
      const r = await call("POST", `/conversations/${S.open.id}/render-reply`, { reply_id: id });
      const box = $("reply");
      const at = box.selectionStart ?? box.value.length;
      box.value = box.value.slice(0, at) + r.text + box.value.slice(box.selectionEnd ?? at);
      $("canned-q").value = "";
      renderCanned();
      setMode("reply");
      box.focus();
    } catch (err) { fail("compose-error", err); }
  }
  $("canned-q").addEventListener("input", renderCanned);
  $("canned-q").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    const q = $("canned-q").value.trim();
    const exact = S.replies.find((r) => r.id === q);
    const first = exact || cannedMatches()[0];
    if (first) insertCanned(first.id);
  });

  // --- live updates ---------------------------------------------------------------------
  const LIST_KINDS = new Set(["message_received", "status_changed", "assigned", "handoff", "transferred",
    "resolved", "reopened", "snoozed", "snooze_ended", "sla_breached", "requeued", "conversation_created",
    "conversation_opened", "agent_took_over",
    // views' counts and rows (issue 24): mentions, tags, priority, waiting time, preview
    "note_added", "tags_changed", "priority_changed", "agent_replied", "message_edited"]);
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const after = S.cursor ? `?after=${S.cursor}` : "";
    const ws = new WebSocket(`${proto}//${location.host}${API}/stream${after}`);
    S.ws = ws;
    ws.onopen = () => { $("live").textContent = "Live"; S.retry = 500; };
    ws.onmessage = (m) => {
      let f;
      try { f = JSON.parse(m.data); } catch { return; }
      if (f.type === "hello") { S.cursor = f.cursor; return; }
      if (f.type === "event") onEvent(f);
      else document.dispatchEvent(new CustomEvent("console:frame", { detail: f }));  // presence.js
    };
    ws.onclose = () => {
      $("live").textContent = "Offline – reconnecting…";
      S.retry = Math.min(S.retry * 2, 10000);
      setTimeout(() => { if (!$("app").hidden) connect(); }, S.retry);
    };
  }
  function onEvent(e) {
    document.dispatchEvent(new CustomEvent("console:event", { detail: e }));  // notify.js
    S.cursor = Math.max(S.cursor, e.id);
    const cid = e.conversation_id;
    if (cid && S.open && S.open.id === cid) {
      debounce("open", () => { if (S.opening === cid) openConversation(cid, { keepFocus: true }); });
    } else if (cid && e.kind === "message_received") {
      S.unread.set(cid, (S.unread.get(cid) || 0) + 1);
      updateUnread();
    }
    if (LIST_KINDS.has(e.kind) || !cid) debounce("lists", () => { loadQueues(); loadList(); }, 250);
  }

  // --- keyboard -------------------------------------------------------------------------
  function moveInList(step) {
    if (!S.convs.length) return;
    const at = S.open ? S.convs.findIndex((c) => c.id === S.open.id) : -1;
    const next = S.convs[Math.max(0, Math.min(S.convs.length - 1, at + step))];
    openConversation(next.id);
  }
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (typing) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && t.id === "reply") {
        ev.preventDefault(); $("compose").requestSubmit();
      } else if (ev.key === "Escape") { t.blur(); $("messages").focus(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || $("app").hidden || $("help").open) return;
    const keys = {
      "?": () => $("help").showModal(), j: () => moveInList(1), k: () => moveInList(-1),
      m: () => setView("mine"), b: () => setView("bot"), c: () => $("claim").click(),
      e: () => $("resolve").click(),
      r: () => { setMode("reply"); $("reply").focus(); }, n: () => { setMode("note"); $("reply").focus(); },
      "/": () => $("canned-q").focus(), t: () => $("transfer-to").focus(),
    };
    let fn = keys[ev.key];
    if (!fn && /^[1-9]$/.test(ev.key) && S.queues[Number(ev.key) - 1]) fn = () => setView("queue", S.queues[Number(ev.key) - 1].name);
    if (fn) { ev.preventDefault(); fn(); }
  });
  $("help-btn").addEventListener("click", () => $("help").showModal());
  $("back").addEventListener("click", () => { $("app").classList.remove("show-conv");
    const first = document.querySelector("#convs button, #views button");
    if (first) first.focus();
  });

  // --- for search.js (issue 24): views, search and the list rows ---------------------
  window.consoleApp = { call, el, keepRows, icon, chip, ago, wantsHuman, convSla, setView, openConversation,
                        render: renderList, reload: () => { loadQueues(); loadList(); }, state: S,
                        loadContact,  // contacts.js and macros.js (issue 24) too
                        sendHooks, mode };  // attachments.js and presence.js (issue 24)

  // --- boot -----------------------------------------------------------------------------
  call("GET", "console/session").then(start, showSignin);
})();
