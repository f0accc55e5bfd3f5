"""The server backend: qdrant-client against a Qdrant server (or ``:memory:`` in tests)."""
