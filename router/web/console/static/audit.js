// Audit log page (/console/audit, issue 29): GET /api/v1/audit with the console's session
// cookie, newest first, "Older records" follows next_cursor. Values go in as text.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const API = location.pathname.replace(/console\/audit\/?$/, "") + "api/v1";
  let cursor = null;
  let shown = 0;

  // the actions, from the API's own document (one list, router/audit ACTIONS)
  fetch(`${API}/openapi.json`).then((r) => r.json()).then((doc) => {
    for (const a of doc.components.schemas.AuditRecord.properties.action.enum) {
      const o = document.createElement("option");
      o.value = a; o.textContent = a.replaceAll("_", " ");
      $("a-action").append(o);
    }
  }).catch(() => { /* the other filters still work */ });
  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }
  function row(r) {
    const tr = document.createElement("tr");
    tr.dataset.action = r.action;
    const detail = r.detail && Object.keys(r.detail).length ? JSON.stringify(r.detail) : "";
    tr.append(cell(new Date(r.at).toLocaleString()), cell(r.action), cell(r.actor || "(unknown)"),
              cell(r.object), cell(r.source), cell(detail));
    return tr;
  }
  async function load(more) {
    $("audit-error").textContent = "";
    const q = new URLSearchParams({ limit: "50" });
    if ($("a-action").value) q.set("action", $("a-action").value);
    if ($("a-actor").value.trim()) q.set("actor", $("a-actor").value.trim());
    if ($("a-start").value) q.set("start", $("a-start").value);
    if ($("a-end").value) q.set("end", $("a-end").value);
    if (more && cursor) q.set("cursor", cursor);
    try {
      const r = await fetch(`${API}/audit?${q}`,
                            { credentials: "same-origin", headers: { Accept: "application/json" } });
      const data = await r.json().catch(() => null);
      if (r.status === 401) throw new Error("Sign in to the console first.");
      if (r.status === 403) throw new Error("The audit log is for admins.");
      if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
      const rows = data.items.map(row);
      if (more) $("audit-rows").append(...rows); else $("audit-rows").replaceChildren(...rows);
      shown = (more ? shown : 0) + rows.length;
      cursor = data.next_cursor;
      $("audit-table").hidden = shown === 0;
      $("audit-more").hidden = !cursor;
      $("audit-status").textContent = shown ? `${shown} record${shown === 1 ? "" : "s"}` +
        (cursor ? " (more below)" : ".") : "No records match.";
      document.body.dataset.loaded = String(shown);
    } catch (err) {
      $("audit-error").textContent = err.message || String(err);
      $("audit-status").textContent = "";
    }
  }
  $("audit-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(false); });
  $("audit-more").addEventListener("click", () => load(true));
  load(false);
})();
