"""`/console/faq`: the FAQ suggestions page of the agent console, for admins.

A small page of its own, like the Reports page, so the console's main script stays about
conversations. `static/faq.js` reads `/api/v1/faq/suggestions` with the console's
session cookie, so the API's admin check is the only gate (an agent gets the API's 403
and the page says so). The variants are customers' words: the script inserts them, and
the diff, as text, never as HTML, and the page's CSP forbids inline script as a second
layer. The page only shows: applying the diff is the admin's step.
"""

from __future__ import annotations

import html

from aiohttp import web

from router.web.console.assets import PAGE_HEADERS, page_head

PAGE = page_head(page="FAQ suggestions", script="faq.js") + """\
<main class="page" aria-labelledby="faq-title">
  <h2 id="faq-title">FAQ suggestions</h2>
  <p class="muted">New question variants for the knowledge base: customer messages that an
  agent answered with an entry's answer, or that a customer confirmed through "Did you
  mean". Nothing changes until an admin applies them: run
  <code>inquiry-router faq suggest --apply</code>, or save the diff below and run
  <code>patch -p0 &lt; suggestions.diff</code> in the directory of config.yaml.</p>
  <form id="faq-form" class="page-form">
    <label for="since">Since <input id="since" name="since" value="90d" size="12"
      aria-describedby="since-help"></label>
    <label for="min-count">Seen at least <input id="min-count" name="min_count" type="number"
      min="1" value="1"></label>
    <button type="submit" class="primary">Show</button>
  </form>
  <p id="since-help" class="muted small">A duration back from now (90d, 2w, 12h) or a day
  (YYYY-MM-DD).</p>
  <p id="faq-status" role="status"></p>
  <p id="faq-error" class="error" role="alert"></p>
  <table id="faq-table" class="faq-table" hidden>
    <caption class="muted small">Most often seen first</caption>
    <thead><tr><th scope="col">Entry</th><th scope="col">Language</th>
      <th scope="col">Question variant</th><th scope="col">Seen</th>
      <th scope="col">Learnt from</th><th scope="col">Goes into</th></tr></thead>
    <tbody id="faq-rows"></tbody>
  </table>
  <section id="faq-diff-box" aria-labelledby="diff-title" hidden>
    <h3 id="diff-title">Diff</h3>
    <button type="button" id="faq-copy">Copy the diff</button>
    <pre id="faq-diff" class="diff" tabindex="0"></pre>
  </section>
</main>
</body>
</html>
"""


def routes(title: str) -> list[web.RouteDef]:
    """The page, with the service's name (escaped) in its title and header."""
    body = PAGE.replace("__TITLE__", html.escape(title))

    async def faq_page(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="text/html", headers=PAGE_HEADERS)

    return [web.get("/console/faq", faq_page)]
