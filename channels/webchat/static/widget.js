/* Embeddable loader: <script src="https://support.example/chat/widget.js" async></script>
 *
 * Adds a chat button to the host page; the chat itself runs in an iframe from our
 * origin, so the host page's CSS and scripts cannot reach the conversation and ours
 * cannot disturb the host. Optional attributes: data-label (button text in every
 * language), data-label-<code> (in one language: data-label-sv="Chatta"),
 * data-position="left". Without them the button says the built-in "Chat with us" in the
 * visitor's language; once the chat is open, it follows the language chosen there.
 * data-identity: a signed-in customer's signed identity (an HS256 token made by the
 * host site's server, docs/web.md), so the conversation joins their history.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__irWebchat) return;
  window.__irWebchat = true;
  const setup = __SETUP__; // filled in by the server: {languages, default_language, labels}
  const chatUrl = new URL("../chat?embed=1", script.src); // .../chat/widget.js -> .../chat
  // in the fragment: the browser never sends it to a server or puts it in a Referer
  if (script.dataset.identity) chatUrl.hash = "identity=" + encodeURIComponent(script.dataset.identity);
  const origin = new URL(script.src).origin;
  const side = script.dataset.position === "left" ? "left" : "right";
  const narrow = window.matchMedia("(max-width: 600px)");

  const button = document.createElement("button");
  button.type = "button";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "ir-webchat-frame");
  Object.assign(button.style, {
    position: "fixed", bottom: "20px", [side]: "20px", zIndex: "2147483000",
    padding: "12px 20px", borderRadius: "24px", border: "0", cursor: "pointer",
    background: "#0b57d0", color: "#ffffff", font: "600 16px system-ui, sans-serif",
    boxShadow: "0 2px 8px rgba(0,0,0,.3)",
  });

  const frame = document.createElement("iframe");
  frame.id = "ir-webchat-frame";
  frame.hidden = true;
  let chosen = ""; // the language picked inside the chat, once it has told us

  // same rules as the chat page: exact code, primary subtag, no/nn -> nb
  function matchLanguage(wanted) {
    const code = String(wanted).toLowerCase(), primary = code.split("-")[0];
    const find = (c) => setup.languages.find((l) => l.toLowerCase() === c);
    return find(code) || find(primary) || (primary === "no" || primary === "nn" ? find("nb") : undefined);
  }

  function browserLanguage() {
    for (const wanted of navigator.languages || [navigator.language || ""]) {
      const hit = matchLanguage(wanted);
      if (hit) return hit;
    }
    return setup.default_language;
  }

  function relabel(code) {
    const own = "label" + code.toLowerCase().split("-").map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
    const label = script.dataset[own] || script.dataset.label || setup.labels[code]
      || setup.labels[setup.default_language] || "Chat";
    button.textContent = label;
    frame.title = label;
    button.lang = code;
  }

  function place() {
    const full = narrow.matches; // on a phone the chat takes the whole screen
    Object.assign(frame.style, {
      position: "fixed", zIndex: "2147483001", border: "0", background: "#fff",
      bottom: full ? "0" : "84px", [side]: full ? "0" : "20px",
      width: full ? "100vw" : "380px", height: full ? "100dvh" : "560px",
      maxHeight: full ? "100dvh" : "calc(100vh - 104px)",
      borderRadius: full ? "0" : "12px", boxShadow: "0 4px 24px rgba(0,0,0,.35)",
    });
  }

  function open(show) {
    if (show && !frame.src) frame.src = chatUrl.href; // load lazily: no socket until wanted
    frame.hidden = !show;
    button.setAttribute("aria-expanded", String(show));
    if (show) frame.focus(); else button.focus();
  }

  button.addEventListener("click", () => open(frame.hidden));
  window.addEventListener("message", (ev) => {
    if (ev.origin !== origin || !ev.data) return;
    if (ev.data.type === "ir-webchat-close") open(false);
    else if (ev.data.type === "ir-webchat-lang" && setup.languages.includes(ev.data.lang)) {
      chosen = ev.data.lang;
      relabel(chosen);
    }
  });
  window.addEventListener("languagechange", () => relabel(chosen || browserLanguage()));
  relabel(browserLanguage());
  narrow.addEventListener("change", place);
  place();
  document.body.append(frame, button);
})();
