"""Routes, one module per resource: ``search``, ``ingest``, ``health``."""
