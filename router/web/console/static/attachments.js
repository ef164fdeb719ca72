// Files in the agent console (issue 24): previews and downloads in messages, files with
// replies. Names are text (textContent), files come from GET /api/v1/messages/{id}/
// attachments/{index} (served with their sniffed type, nosniff and a download name).
// A chosen file is uploaded at once (POST /api/v1/uploads) so a refusal (too large, a
// type not taken) shows before anything is sent; Send then names the uploads.
"use strict";
(() => {
  const app = window.consoleApp;
  if (!app) return;
  const { el, state: S } = app;
  const $ = (id) => document.getElementById(id);
  const API = location.pathname.replace(/console\/?$/, "") + "api/v1";
  const IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
  const SENDS_FILES = new Set(["webchat", "telegram", "email", "slack"]);  // router/api/files.py
  const chosen = [];  // {name, size, state: "uploading"|"ready"|"refused", id, promise}

  function sizeText(bytes) {
    const mb = bytes / (1024 * 1024);
    return mb >= 1 ? `${mb.toFixed(mb >= 10 ? 0 : 1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} kB`;
  }
  const fileUrl = (messageId, index, inline) =>
    `${API}/messages/${messageId}/attachments/${index}${inline ? "?inline=true" : ""}`;
  // what the server keeps a file for (router/attachments/serve.py `servable`)
  const kept = (a) => Boolean(a.stored) || String(a.ref || "").startsWith("email-raw:");

  // --- files in messages ----------------------------------------------------------------
  function fileBlock(m) {
    const items = (m.attachments || []).map((a, i) => {
      const name = a.name || a.kind || "file";
      if (!kept(a)) {  // a Telegram file not downloaded, a Slack link, a location...
        return el("li", { class: "file file--remote" }, el("span", { class: "file-name", text: name }),
          el("span", { class: "file-size", text: a.kind === "location" ? String(a.ref || "") : "kept by the platform" }));
      }
      const size = a.stored_size || a.size;
      if (a.kind === "image" || a.kind === "photo" || IMAGES.has(a.mime)) {
        return el("li", { class: "file file--image" }, el("a", { href: fileUrl(m.id, i, false), download: name,
          title: `Download ${name}` }, el("img", { src: fileUrl(m.id, i, true), alt: name, loading: "lazy" })));
      }
      return el("li", { class: "file" }, el("a", { href: fileUrl(m.id, i, false), download: name },
        el("span", { class: "file-name", text: name }), el("span", { class: "file-size", text: size ? sizeText(size) : "" })));
    });
    return items.length ? el("ul", { class: "files", "aria-label": "Files" }, ...items) : null;
  }
  document.addEventListener("console:conversation", (ev) => {
    const c = ev.detail;
    for (const m of c.messages || []) {
      if (!(m.attachments || []).length) continue;
      const li = document.querySelector(`#messages .msg[data-id="${m.id}"]`);
      const block = li && !li.querySelector(".files") ? fileBlock(m) : null;
      if (block) li.insertBefore(block, li.querySelector(".body"));
    }
    showButton();
  });

  // --- files with a reply -----------------------------------------------------------------
  const input = el("input", { type: "file", id: "reply-files", multiple: true, class: "visually-hidden",
                              tabindex: "-1", "aria-hidden": "true" });
  const button = el("button", { type: "button", id: "attach-btn", class: "attach-btn",
                                "aria-controls": "reply-file-list", text: "Attach files" });
  const list = el("ul", { id: "reply-file-list", class: "reply-files", "aria-label": "Files to send" });
  const problem = el("p", { id: "attach-error", class: "error", role: "alert" });
  const foot = document.querySelector("#compose .compose-foot");
  foot.insertBefore(button, $("send").nextSibling);
  foot.after(list, problem);
  $("compose").append(input);

  function showButton() {
    const c = S.open;
    const channel = c ? String(c.channel).split(":")[0] : "";
    const ok = app.mode() === "reply" && SENDS_FILES.has(channel);
    button.hidden = !ok;
    list.hidden = !ok || !chosen.length;
  }
  for (const r of document.querySelectorAll("input[name=mode]")) r.addEventListener("change", showButton);
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    for (const file of input.files) add(file);
    input.value = "";
  });

  function render() {
    list.replaceChildren(...chosen.map((f) => el("li", { class: `reply-file reply-file--${f.state}` },
      el("span", { class: "file-name", text: f.name }),
      el("span", { class: "file-size", text: f.state === "uploading" ? "uploading…" : sizeText(f.size) }),
      el("button", { type: "button", class: "remove", "aria-label": `Remove ${f.name}`, text: "×",
                     on: { click: () => { chosen.splice(chosen.indexOf(f), 1); render(); } } }))));
    list.hidden = !chosen.length;
  }
  function add(file) {
    problem.textContent = "";
    const f = { name: file.name || "file", size: file.size, state: "uploading", id: "" };
    f.promise = fetch(`${API}/uploads?name=${encodeURIComponent(f.name)}`, {
      method: "POST", body: file, credentials: "same-origin",
      headers: { "X-CSRF-Token": S.csrf, "Content-Type": "application/octet-stream", Accept: "application/json" },
    }).then(async (r) => {
      const data = await r.json().catch(() => null);
      if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
      f.id = data.id; f.name = data.name; f.state = "ready";
    }).catch((err) => {
      f.state = "refused";
      chosen.splice(chosen.indexOf(f), 1);
      problem.textContent = err.message;
    }).finally(render);
    chosen.push(f);
    render();
  }

  app.sendHooks.push({
    content: (m) => m === "reply" && chosen.length > 0,
    async before(m) {
      if (m !== "reply" || !chosen.length) return {};
      await Promise.all(chosen.map((f) => f.promise));
      return { attachments: chosen.filter((f) => f.state === "ready").map((f) => ({ id: f.id, name: f.name })) };
    },
    after(m) {
      if (m !== "reply") return;
      chosen.length = 0;
      problem.textContent = "";
      render();
    },
  });
  showButton();
})();
