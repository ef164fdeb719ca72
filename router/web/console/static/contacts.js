// Contacts in the agent console (issue 24): edit a contact's name, email, phone and notes
// (every agent), see contacts with the same email or phone, and merge another contact
// into this one after a preview (admins; the API enforces it too). Loaded after
// console.js (window.consoleApp), which announces every contact it shows
// (console:contact). Contact data goes in with textContent only.
"use strict";
(() => {
  const app = window.consoleApp;
  if (!app) return;
  const { call, el } = app;
  const S = app.state;
  const $ = (id) => document.getElementById(id);
  const admin = () => Boolean(S.me && S.me.role === "admin");
  const label = (c) => `#${c.id}` + (c.display_name ? ` ${c.display_name}` : "") + (c.email ? ` <${c.email}>` : "");

  const field = (id, text, control) => [el("label", { for: id, text }), control];
  function editForm(p) {
    const form = el("form", { id: "contact-form", class: "contact-form", novalidate: true, hidden: true },
      ...field("contact-name", "Name", el("input", { id: "contact-name", type: "text", maxlength: "200",
                                                     autocomplete: "off", value: p.display_name })),
      ...field("contact-email", "Email", el("input", { id: "contact-email", type: "email", maxlength: "254",
                                                       autocomplete: "off", value: p.email })),
      ...field("contact-phone", "Phone", el("input", { id: "contact-phone", type: "tel", maxlength: "40",
                                                       autocomplete: "off", value: p.phone })),
      ...field("contact-notes", "Notes (agents only)", el("textarea", { id: "contact-notes", rows: "4",
                                                                        maxlength: "10000" }, document.createTextNode(p.notes || ""))),
      el("p", { id: "contact-error", class: "error", role: "alert" }),
      el("div", { class: "row" },
        el("button", { type: "submit", id: "contact-save", class: "primary", text: "Save" }),
        el("button", { type: "button", id: "contact-cancel", text: "Cancel", on: { click: () => toggleEdit(false) } })));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("contact-error").textContent = "";
      try {
        await call("PATCH", `/contacts/${p.id}`, {
          display_name: $("contact-name").value, email: $("contact-email").value,
          phone: $("contact-phone").value, notes: $("contact-notes").value });
        await app.loadContact(p.id);
        $("contact-edit").focus();
      } catch (err) { $("contact-error").textContent = err.message; }
    });
    return form;
  }
  function toggleEdit(open) {
    const form = $("contact-form");
    if (!form) return;
    form.hidden = !open;
    $("contact-edit").setAttribute("aria-expanded", String(open));
    if (open) $("contact-name").focus(); else $("contact-edit").focus();
  }

  function mergeBox(p) {
    const box = el("section", { id: "merge", class: "merge", "aria-labelledby": "merge-title" },
      el("h3", { id: "merge-title", text: "Merge" }),
      el("form", { id: "merge-form", class: "row" },
        el("label", { for: "merge-source", text: "Merge contact #" }),
        el("input", { id: "merge-source", type: "text", inputmode: "numeric", size: "6", autocomplete: "off" }),
        el("span", { text: "into this one" }),
        el("button", { type: "submit", id: "merge-preview-btn", text: "Preview" })),
      el("div", { id: "merge-preview", class: "merge-preview", hidden: true, "aria-live": "polite" }),
      el("p", { id: "merge-error", class: "error", role: "alert" }));
    box.querySelector("form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const source = Number($("merge-source").value.trim().replace(/^#/, ""));
      if (!Number.isInteger(source) || source <= 0) { $("merge-error").textContent = "Give a contact number."; return; }
      preview(source, p.id);
    });
    return box;
  }
  async function preview(source, target) {
    $("merge-error").textContent = "";
    const out = $("merge-preview");
    try {
      const r = await call("GET", `/contacts/${source}/merge-preview?into=${target}`);
      const facts = el("dl", {});
      for (const [k, v] of [["Name", r.result.display_name], ["Email", r.result.email], ["Phone", r.result.phone],
        ["Language", r.result.language], ["Tags", r.result.tags.join(", ")]]) {
        if (v) facts.append(el("dt", { text: k }), el("dd", { text: v }));
      }
      out.replaceChildren(
        el("p", {}, el("strong", { text: label(r.source) }), document.createTextNode(" joins "),
          el("strong", { text: label(r.target) }), document.createTextNode(
            `: ${r.identities.length} channel identit${r.identities.length === 1 ? "y" : "ies"} and `
            + `${r.conversations.length} conversation${r.conversations.length === 1 ? "" : "s"} move here. `
            + "The merged contact looks like this:")),
        facts,
        el("p", { class: "small", text: "This cannot be undone." }),
        el("div", { class: "row" },
          el("button", { type: "button", id: "merge-confirm", class: "primary danger", text: `Merge #${r.source.id} into #${r.target.id}`,
                         on: { click: () => merge(source, target) } }),
          el("button", { type: "button", id: "merge-cancel", text: "Cancel",
                         on: { click: () => { out.hidden = true; $("merge-source").focus(); } } })));
      out.hidden = false;
      $("merge-confirm").focus();
    } catch (err) { out.hidden = true; $("merge-error").textContent = err.message; }
  }
  async function merge(source, target) {
    try {
      await call("POST", `/contacts/${source}/merge`, { into: target });
      await app.loadContact(target);
      app.reload();
      const done = $("contact-body").querySelector("#merge-done");
      if (done) done.textContent = `Contact #${source} was merged into this one.`;
    } catch (err) { $("merge-error").textContent = err.message; }
  }

  function similarList(p) {
    if (!p.similar || !p.similar.length) return null;
    return el("section", { id: "similar", class: "similar", "aria-labelledby": "similar-title" },
      el("h3", { id: "similar-title", text: "Same email or phone" }),
      el("ul", {}, ...p.similar.map((s) => el("li", { "data-contact": s.id },
        el("span", { text: label(s) + (s.phone ? ` ${s.phone}` : "") }),
        admin() ? el("button", { type: "button", class: "small-btn", text: "Merge…", "aria-label": `Merge #${s.id} into this contact`,
                                 on: { click: () => { $("merge-source").value = String(s.id); preview(s.id, p.id); } } }) : null))));
  }

  // every contact console.js shows: notes, the edit button and form, similar, merge
  document.addEventListener("console:contact", (ev) => {
    const p = ev.detail;
    const body = $("contact-body");
    const facts = body.querySelector("dl");
    if (facts && p.notes) facts.append(el("dt", { text: "Notes" }), el("dd", { class: "notes", text: p.notes }));
    if (p.merged_into) body.prepend(el("p", { class: "error", text: `Merged into contact #${p.merged_into}.` }));
    const tools = el("div", { class: "contact-tools" },
      el("button", { type: "button", id: "contact-edit", "aria-expanded": "false", "aria-controls": "contact-form",
                     "aria-keyshortcuts": "i", text: "Edit contact", on: { click: () => toggleEdit($("contact-form").hidden) } }),
      el("span", { class: "muted small", text: `Contact #${p.id}` }));
    body.prepend(tools, editForm(p));
    const similar = similarList(p);
    if (similar) body.append(similar);
    if (admin() && !p.merged_into) body.append(mergeBox(p));
    body.append(el("p", { id: "merge-done", class: "muted small", role: "status" }));
  });

  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || $("app").hidden || document.querySelector("dialog[open]")) return;
    if (ev.key === "i" && $("contact-form")) { ev.preventDefault(); toggleEdit(true); }
  });
  const help = document.querySelector("#help tbody");
  if (help) {
    help.append(el("tr", {}, el("th", { scope: "row" }, el("kbd", { text: "i" })),
      el("td", { text: "edit the contact (name, email, phone, notes)" })));
  }
})();
