"""The embedded backend: Qdrant Edge in-process, one writer publishing versions, many readers."""
