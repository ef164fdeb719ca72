// Notifications (issue 24): a tone and a desktop notification (Notification API) when a
// conversation is assigned to me, when a customer writes in one of mine, and (if asked
// for) when a conversation starts waiting in a queue. What to notify is each agent's
// own setting, kept on the server (GET/PUT /api/v1/me/settings) so it follows them to
// any browser; the browser's permission for desktop notifications is asked when the
// agent turns them on. Nothing is announced about the conversation the agent is
// looking at in a focused window: they see it already.
"use strict";
(() => {
  const app = window.consoleApp;
  if (!app) return;
  const { el, call, state: S } = app;
  const $ = (id) => document.getElementById(id);
  const LABELS = {
    sound: "Play a sound", desktop: "Show desktop notifications",
    assigned: "A conversation is assigned to me", customer_replies: "A customer writes in one of my conversations",
    queued: "A conversation starts waiting in a queue",
  };
  let settings = null;
  const mine = new Set();  // ids of conversations assigned to me
  const log = [];  // what was notified (for people debugging, and for tests)
  window.consoleNotify = { log };
  let audio = null, refreshTimer = 0;

  // --- settings dialog --------------------------------------------------------------------
  const open = el("button", { type: "button", id: "notify-btn", text: "Notifications", "aria-haspopup": "dialog" });
  $("help-btn").before(open);
  const live = el("p", { id: "notify-live", class: "visually-hidden", role: "status", "aria-live": "polite" });
  document.body.append(live);
  const boxes = {};
  const row = (key) => {
    boxes[key] = el("input", { type: "checkbox", id: `notify-${key}`, on: { change: () => save(key) } });
    return el("li", {}, el("label", { for: `notify-${key}` }, boxes[key], document.createTextNode(" " + LABELS[key])));
  };
  const dialog = el("dialog", { id: "notify-settings", "aria-labelledby": "notify-title" },
    el("h2", { id: "notify-title", text: "Notifications" }),
    el("fieldset", {}, el("legend", { text: "How" }), el("ul", { class: "checks" }, row("sound"), row("desktop"))),
    el("fieldset", {}, el("legend", { text: "When" }),
      el("ul", { class: "checks" }, row("assigned"), row("customer_replies"), row("queued"))),
    el("p", { id: "notify-note", class: "small muted" }),
    el("p", { id: "notify-error", class: "error", role: "alert" }),
    el("form", { method: "dialog" }, el("button", { type: "submit", id: "notify-close", text: "Close" })));
  document.body.append(dialog);
  open.addEventListener("click", () => { fill(); dialog.showModal(); });

  function fill() {
    if (!settings) return;
    for (const [k, box] of Object.entries(boxes)) box.checked = Boolean(settings.notifications[k]);
    const perm = "Notification" in window ? Notification.permission : "unsupported";
    $("notify-note").textContent = perm === "denied"
      ? "This browser blocks desktop notifications for this site; allow them in its site settings."
      : perm === "unsupported" ? "This browser cannot show desktop notifications." : "";
  }
  async function save(key) {
    $("notify-error").textContent = "";
    const next = { notifications: { ...settings.notifications, [key]: boxes[key].checked } };
    if (key === "desktop" && boxes.desktop.checked && "Notification" in window && Notification.permission === "default") {
      await Notification.requestPermission().catch(() => "denied");
    }
    if (key === "sound" && boxes.sound.checked) tone();  // also unlocks audio in this tab
    try {
      settings = await call("PUT", "/me/settings", next);
      document.body.dataset.notifySaved = String(Date.now());
    } catch (err) { $("notify-error").textContent = err.message; }
    fill();
  }

  // --- what is mine -------------------------------------------------------------------------
  async function refreshMine() {
    try {
      const page = await call("GET", "/conversations?assignee=me&status=assigned&limit=200");
      mine.clear();
      for (const c of page.items) mine.add(c.id);
    } catch { /* keep the last known set */ }
  }

  document.addEventListener("console:ready", async () => {
    try { settings = await call("GET", "/me/settings"); } catch { settings = null; }
    await refreshMine();
    document.body.dataset.notifyReady = "1";
  });

  // --- the signals ---------------------------------------------------------------------------
  function tone() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
      const now = audio.currentTime;
      for (const [i, freq] of [[0, 880], [1, 1320]]) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + i * 0.14);
        gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.14 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.14 + 0.13);
        osc.connect(gain).connect(audio.destination);
        osc.start(now + i * 0.14);
        osc.stop(now + i * 0.14 + 0.14);
      }
      return true;
    } catch { return false; }
  }
  function notify(what, title, body, cid) {
    const n = settings.notifications;
    const looking = S.open && S.open.id === cid && document.visibilityState === "visible" && document.hasFocus();
    if (!n[what] || looking) return;
    const entry = { what, title, body, conversation_id: cid, sound: false, desktop: false };
    if (n.sound) entry.sound = tone();
    if (n.desktop && "Notification" in window && Notification.permission === "granted") {
      try {
        const shown = new Notification(title, { body, tag: `conversation-${cid}` });
        shown.onclick = () => { window.focus(); app.openConversation(cid); shown.close(); };
        entry.desktop = true;
      } catch { /* some browsers only notify from a service worker */ }
    }
    live.textContent = `${title}: ${body}`;
    log.push(entry);
    document.body.dataset.notified = String(log.length);
  }

  document.addEventListener("console:event", (ev) => {
    const e = ev.detail;
    if (!settings || !S.me) return;
    const cid = e.conversation_id, by = `agent:${S.me.name}`, d = e.data || {};
    if ((e.kind === "assigned" && d.agent === S.me.name) || (e.kind === "transferred" && d.to_agent === S.me.name)) {
      mine.add(cid);
      if (e.actor !== by) notify("assigned", "Conversation assigned to you", `#${cid}${d.queue ? ` in ${d.queue}` : ""}`, cid);
    } else if (e.kind === "message_received" && mine.has(cid)) {
      notify("customer_replies", "The customer wrote", `#${cid}`, cid);
    } else if (e.kind === "status_changed" && d.to === "queued" && d.from !== "queued") {
      notify("queued", "A conversation is waiting", `#${cid}`, cid);
    }
    if (["transferred", "resolved", "requeued", "status_changed"].includes(e.kind)) {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(refreshMine, 300);
    }
  });
})();
