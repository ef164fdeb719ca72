// Search, views and the list rows of the agent console (issue 24).
// Loaded after console.js, which hands over its helpers (window.consoleApp) and asks
// window.consoleLists for every list and every row. Text from customers, contacts and
// agents goes in with textContent only, matched words too (<mark> elements around text
// nodes): the console stays XSS-safe.
"use strict";
(() => {
  const app = window.consoleApp;
  if (!app) return;
  const { call, el, icon, chip, ago } = app;
  const $ = (id) => document.getElementById(id);
  const STATUSES = ["bot", "queued", "assigned", "resolved"];
  const CHANNELS = [["email", "Email"], ["telegram", "Telegram"], ["slack", "Slack"],
    ["webchat", "Web chat"], ["loopback", "Loopback"]];
  const AUTHORS = { bot: "Bot: ", agent: "Agent: ", system: "" };
  const SHOWN = ["open", "unassigned", "mentions", "snoozed", "resolved"];  // mine, bot: console.js
  const FILTERS = ["status", "queue", "assignee", "tag", "channel", "language", "since", "until"];
  const V = { views: [], before: null, timer: 0, counting: null, again: false, shown: "" };

  // --- the box and its filters ------------------------------------------------------
  const field = (label, control) => el("label", {}, document.createTextNode(label), control);
  const select = (id, options) => el("select", { id }, ...options.map(([value, text]) =>
    el("option", { value, text })));
  const form = el("form", { id: "search", class: "search", role: "search" },
    el("label", { for: "search-q", class: "search-label", text: "Search conversations, contacts, messages" }),
    el("input", { id: "search-q", type: "search", autocomplete: "off", spellcheck: "false",
                  placeholder: "words, email, phone, tag:vip, #12", "aria-keyshortcuts": "Control+K",
                  "aria-controls": "convs" }),
    el("details", { id: "search-filters", class: "search-filters" },
      el("summary", { text: "Filters and saved views" }),
      el("div", { class: "grid" },
        field("Status", select("f-status", [["", "any"], ...STATUSES.map((s) => [s, s])])),
        field("Queue", select("f-queue", [["", "any"]])),
        field("Assignee", select("f-assignee", [["", "anyone"], ["me", "me"], ["none", "nobody"]])),
        field("Tag", el("input", { id: "f-tag", type: "text", list: "f-tags", autocomplete: "off" })),
        field("Channel", select("f-channel", [["", "any"], ...CHANNELS])),
        field("Language", el("input", { id: "f-language", type: "text", size: "4", autocomplete: "off",
                                        placeholder: "sv" })),
        field("Active since", el("input", { id: "f-since", type: "date" })),
        field("Opened by", el("input", { id: "f-until", type: "date" }))),
      el("datalist", { id: "f-tags" }),
      el("div", { class: "search-actions" },
        el("button", { type: "button", id: "f-clear", text: "Clear" }),
        el("label", { for: "view-name", text: "Save as view" }),
        el("input", { id: "view-name", type: "text", maxlength: "60", autocomplete: "off" }),
        el("button", { type: "button", id: "view-save", text: "Save view" }))),
    el("p", { id: "search-error", class: "error", role: "alert" }));
  $("lists").prepend(form);
  const more = el("ul", { id: "views-more", class: "views", "aria-label": "More views" });
  const tags = el("ul", { id: "tag-views", class: "views", "aria-labelledby": "tag-views-title" });
  const saved = el("ul", { id: "saved-views", class: "views", "aria-labelledby": "saved-views-title" });
  $("views").after(more, el("h2", { id: "tag-views-title", text: "Tags" }), tags,
    el("h2", { id: "saved-views-title", text: "Saved views" }), saved);
  const info = el("p", { id: "search-info", class: "muted small", role: "status" });
  const people = el("ul", { id: "search-contacts", class: "search-contacts", "aria-label": "Matching contacts" });
  $("list-title").after(info, people);
  // two scrolling parts: the box and the views above, the list below (many views and
  // tags must not push the conversations out of sight)
  const top = el("div", { class: "lists-top" });
  const main = el("div", { class: "lists-main" });
  const kids = [...$("lists").children];
  const split = kids.indexOf($("list-title"));
  top.append(...kids.slice(0, split));
  main.append(...kids.slice(split));
  $("lists").append(top, main);
  $("lists").classList.add("lists--split");

  function filterValues() {
    const out = {};
    for (const name of FILTERS) {
      const value = $(`f-${name}`).value.trim();
      if (value) out[name] = value;
    }
    return out;
  }
  function searching() { return $("search-q").value.trim() !== "" || Object.keys(filterValues()).length > 0; }
  function runSearch() {
    clearTimeout(V.timer);
    $("search-error").textContent = "";
    const S = app.state;
    if (!searching()) {
      if (S.view.kind === "search") back();
      return;
    }
    if (S.view.kind !== "search") V.before = S.view;
    const q = $("search-q").value.trim();
    const params = new URLSearchParams(filterValues());
    if (q) params.set("q", q);
    app.setView("search", "", { title: q ? `Search: ${q}` : "Filtered conversations", params: params.toString() });
  }
  function back() {
    const to = V.before || { kind: "mine", queue: "" };
    V.before = null;
    app.setView(to.kind, to.queue, to);
  }
  function clearSearch() {
    $("search-q").value = "";
    for (const name of FILTERS) $(`f-${name}`).value = "";
  }
  $("search-q").addEventListener("input", () => {
    clearTimeout(V.timer);
    V.timer = setTimeout(runSearch, 250);
  });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); runSearch(); });
  $("search-q").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && $("search-q").value) { clearSearch(); runSearch(); }
  });
  for (const name of FILTERS) $(`f-${name}`).addEventListener("change", runSearch);
  $("f-clear").addEventListener("click", () => { clearSearch(); runSearch(); $("search-q").focus(); });
  $("search-filters").addEventListener("toggle", fillChoices);
  document.addEventListener("keydown", (ev) => {  // Ctrl+K (or Cmd+K): to the search box
    if ((ev.ctrlKey || ev.metaKey) && !ev.altKey && ev.key.toLowerCase() === "k" && !$("app").hidden) {
      ev.preventDefault();
      $("search-q").focus();
      $("search-q").select();
    }
  });
  function fillChoices() {
    const S = app.state;
    const refill = (id, first, options) => {
      const box = $(id);
      const keep = box.value;
      box.replaceChildren(...first.map(([v, t]) => el("option", { value: v, text: t })),
        ...options.map(([v, t]) => el("option", { value: v, text: t })));
      box.value = keep;
    };
    refill("f-queue", [["", "any"]], S.queues.map((q) => [q.name, q.name]));
    refill("f-assignee", [["", "anyone"], ["me", "me"], ["none", "nobody"]],
      S.agents.filter((a) => S.me && a.name !== S.me.name).map((a) => [a.name, a.display_name || a.name]));
    $("f-tags").replaceChildren(...V.views.filter((v) => v.kind === "tag")
      .map((v) => el("option", { value: v.name })));
  }

  // --- views: built-in, by tag, saved; counts ride on every list reload ---------------
  function viewButton(v) {
    const S = app.state;
    const current = S.view.kind === "view" && S.view.id === v.id;
    return el("button", { type: "button", class: "view", "data-view": v.id, "aria-current": current ? "true" : "false",
                          on: { click: () => { clearSearch(); app.setView("view", "", { id: v.id, title: titleOf(v) }); } } },
      el("span", { class: "name", text: v.name }),
      v.count == null ? null : chip(v.count >= 1000 ? "1000+" : String(v.count), "badge count",
                                    `${v.count} conversations`));
  }
  function titleOf(v) {
    return v.kind === "tag" ? `Tagged ${v.name}` : v.name;
  }
  function renderViews() {
    const byId = new Map(V.views.map((v) => [v.id, v]));
    app.keepRows(more, SHOWN.filter((id) => byId.has(id)).map((id) => el("li", {}, viewButton(byId.get(id)))));
    const tagged = V.views.filter((v) => v.kind === "tag");
    app.keepRows(tags, tagged.map((v) => el("li", {}, viewButton(v))));
    $("tag-views-title").hidden = tagged.length === 0;
    const mine = V.views.filter((v) => v.kind === "saved");
    app.keepRows(saved, mine.map((v) => el("li", { class: "saved" }, viewButton(v),
      el("button", { type: "button", class: "delete", "aria-label": `Delete the view ${v.name}`, title: "Delete this view",
                     text: "×", on: { click: () => deleteView(v) } }))));
    $("saved-views-title").hidden = mine.length === 0;
    if ($("search-filters").open) fillChoices();
  }
  async function refreshViews() {
    if (V.counting) { V.again = true; return; }  // one at a time; the newest state wins
    V.counting = call("GET", "/views").then((r) => { V.views = r.items; renderViews(); })
      .catch(() => {}).finally(() => {
        V.counting = null;
        if (V.again) { V.again = false; refreshViews(); }
      });
  }
  $("view-save").addEventListener("click", async () => {
    const name = $("view-name").value.trim();
    $("search-error").textContent = "";
    if (!name) { $("search-error").textContent = "Name the view first."; $("view-name").focus(); return; }
    if (!searching()) { $("search-error").textContent = "Search or choose filters first: a view saves them."; return; }
    const filters = filterValues();
    const q = $("search-q").value.trim();
    if (q) filters.q = q;
    try {
      const v = await call("POST", "/views", { name, filters });
      $("view-name").value = "";
      clearSearch();
      V.views.push(v);
      app.setView("view", "", { id: v.id, title: v.name });
    } catch (err) { $("search-error").textContent = err.message; }
  });
  async function deleteView(v) {
    try {
      await call("DELETE", `/views/${v.id.split(":")[1]}`);
      const S = app.state;
      if (S.view.kind === "view" && S.view.id === v.id) app.setView("mine");
      else refreshViews();
    } catch (err) { $("search-error").textContent = err.message; }
  }

  // --- lists ---------------------------------------------------------------------------
  function paramsOf(view) {
    if (view.kind === "mine" || view.kind === "bot") return `view=${view.kind}`;
    if (view.kind === "queue") return `status=queued&queue=${encodeURIComponent(view.queue)}&order=urgency`;
    if (view.kind === "view") return `view=${encodeURIComponent(view.id)}`;
    if (view.kind === "search") return view.params;
    return "view=mine";
  }
  async function load(view) {
    refreshViews();  // counts stay live: every list reload (live events) asks again
    const key = JSON.stringify([view.kind, view.queue, view.id]);
    if (key !== V.shown && view.kind !== "search" && document.activeElement !== $("search-q")) {
      clearSearch();  // another view was chosen (a click, m, b, 1-9): the search is over
    }
    V.shown = key;
    const search = view.kind === "search";
    let page;
    try {
      page = await call("GET", `/search?${paramsOf(view)}&limit=100`);
    } catch (err) {
      if (!search) throw err;
      $("search-error").textContent = err.message;
      page = { items: [], contacts: [], total: 0 };
    }
    info.hidden = !search;
    people.hidden = !search || !(page.contacts || []).length;
    if (search) {
      const n = page.total == null ? page.items.length : page.total;
      info.textContent = n >= 1000 ? "1000+ conversations" : n === 1 ? "1 conversation" : `${n} conversations`;
      people.replaceChildren(...(page.contacts || []).map((p) => el("li", {}, el("button", {
        type: "button", class: "contact-hit", "data-contact": p.id,
        on: { click: () => app.setView("search", "", { title: `Conversations of ${p.display_name || p.email || "#" + p.id}`,
                                                        params: `contact_id=${p.id}` }) } },
      el("span", { class: "name", text: p.display_name || `Contact #${p.id}` }),
      el("span", { class: "sub", text: [p.email, p.phone].filter(Boolean).join(" · ") })))));
    }
    return page.items;
  }

  // --- rows ----------------------------------------------------------------------------
  function marked(snippet) {
    const chars = Array.from(snippet.text);  // marks count code points, as Python does
    const out = el("span", { class: "snippet" });
    let at = 0;
    for (const [start, end] of snippet.marks) {
      if (start < at) continue;
      out.append(document.createTextNode(chars.slice(at, start).join("")),
        el("mark", { text: chars.slice(start, end).join("") }));
      at = end;
    }
    out.append(document.createTextNode(chars.slice(at).join("")));
    return out;
  }
  function waiting(c) {
    if (!c.waiting_since) return null;
    const since = new Date(c.waiting_since);
    const secs = Math.max(0, (Date.now() - since) / 1000);
    const text = secs < 60 ? "<1 min" : ago(secs);
    const due = c.first_response_at ? c.sla.resolution_due : c.sla.first_response_due;
    let cls = "badge wait";
    if (due) {
      const left = (new Date(due) - Date.now()) / 1000;
      cls += left <= 0 ? " badge--bad" : left < 900 ? " badge--warn" : " badge--ok";
    }
    return el("time", { class: cls, datetime: c.waiting_since, text: `waiting ${text}`,
                        title: `The customer has waited since ${since.toLocaleString()}` +
                               (due ? `; SLA due ${new Date(due).toLocaleString()}` : "") });
  }
  function preview(c) {
    if (c.match && c.match.kind === "message" && c.match.snippet) {
      return el("span", { class: "preview match" }, marked(c.match.snippet));
    }
    if (c.match && c.match.kind === "contact") {
      const who = [c.contact.display_name, c.contact.email].filter(Boolean).join(" · ");
      return el("span", { class: "preview match", text: `Contact: ${who}` });
    }
    if (!c.preview) return null;
    const by = c.preview.author_kind === "customer" ? "" : (AUTHORS[c.preview.author_kind] ?? "");
    return el("span", { class: "preview", text: by + c.preview.text });
  }
  function row(c, o) {
    const name = (c.contact && (c.contact.display_name || c.contact.email)) || `#${c.id}`;
    const prio = c.priority && c.priority !== "normal"
      ? chip(c.priority, `chip prio prio--${c.priority}`, `priority ${c.priority}`) : null;
    const tagChips = (c.tags || []).slice(0, 4).map((t) => chip(t, "chip tag", `tag ${t}`));
    if ((c.tags || []).length > 4) tagChips.push(chip(`+${c.tags.length - 4}`, "chip tag"));
    return el("li", {}, el("button", {
      type: "button", class: "conv-item rich", "data-id": c.id, "aria-current": o.current ? "true" : null,
      on: { click: o.open } },
    el("span", { class: "row-top" }, icon(c.channel), el("span", { class: "title", text: name }),
      o.unread ? chip(String(o.unread), "badge badge--unread", `${o.unread} unread`) : null),
    el("span", { class: "sub", text: [`#${c.id}`, c.language || "?", c.status, c.queue, c.assignee ? `@${c.assignee}` : ""]
      .filter(Boolean).join(" · ") }),
    preview(c),
    el("span", { class: "chips" }, waiting(c), app.convSla(c), prio, ...tagChips, app.wantsHuman(c))));
  }

  window.consoleLists = { load, row };
  // waiting times and SLA chips age: redraw the rows every half minute
  setInterval(() => { if (!$("app").hidden) app.render(); }, 30000);
  if (app.state.me) app.reload();  // the console started before this file ran
})();
