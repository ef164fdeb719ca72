// Macros and triage in the agent console (issue 24): tags, priority, snooze and the
// follow-up date of the open conversation, and agents' own replies (macros) picked,
// rendered in the conversation's language, edited and sent with what they also do.
// Loaded after console.js (window.consoleApp). Text from customers and agents goes in
// with textContent only.
"use strict";
(() => {
  const app = window.consoleApp;
  if (!app) return;
  const { call, el, chip } = app;
  const S = app.state;
  const $ = (id) => document.getElementById(id);
  const PRIORITIES = ["low", "normal", "high", "urgent"];
  const M = { items: [], pending: null, editing: null };
  const conv = () => S.open;
  const fail = (id, err) => { $(id).textContent = err.message || String(err); };

  // --- triage: tags, priority, snooze, follow-up ------------------------------------------
  const triage = el("div", { id: "triage", class: "triage", role: "group",
                             "aria-label": "Tags, priority, snooze and follow-up" },
    el("span", { id: "tag-list", class: "tag-list", "aria-label": "Tags" }),
    el("form", { id: "tag-form", class: "tag-form" },
      el("label", { for: "tag-add", class: "visually-hidden", text: "Add a tag" }),
      el("input", { id: "tag-add", type: "text", size: "10", maxlength: "64", autocomplete: "off",
                    placeholder: "add tag", "aria-keyshortcuts": "l" }),
      el("button", { type: "submit", id: "tag-add-btn", text: "Add" })),
    el("label", { for: "priority", text: "Priority" }),
    el("select", { id: "priority", "aria-keyshortcuts": "p" },
      ...PRIORITIES.map((p) => el("option", { value: p, text: p }))),
    el("span", { id: "snooze-box", class: "snooze-box" },
      el("label", { for: "snooze-for", text: "Snooze" }),
      el("select", { id: "snooze-for", "aria-keyshortcuts": "z" },
        el("option", { value: "", text: "until…" }), el("option", { value: "1h", text: "1 hour" }),
        el("option", { value: "4h", text: "4 hours" }), el("option", { value: "tomorrow", text: "tomorrow 09:00" }),
        el("option", { value: "monday", text: "next Monday 09:00" }), el("option", { value: "pick", text: "pick a time…" })),
      el("label", { for: "snooze-at", class: "visually-hidden", text: "Snooze until this time" }),
      el("input", { id: "snooze-at", type: "datetime-local", hidden: true }),
      el("button", { type: "button", id: "snooze-btn", text: "Snooze" }),
      el("span", { id: "snoozed", class: "badge badge--warn", hidden: true }),
      el("button", { type: "button", id: "unsnooze", text: "Wake now", hidden: true })),
    el("span", { class: "follow-up-box" },
      el("label", { for: "follow-up", text: "Follow up by" }),
      el("input", { id: "follow-up", type: "date", "aria-keyshortcuts": "f" }),
      el("button", { type: "button", id: "follow-up-clear", text: "Clear", hidden: true }),
      el("span", { id: "follow-up-due", class: "badge badge--bad", hidden: true, text: "follow-up due" })),
    el("p", { id: "triage-error", class: "error", role: "alert" }));
  $("conv-meta").after(triage);

  function renderTriage(c) {
    $("tag-list").replaceChildren(...c.tags.map((t) => el("span", { class: "chip tag", "data-tag": t },
      document.createTextNode(t),
      el("button", { type: "button", class: "tag-remove", "aria-label": `Remove tag ${t}`, text: "×",
                     on: { click: () => patch({ remove_tags: [t] }) } }))));
    $("priority").value = c.priority;
    $("priority").closest(".triage").dataset.priority = c.priority;
    const open = c.status === "queued" || c.status === "assigned";
    const snoozed = Boolean(c.snoozed_until);
    $("snoozed").hidden = !snoozed;
    $("snoozed").textContent = snoozed ? `snoozed until ${new Date(c.snoozed_until).toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}` : "";
    $("unsnooze").hidden = !snoozed;
    for (const id of ["snooze-for", "snooze-btn", "snooze-at"]) $(id).disabled = !open;
    const due = c.follow_up_at ? new Date(c.follow_up_at) : null;
    $("follow-up").value = due ? localDate(due) : "";
    $("follow-up").disabled = c.status === "resolved" && !due;
    $("follow-up-clear").hidden = !due;
    $("follow-up-due").hidden = !due || due > new Date();
  }
  const pad = (n) => String(n).padStart(2, "0");
  const localDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

  async function change(method, path, body) {
    const c = conv();
    if (!c) return;
    $("triage-error").textContent = "";
    try {
      await call(method, `/conversations/${c.id}${path}`, body);
      await app.openConversation(c.id, { keepFocus: true });
      app.reload();
    } catch (err) { fail("triage-error", err); }
  }
  const patch = (body) => change("PATCH", "", body);
  $("tag-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const tag = $("tag-add").value.trim();
    if (!tag) return;
    $("tag-add").value = "";
    patch({ add_tags: [tag] });
  });
  $("priority").addEventListener("change", () => patch({ priority: $("priority").value }));
  function snoozeUntil(choice) {
    const d = new Date();
    if (choice === "1h") return new Date(d.getTime() + 3600e3);
    if (choice === "4h") return new Date(d.getTime() + 4 * 3600e3);
    if (choice === "pick") return $("snooze-at").value ? new Date($("snooze-at").value) : null;
    d.setDate(d.getDate() + (choice === "monday" ? ((8 - d.getDay()) % 7 || 7) : 1));
    d.setHours(9, 0, 0, 0);
    return d;
  }
  $("snooze-for").addEventListener("change", () => {
    $("snooze-at").hidden = $("snooze-for").value !== "pick";
    if (!$("snooze-at").hidden) $("snooze-at").focus();
  });
  $("snooze-btn").addEventListener("click", () => {
    const until = snoozeUntil($("snooze-for").value);
    if (!until) { $("triage-error").textContent = "Choose how long to snooze."; $("snooze-for").focus(); return; }
    change("POST", "/snooze", { until: until.toISOString() });
  });
  $("unsnooze").addEventListener("click", () => change("POST", "/unsnooze"));
  $("follow-up").addEventListener("change", () => {
    const day = $("follow-up").value;
    if (!day) return change("PUT", "/follow-up", { at: null });
    const [y, m, d] = day.split("-").map(Number);
    change("PUT", "/follow-up", { at: new Date(y, m - 1, d, 23, 59).toISOString() });  // by the end of that day
  });
  $("follow-up-clear").addEventListener("click", () => change("PUT", "/follow-up", { at: null }));

  // --- macros: pick, render, edit, send ------------------------------------------------------
  const picker = el("div", { class: "macros" },
    el("label", { for: "macro-q", text: "Macro" }),
    el("input", { id: "macro-q", type: "search", autocomplete: "off", "aria-keyshortcuts": "a",
                  placeholder: "your and shared macros, Enter inserts", "aria-controls": "macro-list" }),
    el("button", { type: "button", id: "macros-manage", text: "Manage macros" }),
    el("ul", { id: "macro-list", class: "canned-list", "aria-label": "Matching macros" }));
  const pending = el("p", { id: "macro-pending", class: "macro-pending", role: "status", hidden: true });
  document.querySelector("#compose .canned").after(picker, pending);

  async function loadMacros() {
    try { M.items = (await call("GET", "/macros")).items; } catch { M.items = []; }
    renderPicker();
  }
  function matches() {
    const q = $("macro-q").value.trim().toLowerCase();
    if (!q) return [];
    return M.items.filter((m) => m.name.toLowerCase().includes(q)
      || Object.values(m.texts).some((t) => t.toLowerCase().includes(q))).slice(0, 8);
  }
  function also(m) {
    return [m.add_tags.length ? `tags ${m.add_tags.join(", ")}` : "", m.priority ? `priority ${m.priority}` : "",
      m.resolve ? "resolves" : ""].filter(Boolean).join(" · ");
  }
  function renderPicker() {
    $("macro-list").replaceChildren(...matches().map((m) => el("li", {}, el("button", {
      type: "button", "data-macro": m.id, on: { click: () => useMacro(m) } },
    el("span", { class: "cid", text: m.name }),
    el("span", { class: "ctext", text: [m.shared ? "shared" : "mine", also(m)].filter(Boolean).join(" · ") })))));
  }
  async function useMacro(m) {
    const c = conv();
    if (!c) return;
    $("compose-error").textContent = "";
    try {
      const r = await call("POST", `/conversations/${c.id}/render-macro`, { macro_id: m.id });
      const box = $("reply");
      document.getElementById("mode-reply").click();
      box.value = r.text;
      M.pending = { id: m.id, conversation: c.id };
      pending.replaceChildren(document.createTextNode("Macro "), el("strong", { text: m.name }),
        document.createTextNode(` (${r.language})` + (also(m) ? `; on send also: ${also(m)}` : "")),
        el("button", { type: "button", id: "macro-drop", text: "Send as a plain reply",
                       on: { click: dropMacro } }));
      pending.hidden = false;
      $("macro-q").value = "";
      renderPicker();
      box.focus();
    } catch (err) { fail("compose-error", err); }
  }
  function dropMacro() { M.pending = null; pending.hidden = true; }
  // console.js asks before sending: a reply while a macro is chosen goes out with the macro
  // (`extra`: what other send hooks add to a reply; apply-macro refuses what it cannot
  // carry rather than dropping it)
  app.send = (mode, text, extra = {}) => {
    const c = conv();
    if (!M.pending || mode !== "reply" || !c || M.pending.conversation !== c.id) return null;
    const id = M.pending.id;
    return call("POST", `/conversations/${c.id}/apply-macro`, { ...extra, macro_id: id, text })
      .then((r) => { dropMacro(); app.reload(); return r; });
  };
  $("macro-q").addEventListener("input", renderPicker);
  $("macro-q").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    const first = matches()[0];
    if (first) useMacro(first);
  });

  // --- managing macros ----------------------------------------------------------------------
  const dialog = el("dialog", { id: "macros-dialog", class: "macros-dialog", "aria-labelledby": "macros-title" },
    el("h2", { id: "macros-title", text: "Macros" }),
    el("ul", { id: "macros-all", class: "macros-all" }),
    el("form", { id: "macro-form", class: "macro-form", novalidate: true },
      el("h3", { id: "macro-form-title", text: "New macro" }),
      el("label", { for: "macro-name", text: "Name" }),
      el("input", { id: "macro-name", type: "text", maxlength: "100", required: true, autocomplete: "off" }),
      el("p", { class: "small muted", text: "Text per language. Variables: {{ contact.name }}, {{ contact.first_name }}, "
        + "{{ contact.email }}, {{ agent.name }}, {{ conversation.id }}, {{ queue.name }}." }),
      el("div", { id: "macro-texts", class: "macro-texts" }),
      el("button", { type: "button", id: "macro-add-lang", text: "Add a language" }),
      el("label", { for: "macro-tags", text: "Also add tags (comma-separated)" }),
      el("input", { id: "macro-tags", type: "text", autocomplete: "off" }),
      el("label", { for: "macro-priority", text: "Also set priority" }),
      el("select", { id: "macro-priority" }, el("option", { value: "", text: "(leave it)" }),
        ...PRIORITIES.map((p) => el("option", { value: p, text: p }))),
      el("label", { class: "check" }, el("input", { id: "macro-resolve", type: "checkbox" }),
        document.createTextNode(" Also resolve the conversation")),
      el("label", { class: "check", id: "macro-shared-row" }, el("input", { id: "macro-shared", type: "checkbox" }),
        document.createTextNode(" Shared with every agent (admins)")),
      el("p", { id: "macro-error", class: "error", role: "alert" }),
      el("div", { class: "dialog-actions" },
        el("button", { type: "submit", id: "macro-save", class: "primary", text: "Save macro" }),
        el("button", { type: "button", id: "macro-new", text: "New macro" }),
        el("button", { type: "button", id: "macros-close", text: "Close" }))));
  document.body.append(dialog);

  function textRow(lang = "", text = "") {
    const n = $("macro-texts").children.length;
    return el("div", { class: "macro-text" },
      el("label", { for: `macro-lang-${n}`, text: "Language" }),
      el("input", { id: `macro-lang-${n}`, class: "macro-lang", type: "text", size: "5", maxlength: "20",
                    value: lang, autocomplete: "off", placeholder: "en" }),
      el("label", { for: `macro-text-${n}`, text: "Text" }),
      el("textarea", { id: `macro-text-${n}`, class: "macro-body", rows: "3", maxlength: "10000" }, document.createTextNode(text)));
  }
  function fillForm(m) {
    M.editing = m ? m.id : null;
    $("macro-form-title").textContent = m ? `Edit ${m.name}` : "New macro";
    $("macro-name").value = m ? m.name : "";
    $("macro-tags").value = m ? m.add_tags.join(", ") : "";
    $("macro-priority").value = m ? m.priority : "";
    $("macro-resolve").checked = Boolean(m && m.resolve);
    $("macro-shared").checked = Boolean(m && m.shared);
    $("macro-shared-row").hidden = !(S.me && S.me.role === "admin");
    $("macro-error").textContent = "";
    const box = $("macro-texts");
    box.replaceChildren();
    const texts = m ? Object.entries(m.texts) : [[(conv() && conv().language) || "en", ""]];
    for (const [lang, text] of texts) box.append(textRow(lang, text));
  }
  function renderAll() {
    $("macros-all").replaceChildren(...M.items.map((m) => el("li", { "data-macro": m.id },
      el("span", { class: "name", text: m.name }),
      chip(m.shared ? "shared" : "mine"), chip(Object.keys(m.texts).join(" ")),
      el("button", { type: "button", text: "Edit", "aria-label": `Edit ${m.name}`, on: { click: () => fillForm(m) } }),
      el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${m.name}`,
                     on: { click: () => removeMacro(m) } }))));
    if (!M.items.length) $("macros-all").append(el("li", { class: "muted", text: "No macros yet." }));
  }
  async function removeMacro(m) {
    try {
      await call("DELETE", `/macros/${m.id}`);
      await loadMacros();
      renderAll();
      if (M.editing === m.id) fillForm(null);
    } catch (err) { fail("macro-error", err); }
  }
  async function manage() {
    await loadMacros();
    renderAll();
    fillForm(null);
    dialog.showModal();
    $("macro-name").focus();
  }
  $("macros-manage").addEventListener("click", manage);
  // in the header too: macros are kept without a conversation open
  const top = el("button", { type: "button", id: "macros-top", text: "Macros", on: { click: manage } });
  $("help-btn").before(top);
  $("macros-close").addEventListener("click", () => dialog.close());
  $("macro-new").addEventListener("click", () => { fillForm(null); $("macro-name").focus(); });
  $("macro-add-lang").addEventListener("click", () => {
    const row = textRow();
    $("macro-texts").append(row);
    row.querySelector("input").focus();
  });
  $("macro-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("macro-error").textContent = "";
    const texts = {};
    for (const row of $("macro-texts").children) {
      const lang = row.querySelector(".macro-lang").value.trim();
      const text = row.querySelector(".macro-body").value;
      if (lang && text.trim()) texts[lang] = text;
    }
    const body = {
      name: $("macro-name").value.trim(), texts, resolve: $("macro-resolve").checked,
      add_tags: $("macro-tags").value.split(",").map((t) => t.trim()).filter(Boolean),
      priority: $("macro-priority").value, shared: $("macro-shared").checked,
    };
    if (!body.name) { $("macro-error").textContent = "Give the macro a name."; return $("macro-name").focus(); }
    if (!Object.keys(texts).length) { $("macro-error").textContent = "Write the text in at least one language."; return; }
    try {
      const saved = M.editing ? await call("PATCH", `/macros/${M.editing}`, body) : await call("POST", "/macros", body);
      await loadMacros();
      renderAll();
      fillForm(saved);
      $("macro-error").textContent = "";
      dialog.dataset.saved = String(saved.id);
    } catch (err) { fail("macro-error", err); }
  });

  // --- live: every render of the open conversation; keys; help ----------------------------
  document.addEventListener("console:conversation", (ev) => {
    const c = ev.detail;
    renderTriage(c);
    if (M.pending && M.pending.conversation !== c.id) dropMacro();
    if (!M.loaded) { M.loaded = true; loadMacros(); }
  });
  const KEYS = { l: "tag-add", p: "priority", z: "snooze-for", f: "follow-up", a: "macro-q" };
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || $("app").hidden || !conv()) return;
    if (document.querySelector("dialog[open]")) return;
    const id = KEYS[ev.key];
    if (!id || $(id).disabled) return;
    ev.preventDefault();
    $(id).focus();
  });
  const rows = [["l", "add a tag"], ["p", "priority"], ["z", "snooze"], ["f", "follow-up date"],
    ["a", "insert a macro (Enter), sent with what it also does"]];
  const help = document.querySelector("#help tbody");
  if (help) {
    for (const [key, what] of rows) {
      help.append(el("tr", {}, el("th", { scope: "row" }, el("kbd", { text: key })), el("td", { text: what })));
    }
  }
})();
