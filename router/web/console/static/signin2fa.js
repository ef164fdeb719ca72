// The code step of the console's sign-in (issue 29): after the password (or token) the
// server answered {two_factor: "code"|"enrol", pending, ...} instead of a session.
// POST console/login/code {pending, code} finishes the sign-in; a first enrolment's answer
// carries the recovery codes, shown once before the console opens.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const BASE = location.pathname.replace(/console\/?$/, "");
  let pending = "";
  let start = null;

  window.consoleTwoFactor = (challenge, startConsole) => {
    pending = challenge.pending;
    start = startConsole;
    const enrol = challenge.two_factor === "enrol";
    $("tf-step-enrol").hidden = !enrol;
    if (enrol) {
      $("tf-step-qr").src = challenge.qr;
      $("tf-step-secret").textContent = challenge.secret;
      $("tf-step-label").textContent = "The code your authenticator app shows now";
    }
    $("tf-step-codes").hidden = true;
    for (const id of ["tf-step-label", "tf-step-code", "tf-step-btn"]) $(id).hidden = false;
    $("tf-step-error").textContent = "";
    $("signin-form").hidden = true;
    $("tf-step").hidden = false;
    $("tf-step-code").focus();
  };

  function back(message) {
    $("tf-step").hidden = true;
    $("signin-form").hidden = false;
    $("signin-error").textContent = message || "";
  }

  $("tf-step").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("tf-step-error").textContent = "";
    const r = await fetch(BASE + "console/login/code", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ pending, code: $("tf-step-code").value.trim() }),
    });
    const data = await r.json().catch(() => null);
    $("tf-step-code").value = "";
    if (!r.ok) {
      const message = (data && data.error && data.error.message) || r.statusText;
      if (r.status === 401 && data && data.error && data.error.code === "expired") back(message);
      else $("tf-step-error").textContent = message;
      return;
    }
    pending = "";
    if (data.recovery_codes) {
      for (const id of ["tf-step-enrol", "tf-step-label", "tf-step-code", "tf-step-btn"]) $(id).hidden = true;
      $("tf-step-secret").textContent = "";
      $("tf-step-code-list").replaceChildren(...data.recovery_codes.map((c) => {
        const li = document.createElement("li");
        li.textContent = c;
        return li;
      }));
      $("tf-step-codes").hidden = false;
      $("tf-step-done").onclick = () => { $("tf-step").hidden = true; $("signin-form").hidden = false; start(data); };
      $("tf-step-done").focus();
      return;
    }
    $("tf-step").hidden = true;
    $("signin-form").hidden = false;
    await start(data);
  });
})();
