"""Canned replies made of text, `{{ variable.key }}` and `{% if %}` skip Jinja's runtime
(`rules.templates.Plain`); the text, and the errors, must be exactly Jinja's."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from router.domain.hours import Schedule
from rules import templates
from rules.replies import _Hours

PLAIN = [
    "Hej{% if contact.first_name %} {{ contact.first_name }}{% endif %}! Tack för att du hör av dig.",
    "We answer within {{ queue.sla.first_response }}.",
    "{{ language }}/{{ conversation.id }}/{{ conversation.tags }}",
    "{% if contact.email %}mail{% elif contact.first_name %}name{% else %}none{% endif %}",
    "{% if contact.email %}{% if contact.first_name %}both{% endif %}{% endif %}.",
    "{{ contact['first_name'] }}!\n",
    "  {{- contact.name -}}  and \n",
    "Open again {{ business_hours.next_opening }} ({{ business_hours.open }})",
    "{{ contact.fields.plan }} {{ contact.fields.items }}",  # a dict's attribute: Jinja's turn
    "{% if queue.sla.first_response %}within {{ queue.sla.first_response }}{% endif %}",
]
JINJA_ONLY = [
    "{{ contact.name | upper }}",
    "{% for t in conversation.tags %}{{ t }} {% endfor %}",
    "{{ contact.first_name or 'there' }}",
    "{% set n = contact.name %}{{ n }}",
]
SCHEDULE = Schedule.build("Europe/Stockholm", {"mon-fri": "08:00-17:00"}, ())
NOW = datetime(2026, 3, 3, 20, 0, tzinfo=UTC)


def _variables(first_name: Any, email: Any, sla: Any, tags: Any) -> dict[str, Any]:
    return {
        "contact": {"first_name": first_name, "name": "Ann Berg", "email": email,
                    "fields": {"plan": "gold"}},
        "queue": {"sla": {"first_response": sla} if sla != "absent" else {}},
        "conversation": {"id": 7, "tags": tags},
        "business_hours": _Hours(SCHEDULE, NOW, "sv"),
        "language": "sv",
    }


VARIABLES = [_variables(*combo) for combo in itertools.product(
    ["Ann", "", None], ["a@example.com", ""], ["2h", 0, "absent"], [["vip"], []])]


def _outcome(template: Any, variables: dict[str, Any]) -> str:
    try:
        return templates.render(template, variables)
    except templates.TemplateProblem as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("source", PLAIN)
def test_plain_templates_render_exactly_like_jinja(source: str):
    compiled = templates.compile_template(source)
    assert isinstance(compiled, templates.Plain)
    for variables in VARIABLES:
        assert _outcome(compiled, variables) == _outcome(compiled.template, variables)


def test_plain_errors_are_jinjas():
    compiled = templates.compile_template("{{ queue.sla.first_response }}")
    assert _outcome(compiled, _variables("Ann", "", "absent", [])).startswith(
        "error: template failed:")


def test_plain_renders_without_jinja(monkeypatch: pytest.MonkeyPatch):
    compiled = templates.compile_template(PLAIN[0])

    def no_jinja(*_: Any, **__: Any) -> str:
        raise AssertionError("Jinja ran")

    monkeypatch.setattr(compiled.template, "render", no_jinja)
    assert templates.render(compiled, _variables("Ann", "", "2h", [])) == (
        "Hej Ann! Tack för att du hör av dig.")


@pytest.mark.parametrize("source", JINJA_ONLY)
def test_other_templates_stay_with_jinja(source: str):
    compiled = templates.compile_template(source)
    assert not isinstance(compiled, templates.Plain)
    assert _outcome(compiled, VARIABLES[0])
