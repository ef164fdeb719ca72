"""The engine: the pipeline, the backlog, effects, the outbox, the agent desk, privacy,
integrations, the knowledge base."""
