"""`integrations.crm` in config.yaml: field mapping errors at file:line, secrets from the env."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from router.config import load_config
from router.domain.errors import ConfigError
from router.domain.model import Contact, Conversation
from router.engine.integrations.crm.mapping import FieldSource, Record, lookup, render


def errors(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env or {})
    return [str(p).replace(f"{path}:", "config.yaml:") for p in caught.value.problems]


def test_unknown_source_is_reported_at_its_line(tmp_path: Path) -> None:
    assert errors(tmp_path, """\
        integrations:
          crm:
            hubspot:
              access_token: x
              fields:
                contact:
                  email: contact.emial
                activity:
                  hs_note_body: {valeu: x}
        """) == [
        "config.yaml:7:11: integrations.crm.hubspot.fields.contact.email: unknown source "
        "'contact.emial'; did you mean 'contact.email'?",
        "config.yaml:9:11: integrations.crm.hubspot.fields.activity.hs_note_body: a constant "
        "is written {value: ...}; other keys: valeu"]


def test_property_names_lookup_credentials_and_addresses(tmp_path: Path) -> None:
    assert errors(tmp_path, """\
        integrations:
          crm:
            hubspot:
              access_token: ${HUBSPOT_TOKEN}
              api_base: http://crm.example.com
              fields:
                contact:
                  email: null
                  phone: null
                  First_Name: contact.first_name
            salesforce:
              instance_url: https://acme.my.salesforce.com
              fields:
                activity:
                  WhoId: contact.email
                  Priority: {value: High}
        """, env={"HUBSPOT_TOKEN": "pat-na1-secret"}) == [
        "config.yaml:5:7: integrations.crm.hubspot.api_base: 'http://crm.example.com' is not "
        "an https:// address (hint: the token travels with every request: use https (plain "
        "http only to 127.0.0.1))",
        "config.yaml:7:9: integrations.crm.hubspot.fields.contact: no property is mapped from "
        "contact.email or contact.phone, so no contact could be found (hint: map the CRM's "
        "email or phone property, e.g. email: contact.email)",
        "config.yaml:10:11: integrations.crm.hubspot.fields.contact.First_Name: 'First_Name' "
        "is not a hubspot property name (hint: write lower case letters, digits and _ "
        "(HubSpot's internal name, e.g. lifecyclestage))",
        "config.yaml:11:5: integrations.crm.salesforce: no credentials (hint: set "
        "access_token, or client_id and client_secret (client credentials flow), from the "
        "environment: ${SALESFORCE_CLIENT_SECRET})",
        "config.yaml:15:11: integrations.crm.salesforce.fields.activity.WhoId: WhoId is set "
        "by the router (the contact the activity belongs to) (hint: leave it out)"]


def test_unknown_key_and_missing_token(tmp_path: Path) -> None:
    found = errors(tmp_path, """\
        integrations:
          crm:
            hubspot:
              access_token: ${HUBSPOT_TOKEN}
              rate_limt: 5
            zoho: {}
        """)
    assert found[0].startswith("config.yaml:4:21: environment variable HUBSPOT_TOKEN is not set")
    assert len(found) == 1  # the environment is checked before the keys
    found = errors(tmp_path, """\
        integrations:
          crm:
            hubspot:
              access_token: t
              rate_limt: 5
            zoho: {}
        """)
    assert found == [
        "config.yaml:5:7: unknown key 'rate_limt' (hint: did you mean 'rate_limit'?)",
        "config.yaml:6:5: unknown key 'zoho' (hint: known keys: hubspot, salesforce)"]


def test_mapping_merges_over_defaults_and_renders(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent("""\
        integrations:
          crm:
            hubspot:
              access_token: ${HUBSPOT_TOKEN}
              fields:
                contact:
                  phone: null
                  company: contact.fields.company
                  newsletter: {value: true}
        """), encoding="utf-8")
    config = load_config(path, env={"HUBSPOT_TOKEN": "pat-na1-secret"})
    hubspot = config.settings.integrations.crm.hubspot
    assert hubspot is not None and "pat-na1-secret" in config.secrets()
    fields = hubspot.contact_fields()
    assert fields == {"email": FieldSource("contact.email"),
                      "firstname": FieldSource("contact.first_name"),
                      "lastname": FieldSource("contact.last_name"),
                      "company": FieldSource("contact.fields.company"),
                      "newsletter": FieldSource(value=True)}
    contact = Contact(1, "Anna Maria Lind", email="anna@example.fi", phone="+358401",
                      fields={"company": "Lind Oy"})
    record = Record(contact, Conversation(5, 1, "email", "k"), "", "", "")
    assert render(fields, record) == {"email": "anna@example.fi", "firstname": "Anna Maria",
                                      "lastname": "Lind", "company": "Lind Oy",
                                      "newsletter": True}
    assert lookup(fields, contact) == {"email": "anna@example.fi"}  # phone is not mapped
