"""The agents' web console (`/console`): sign-in, session cookie and CSRF, the page."""
