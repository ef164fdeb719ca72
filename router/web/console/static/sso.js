// Single sign-on on the sign-in form (issue 29): a "Sign in with ..." link per provider
// (GET console/sso lists them), the reason a provider sign-in was refused
// (?sso_error=... from the callback), and no password fields when passwords are off.
(() => {
  "use strict";
  const BASE = location.pathname.replace(/console\/?$/, "");
  const MESSAGES = {
    state: "The sign-in could not be matched to this browser. Start it again from this page.",
    provider: "The identity provider did not sign you in.",
    code: "The identity provider did not confirm the sign-in. Try again.",
    id_token: "The identity provider's answer could not be verified. Try again, or ask an admin.",
    unavailable: "The identity provider cannot be reached right now. Try again in a moment.",
    email: "Your account at the identity provider has no verified email address.",
    not_allowed: "Your account is not in a group that may use the console.",
    no_agent: "No agent has your email address. Ask an admin to add you.",
    ambiguous: "More than one agent has your email address. Ask an admin to fix that.",
    disabled: "Your agent account is disabled.",
  };
  const $ = (id) => document.getElementById(id);

  const params = new URLSearchParams(location.search);
  const error = params.get("sso_error");
  if (error) {
    $("signin-error").textContent = MESSAGES[error] || "The single sign-on failed. Try again.";
    history.replaceState(null, "", location.pathname);  // a reload does not repeat it
  }

  fetch(BASE + "console/sso", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((data) => {
      if (!data) return;
      const box = $("sso");
      for (const p of data.providers) {
        const a = document.createElement("a");
        a.href = BASE + p.url;
        a.className = "sso-btn";
        a.id = "sso-" + p.id;
        a.textContent = "Sign in with " + p.label;
        box.append(a);
      }
      box.hidden = data.providers.length === 0;
      if (!data.passwords) {
        for (const id of ["email", "password"]) {
          $(id).hidden = true;
          document.querySelector(`label[for=${id}]`).hidden = true;
        }
        // the form's button is then only for an API token: shown with the token box
        const button = $("signin-btn");
        const tokenBox = $("token-box");
        button.textContent = "Sign in with the token";
        const sync = () => { button.hidden = !tokenBox.open; };
        tokenBox.addEventListener("toggle", sync);
        sync();
        document.body.dataset.passwords = "off";
      }
      document.body.dataset.sso = String(data.providers.length);
    })
    .catch(() => { /* the password form still works */ });
})();
