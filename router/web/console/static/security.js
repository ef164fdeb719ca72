// Two-factor sign-in page (/console/security, issue 29): /console/2fa with the session
// cookie and the CSRF token of GET /console/session. The secret and the recovery codes
// are shown once; nothing here stores them.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const BASE = location.pathname.replace(/console\/security\/?$/, "");
  let csrf = "";
  let action = "";

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") { headers["X-CSRF-Token"] = csrf; headers["Content-Type"] = "application/json"; }
    const r = await fetch(BASE + path, { method, headers, credentials: "same-origin",
                                          body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await r.json().catch(() => null);
    if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
    return data;
  }
  function show(id) {
    for (const s of ["tf-off", "tf-enrol", "tf-on"]) $(s).hidden = s !== id;
  }
  function showCodes(codes) {
    $("tf-code-list").replaceChildren(...codes.map((c) => {
      const li = document.createElement("li");
      li.textContent = c;
      return li;
    }));
    $("tf-codes").hidden = false;
  }
  async function refresh() {
    const s = await call("GET", "console/2fa");
    $("tf-state").textContent = s.enabled
      ? `Two-factor sign-in is on. ${s.recovery_codes_left} recovery code${s.recovery_codes_left === 1 ? "" : "s"} left.`
      : "Two-factor sign-in is off." + (s.required ? " It is required here: set it up now." : "");
    $("tf-disable").hidden = Boolean(s.required);
    document.body.dataset.twoFactor = s.enabled ? "on" : "off";
    show(s.enabled ? "tf-on" : "tf-off");
  }
  function fail(err) { $("tf-error").textContent = err.message || String(err); }

  $("tf-start").addEventListener("click", async () => {
    $("tf-error").textContent = "";
    try {
      const e = await call("POST", "console/2fa/enrol", {});
      $("tf-qr").src = e.qr;
      $("tf-secret").textContent = e.secret;
      $("tf-secret").dataset.uri = e.otpauth_uri;
      show("tf-enrol");
      $("tf-code").focus();
    } catch (err) { fail(err); }
  });
  $("tf-confirm-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("tf-error").textContent = "";
    try {
      const r = await call("POST", "console/2fa/confirm", { code: $("tf-code").value.trim() });
      $("tf-code").value = "";
      $("tf-secret").textContent = "";
      showCodes(r.recovery_codes);
      await refresh();
    } catch (err) { fail(err); }
  });
  $("tf-renew").addEventListener("click", () => { action = "renew"; });
  $("tf-disable").addEventListener("click", () => { action = "disable"; });
  $("tf-manage-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("tf-error").textContent = "";
    const code = $("tf-manage-code").value.trim();
    try {
      if (action === "disable") {
        await call("POST", "console/2fa/disable", { code });
        $("tf-codes").hidden = true;
      } else {
        showCodes((await call("POST", "console/2fa/recovery-codes", { code })).recovery_codes);
      }
      $("tf-manage-code").value = "";
      await refresh();
    } catch (err) { fail(err); }
  });

  call("GET", "console/session")
    .then((s) => { csrf = s.csrf; return refresh(); })
    .catch(() => { $("tf-state").textContent = "Sign in to the console first."; });
})();
