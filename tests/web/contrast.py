"""An axe-style colour contrast check run in the page (issue 24).

Every visible element with text of its own (and every filled form field) has its text
colour composited over the backgrounds beneath it (with the opacity of its ancestors) and
compared with WCAG 2's formula: 4.5:1 for body text, 3:1 for large text (24 px, or 18.66
px bold). Elements on a background image are skipped (unknown), as are disabled controls
(WCAG exempts inactive components). Returns the failures, empty when all pass.
"""

from __future__ import annotations

from typing import Any

SCAN_JS = """() => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g); if (!m) return null;
    const [r, g, b, a] = m.map(Number); return [r, g, b, a === undefined ? 1 : a]; };
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  function background(el) {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const cs = getComputedStyle(n);
      if (cs.backgroundImage && cs.backgroundImage !== "none") return null;
      const c = parse(cs.backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (const l of layers.reverse()) bg = over(l, bg);
    return bg;
  }
  function shown(el) {
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && cs.visibility !== "hidden" && !el.closest("[hidden]")
      && !el.closest("[aria-hidden=true]") && !el.closest("dialog:not([open])");
  }
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (["SCRIPT", "STYLE", "OPTION", "OPTGROUP"].includes(el.tagName) || el.closest("svg")) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const field = /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)
      && !["checkbox", "radio", "file", "hidden", "color", "range"].includes(el.type)
      && (el.value || el.tagName === "SELECT");
    if ((!own && !field) || el.disabled || !shown(el)) continue;
    const cs = getComputedStyle(el);
    let opacity = 1;
    for (let n = el; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
    const bg = background(el);
    if (!bg) continue;
    const c = parse(cs.color);
    const fg = over([c[0], c[1], c[2], c[3] * opacity], bg);
    const [a, b] = [lum(fg), lum(bg)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const classes = typeof el.className === "string" ? el.className.trim().split(/\\s+/).join(".") : "";
    if (ratio < need) out.push({ element: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
        + (classes ? "." + classes : ""),
      text: (el.value || el.textContent || "").trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100,
      needed: need, color: cs.color, background: `rgb(${bg.slice(0, 3).map(Math.round).join(", ")})` });
  }
  return out;
}"""


async def contrast_failures(page: Any) -> list[dict[str, Any]]:
    return await page.evaluate(SCAN_JS)  # type: ignore[no-any-return]


async def assert_contrast(page: Any, where: str) -> None:
    failures = await contrast_failures(page)
    assert not failures, f"{where}: text below WCAG AA contrast: {failures}"
