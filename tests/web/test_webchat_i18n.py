"""The widget's languages without a browser: the title's forms, the built-in strings,
the language picked from Accept-Language, and the page and loader the server renders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from channels.webchat import i18n
from channels.webchat.web import render_page
from router.config import load_config
from router.domain.errors import ConfigError
from tests.conftest import write_config
from tests.web.conftest import WEBCHAT_SECRET


def _webchat(tmp_path: Path, title: str) -> Any:
    config = load_config(write_config(tmp_path, f"""
        channels:
          webchat:
            languages: [sv, fi, nb, uk, en]
            {title}
    """))
    return config.channels["webchat"]


@pytest.mark.parametrize("title, expected", [
    ("", {"sv": None, "uk": None}),  # left out: built-in titles
    ("title: Exempel AB", {"sv": "Exempel AB", "uk": "Exempel AB"}),  # text: every language
    ("title: {sv: Exempel AB kundtjänst, en: '  Example Ltd  '}",
     {"sv": "Exempel AB kundtjänst", "en": "Example Ltd", "fi": None}),  # per language
])
def test_title_forms(tmp_path: Path, title: str, expected: dict[str, str | None]) -> None:
    settings = _webchat(tmp_path, title)
    assert {code: settings.title_for(code) for code in expected} == expected


@pytest.mark.parametrize("title, reason", [
    ("title: 5", "the title must be text, or text per language such as {sv: "),
    ("title: [Chat]", "got list"),
    ("title: '  '", "the title is empty; write one, or leave title out"),
    ("title: {}", "the title is an empty mapping"),
    ("title: {de: Hallo}", "'de' is not in languages (sv, fi, nb, uk, en); add it there"),
    ("title: {SV: Hej}", "'SV' is not a language code such as sv or en"),
    ("title: {sv: ''}", "the title for 'sv' is empty; write one, or leave 'sv' out"),
    ("title: {sv: [a]}", "the title for 'sv' must be text; got list"),
    (f"title: {{sv: {'x' * 121}}}", "the title for 'sv' has 121 characters; at most 120"),
])
def test_bad_title_is_a_config_error_naming_the_key(tmp_path: Path, title: str, reason: str) -> None:
    with pytest.raises(ConfigError) as err:
        _webchat(tmp_path, title)
    text = str(err.value)
    assert re.search(r"config\.yaml:\d+:\d+: channels\.webchat\.title: ", text), text
    assert reason in text


def test_every_built_in_language_has_every_string_with_the_same_placeholders() -> None:
    assert set(i18n.BUILT_IN) == {"en", "sv", "fi", "nb", "uk"}
    english = i18n.STRINGS["en"]
    for code, table in i18n.STRINGS.items():
        assert table.keys() == english.keys(), code
        for key, text in table.items():
            assert text.strip(), (code, key)
            assert re.findall(r"\{\w+\}", text) == re.findall(r"\{\w+\}", english[key]), (code, key)
        if code != "en":  # translated, not copied (a few words are the same, like nb "Send")
            same = [k for k in english if table[k] == english[k]]
            assert len(same) <= 1, (code, same)


def test_table_falls_back_to_english_and_takes_the_admins_title() -> None:
    assert i18n.table("sv")["title"] == "Chatta med oss"
    assert i18n.table("sv", title="Exempel AB")["title"] == "Exempel AB"
    assert i18n.table("no")["send"] == i18n.STRINGS["nb"]["send"]
    assert i18n.table("uk-UA")["send"] == "Надіслати"
    german = i18n.table("de")
    assert german["send"] == "Send" and german["name"] == "de"


@pytest.mark.parametrize("header, expected", [
    ("sv-SE,sv;q=0.9,en;q=0.8", "sv"),
    ("de-DE,de;q=0.9,uk;q=0.5", "uk"),
    ("en;q=0.1, fi;q=0.9", "fi"),
    ("nn-NO", "nb"),
    ("no", "nb"),
    ("de, *;q=0.5", "en"),
    ("sv;q=0, fi;q=junk", "en"),
    ("", "en"),
])
def test_language_from_accept_language(header: str, expected: str) -> None:
    assert i18n.pick_language(header, ["en", "sv", "fi", "nb", "uk"], "en") == expected


def test_page_rendering_escapes_and_never_expands_an_admins_text() -> None:
    template = '<html lang="__LANG__"><h1>__T_title__</h1><script>__CONFIG__</script>'
    out = render_page(template, lang="sv", strings={"title": "<b>__CONFIG__</b>"},
                      config={"a": "</script>"})
    assert out == ('<html lang="sv"><h1>&lt;b&gt;__CONFIG__&lt;/b&gt;</h1>'
                   '<script>{"a": "\\u003c/script\\u003e"}</script>')


@pytest.mark.asyncio(loop_scope="session")
async def test_page_and_loader_are_served_in_the_visitors_language(webchat_service: Any) -> None:
    service = await webchat_service(f"""
        channels:
          webchat: {{secret: {WEBCHAT_SECRET}, title: {{sv: Exempel AB kundtjänst}}}}
    """)
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/chat", headers={"Accept-Language": "fi-FI,fi;q=0.9"}) as resp:
            page = await resp.text()
            assert resp.headers["Content-Language"] == "fi"
        assert '<html lang="fi">' in page and "<title>Keskustele kanssamme</title>" in page
        assert 'placeholder="Kirjoita viesti…"' in page and ">Lähetä</button>" in page
        assert "__" not in page.replace("__irWebchat", "")
        async with http.get(f"{base}/chat", headers={"Accept-Language": "sv"}) as resp:
            assert '<h1 id="chat-title" data-i18n="title">Exempel AB kundtjänst</h1>' in await resp.text()
        async with http.get(f"{base}/chat/widget.js") as resp:
            loader = await resp.text()
            etag = resp.headers["ETag"]
        assert "__SETUP__" not in loader and '"uk": "Напишіть нам"' in loader
        async with http.get(f"{base}/chat/widget.js", headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304
