"""CRM sync (issue 27): HubSpot and Salesforce contacts and activities; docs/integrations.md."""
