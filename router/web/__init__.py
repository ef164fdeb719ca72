"""HTTP: the app factory and its helpers, the API, the console, reports, attachments,
metrics."""
