/* Web chat files (issue 24): attach from the widget, see and download what was sent.
 *
 * A file goes up as the raw body of POST /chat/upload with the visitor token in a header;
 * the server sniffs its content and answers 413 (too large) or 415 (a type not taken)
 * with the reason, shown under the file in the visitor's language. A file too large is
 * refused here already, before a byte is sent. Files in messages are fetched with the
 * token too and shown from blob: URLs (images inline, other files as download links),
 * so the token never appears in a URL. Names and captions are text (textContent).
 */
(() => {
  "use strict";
  const chat = window.irChat;
  const cfg = JSON.parse(document.getElementById("ir-config").textContent);
  const limits = cfg.attachments;
  if (!chat) return;
  const $ = (id) => document.getElementById(id);
  const IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
  const input = $("file"), button = $("attach"), text = $("text");

  function sizeText(bytes) {
    const mb = bytes / (1024 * 1024);
    return mb >= 1 ? `${mb.toFixed(mb >= 10 ? 0 : 1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} kB`;
  }

  function fileUrl(messageId, index, inline) {
    const url = new URL(`files/${messageId}/${index}`, chat.base);
    if (inline) url.searchParams.set("inline", "1");
    return url;
  }

  async function blobOf(messageId, index, inline) {
    const resp = await fetch(fileUrl(messageId, index, inline), {
      credentials: "same-origin", headers: { Authorization: `Bearer ${chat.token()}` } });
    if (!resp.ok) throw new Error(`file: HTTP ${resp.status}`);
    return URL.createObjectURL(await resp.blob());
  }

  // one file in a message: an image preview or a download link
  function fileItem(f, source) {
    const item = document.createElement("span");
    item.className = "file";
    const link = document.createElement("a");
    link.className = "file-link";
    link.download = f.name || "file";
    link.setAttribute("aria-label", chat.t("download", { name: f.name || "file" }));
    if (f.kind === "image" && IMAGES.has(f.mime)) {
      const img = document.createElement("img");
      img.alt = f.name || "";
      img.className = "file-image";
      link.append(img);
      source(true).then((url) => { img.src = url; link.href = url; }, () => item.classList.add("file--gone"));
    } else {
      const name = document.createElement("span");
      name.className = "file-name";
      name.textContent = f.name || "file";
      const size = document.createElement("span");
      size.className = "file-size";
      size.textContent = f.size ? sizeText(f.size) : "";
      link.append(name, size);
      link.href = "#";
      link.addEventListener("click", async (ev) => { // fetched when asked for, then saved
        if (link.dataset.ready) return;
        ev.preventDefault();
        try {
          link.href = await source(false);
          link.dataset.ready = "1";
          link.click();
        } catch (_) { item.classList.add("file--gone"); }
      });
    }
    item.append(link);
    return item;
  }

  function showFiles(li, files, source) {
    if (!li || !files || !files.length || li.querySelector(".files")) return;
    const box = document.createElement("span");
    box.className = "files";
    files.filter((f) => f.available !== false).forEach((f) => box.append(fileItem(f, (inline) => source(f, inline))));
    li.insertBefore(box, li.querySelector(".body"));
    li.classList.add("msg--files");
  }

  chat.messageHooks.push((li, m) => {
    if (m.id) showFiles(li, m.attachments, (f, inline) => blobOf(m.id, f.index, inline));
  });

  // --- sending ----------------------------------------------------------------------------
  function refuse(li, key, vars, reason) {
    const files = li.querySelector(".files");
    if (files) files.remove();  // the reason names the file; no preview of what was refused
    li.classList.remove("pending");
    li.classList.add("failed");
    li.dataset.reason = reason || "";
    const err = document.createElement("span");
    err.className = "err";
    chat.say(err, key, vars);
    li.append(err);
  }

  async function send(file) {
    const name = file.name || "file";
    const id = chat.newId();
    const li = chat.addMessage({ author: "customer", body: "", key: `c:${id}`, pendingState: true });
    const local = { kind: IMAGES.has(file.type) ? "image" : "file", mime: file.type, name, size: file.size };
    showFiles(li, [local], () => Promise.resolve(URL.createObjectURL(file)));
    if (file.size > limits.max_bytes) {
      return refuse(li, "file_too_large", { name, max: sizeText(limits.max_bytes) }, "too large (checked here)");
    }
    const url = new URL("upload", chat.base);
    url.searchParams.set("id", id);
    url.searchParams.set("name", name);
    url.searchParams.set("lang", chat.lang());
    let resp = null;
    try {
      resp = await fetch(url, { method: "POST", body: file, credentials: "same-origin",
                                headers: { Authorization: `Bearer ${chat.token()}`,
                                           "Content-Type": "application/octet-stream" } });
    } catch (_) { resp = null; }
    if (resp && resp.ok) {
      const data = await resp.json();
      chat.acked({ id, message_id: data.message_id });
      return;
    }
    const error = resp ? ((await resp.json().catch(() => ({}))).error || {}) : {};
    const key = error.code === "too_large" ? "file_too_large" : error.code === "type" ? "file_type" : "file_failed";
    refuse(li, key, { name, max: sizeText(error.max_bytes || limits.max_bytes) }, error.message);
  }

  if (!limits || !input || !button) return; // files are off here
  button.hidden = false;
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    for (const file of input.files) send(file);
    input.value = "";
    text.focus();
  });
  text.addEventListener("paste", (ev) => { // a pasted screenshot is a file too
    const files = [...(ev.clipboardData ? ev.clipboardData.files : [])];
    if (!files.length) return;
    ev.preventDefault();
    files.forEach(send);
  });
})();
