// FAQ suggestions page (/console/faq): reads /api/v1/faq/suggestions with the console's
// session cookie. The variants are customers' words: every text, the diff included, is
// inserted with textContent, never as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const API = location.pathname.replace(/console\/faq\/?$/, "") + "api/v1";
  const SOURCES = { agent_answer: "an agent's answer", did_you_mean: "“Did you mean”" };

  function cell(text, tag = "td") {
    const node = document.createElement(tag);
    node.textContent = text;
    return node;
  }
  function row(s) {
    const tr = document.createElement("tr");
    const where = s.file ? `${s.file}:${s.line}` : "(entry not found in the files)";
    tr.append(cell(s.entry), cell(s.language), cell(s.text), cell(String(s.count)),
              cell(s.sources.map((k) => SOURCES[k] || k).join(", ")), cell(where));
    return tr;
  }
  function show(data) {
    const items = data.items || [];
    $("faq-rows").replaceChildren(...items.map(row));
    $("faq-table").hidden = items.length === 0;
    $("faq-diff").textContent = data.diff || "";
    $("faq-diff-box").hidden = !data.diff;
    const since = data.since ? new Date(data.since).toLocaleDateString() : "";
    $("faq-status").textContent = items.length
      ? `${items.length} suggestion${items.length === 1 ? "" : "s"} since ${since}.`
      : `Nothing to suggest: no new question variants since ${since}.`;
  }
  async function load() {
    $("faq-error").textContent = "";
    $("faq-status").textContent = "Loading…";
    const query = new URLSearchParams({ since: $("since").value.trim() || "90d",
                                        min_count: $("min-count").value || "1" });
    try {
      const r = await fetch(`${API}/faq/suggestions?${query}`,
                            { credentials: "same-origin", headers: { Accept: "application/json" } });
      const data = await r.json().catch(() => null);
      if (r.status === 401) throw new Error("Sign in at the console first, then come back.");
      if (r.status === 403) throw new Error("FAQ suggestions are for admins.");
      if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
      show(data);
    } catch (err) {
      $("faq-status").textContent = "";
      $("faq-error").textContent = err.message || String(err);
    }
  }
  $("faq-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  $("faq-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("faq-diff").textContent);
      $("faq-status").textContent = "The diff is on the clipboard.";
    } catch {
      $("faq-status").textContent = "Copying failed: select the diff and copy it by hand.";
    }
  });
  load();
})();
