"""Integrations with the tools around the router (issue 27): CRM sync under `crm/`."""
