// Phone layout (issue 24): one pane at a time, and the contact panel stays reachable. The
// conversation's head gets "Contact" (phone width only) and the contact panel
// "← Conversation"; on a desk both buttons stay hidden and the panel is beside the
// conversation (or under the lists from 761 to 1100 px: console.css).
"use strict";
(() => {
  const app = window.consoleApp;
  if (!app) return;
  const { el } = app;
  const $ = (id) => document.getElementById(id);
  const shell = $("app");
  const toContact = el("button", { type: "button", id: "to-contact", class: "phone-only",
                                   "aria-controls": "contact", text: "Contact" });
  const toConv = el("button", { type: "button", id: "to-conv", class: "phone-only",
                                "aria-controls": "conv", text: "← Conversation" });
  $("back").after(toContact);
  $("contact").prepend(toConv);
  toContact.addEventListener("click", () => {
    shell.classList.add("show-contact");
    $("contact-title").setAttribute("tabindex", "-1");
    $("contact-title").focus();
  });
  toConv.addEventListener("click", () => {
    shell.classList.remove("show-contact");
    $("messages").focus();
  });
  $("back").addEventListener("click", () => shell.classList.remove("show-contact"));
  document.addEventListener("console:conversation", (ev) => {
    if (shell.dataset.shown !== String(ev.detail.id)) shell.classList.remove("show-contact");
    shell.dataset.shown = String(ev.detail.id);
  });
})();
