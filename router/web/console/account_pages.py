"""Two small pages beside the console (issue 29), like the FAQ page.

- `/console/security`: the signed-in agent's two-factor sign-in: enrol (QR code and the
  secret, shown once), confirm with a first code (ten recovery codes, shown once), renew
  the recovery codes, turn it off. `static/security.js` over `/console/2fa`.
- `/console/audit`: the audit log for admins, with filters and older pages;
  `static/audit.js` over `GET /api/v1/audit`, whose admin check is the only gate (an agent
  gets the API's 403 and the page says so).

Scripts insert every value as text, never as HTML; the pages' CSP forbids inline script.
"""

from __future__ import annotations

import html

from aiohttp import web

from router.web.console.assets import PAGE_HEADERS, page_head

SECURITY = page_head(page="Two-factor sign-in", script="security.js") + """\
<main class="page" aria-labelledby="sec-title">
  <h2 id="sec-title">Two-factor sign-in</h2>
  <p class="muted">With two-factor sign-in, the console asks for a six-digit code from an
  authenticator app (any app for TOTP codes) after your password.</p>
  <p id="tf-state" role="status">Loading…</p>
  <p id="tf-error" class="error" role="alert"></p>
  <section id="tf-off" hidden>
    <button type="button" id="tf-start" class="primary">Set up two-factor sign-in</button>
  </section>
  <section id="tf-enrol" aria-labelledby="enrol-title" hidden>
    <h3 id="enrol-title">Scan this code with your authenticator app</h3>
    <img id="tf-qr" alt="QR code for your authenticator app" width="220" height="220">
    <p class="small">Or enter this key by hand: <code id="tf-secret"></code></p>
    <form id="tf-confirm-form" class="page-form">
      <label for="tf-code">The app's current code
        <input id="tf-code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" size="8">
      </label>
      <button type="submit" class="primary">Turn on</button>
    </form>
  </section>
  <section id="tf-codes" aria-labelledby="codes-title" hidden>
    <h3 id="codes-title">Your recovery codes</h3>
    <p>Each works once, instead of a code, when your phone is not at hand. They are shown
    only now: keep them somewhere safe.</p>
    <ol id="tf-code-list" class="recovery-codes"></ol>
  </section>
  <section id="tf-on" hidden>
    <form id="tf-manage-form" class="page-form">
      <label for="tf-manage-code">A current code (or a recovery code)
        <input id="tf-manage-code" autocomplete="one-time-code" size="22">
      </label>
      <button type="submit" id="tf-renew">New recovery codes</button>
      <button type="submit" id="tf-disable">Turn off</button>
    </form>
  </section>
</main>
</body>
</html>
"""

AUDIT = page_head(page="Audit log", script="audit.js") + """\
<main class="page" aria-labelledby="audit-title">
  <h2 id="audit-title">Audit log</h2>
  <p class="muted">Who signed in, changed agents or roles, issued or revoked tokens,
  reloaded the configuration, exported, erased or merged contacts and downloaded reports.
  Records hold ids, never message text or a contact's personal data. Also:
  <code>inquiry-router audit</code> and <code>GET /api/v1/audit</code>.</p>
  <form id="audit-form" class="page-form">
    <label for="a-action">Action <select id="a-action"><option value="">any</option></select></label>
    <label for="a-actor">Actor <input id="a-actor" size="16" placeholder="agent name"></label>
    <label for="a-start">From <input id="a-start" type="date"></label>
    <label for="a-end">To <input id="a-end" type="date"></label>
    <button type="submit" class="primary">Show</button>
  </form>
  <p id="audit-status" role="status"></p>
  <p id="audit-error" class="error" role="alert"></p>
  <table id="audit-table" class="faq-table" hidden>
    <thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Actor</th>
      <th scope="col">Object</th><th scope="col">Source</th><th scope="col">Detail</th></tr></thead>
    <tbody id="audit-rows"></tbody>
  </table>
  <button type="button" id="audit-more" hidden>Older records</button>
</main>
</body>
</html>
"""


def routes(title: str) -> list[web.RouteDef]:
    """Both pages, with the service's name (escaped) in their titles and headers."""
    name = html.escape(title)
    security, audit = SECURITY.replace("__TITLE__", name), AUDIT.replace("__TITLE__", name)

    async def security_page(request: web.Request) -> web.Response:
        return web.Response(text=security, content_type="text/html", headers=PAGE_HEADERS)

    async def audit_page(request: web.Request) -> web.Response:
        return web.Response(text=audit, content_type="text/html", headers=PAGE_HEADERS)

    return [web.get("/console/security", security_page), web.get("/console/audit", audit_page)]
