// Collisions (issue 24): who else is viewing or typing in the open conversation, and a
// confirmation before replying to a conversation someone else holds (or is answering
// right now). The console says what its agent does (POST .../presence: viewing, typing,
// left; "viewing" again every 15 s while open); the others' states come as `presence`
// frames on the live stream. The reply itself carries `if_assignee`, so a colleague who
// took the conversation meanwhile makes the server refuse (409) instead of both sending.
"use strict";
(() => {
  const app = window.consoleApp;
  if (!app) return;
  const { el, call, state: S } = app;
  const $ = (id) => document.getElementById(id);
  const HEARTBEAT = 15000;
  const TYPING_EVERY = 2500;
  const viewers = new Map();  // conversation id -> [{agent, name, typing, mode}]
  let current = null, beat = 0, lastTyping = 0;

  const line = el("p", { id: "presence", class: "presence-line", role: "status", "aria-live": "polite" });
  $("conv-meta").after(line);

  const me = () => (S.me ? S.me.name : "");
  const nameOf = (agent) => {
    const a = (S.agents || []).find((x) => x.name === agent);
    return (a && a.display_name) || agent;
  };
  function say(id, state, mode) {
    return call("POST", `/conversations/${id}/presence`, mode ? { state, mode } : { state }).catch(() => null);
  }
  function leave() {
    if (current === null) return;
    // keepalive: the request outlives a page that is closing
    fetch(`${location.pathname.replace(/console\/?$/, "")}api/v1/conversations/${current}/presence`, {
      method: "POST", keepalive: true, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": S.csrf },
      body: JSON.stringify({ state: "left" }) }).catch(() => {});
    current = null;
    clearInterval(beat);
  }
  const others = (id) => (viewers.get(id) || []).filter((v) => v.agent !== me());

  function render() {
    const list = current === null ? [] : others(current);
    document.body.dataset.viewers = list.map((v) => v.agent + (v.typing ? ":typing" : "")).join(" ");
    if (!list.length) { line.replaceChildren(); line.hidden = true; return; }
    line.hidden = false;
    line.replaceChildren(...list.map((v) => el("span", {
      class: v.typing ? "viewer viewer--typing" : "viewer", "data-agent": v.agent,
      text: v.typing ? `${v.name} is typing ${v.mode === "note" ? "a note" : "a reply"}…` : `${v.name} is viewing` })));
  }

  document.addEventListener("console:conversation", (ev) => {
    const c = ev.detail;
    if (c.id !== current) {
      leave();
      current = c.id;
      say(c.id, "viewing").then((r) => { if (r && current === c.id) { viewers.set(c.id, r.viewers); render(); } });
      beat = setInterval(() => { if (current !== null) say(current, "viewing"); }, HEARTBEAT);
    }
    render();
  });
  document.addEventListener("console:frame", (ev) => {
    const f = ev.detail;
    if (f.type !== "presence") return;
    viewers.set(f.conversation_id, f.viewers);
    if (f.conversation_id === current) render();
  });
  $("reply").addEventListener("input", () => {
    if (current === null || Date.now() - lastTyping < TYPING_EVERY || !$("reply").value.trim()) return;
    lastTyping = Date.now();
    say(current, "typing", app.mode());
  });
  $("back").addEventListener("click", leave);
  $("logout").addEventListener("click", leave);
  window.addEventListener("pagehide", leave);

  // --- "send anyway?" -------------------------------------------------------------------
  const dialog = el("dialog", { id: "collision", "aria-labelledby": "collision-title", "aria-describedby": "collision-text" },
    el("h2", { id: "collision-title", text: "Someone else is on this conversation" }),
    el("p", { id: "collision-text" }),
    el("form", { method: "dialog", class: "dialog-actions" },
      el("button", { type: "submit", value: "cancel", id: "collision-cancel", text: "Cancel" }),
      el("button", { type: "submit", value: "send", id: "collision-send", class: "primary", text: "Send anyway" })));
  document.body.append(dialog);
  function confirmSend(text) {
    $("collision-text").textContent = text;
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "send"), { once: true });
      dialog.showModal();
      $("collision-cancel").focus();
    });
  }

  app.sendHooks.push({
    async before(m) {
      if (m !== "reply" || !S.open) return {};
      const c = S.open;
      const holder = c.status === "assigned" ? c.assignee : "";
      const typing = others(c.id).filter((v) => v.typing && v.mode !== "note");
      let why = "";
      if (holder && holder !== me()) {
        why = `${nameOf(holder)} holds this conversation. Send your reply anyway?`;
      } else if (typing.length) {
        why = `${typing.map((v) => v.name).join(" and ")} ${typing.length > 1 ? "are" : "is"} writing a reply ` +
              "to this conversation right now. Send yours anyway?";
      }
      if (why && !(await confirmSend(why))) return false;
      return { if_assignee: holder && c.status === "assigned" ? holder : "" };
    },
    after() { lastTyping = 0; if (current !== null) say(current, "viewing"); },
  });
})();
