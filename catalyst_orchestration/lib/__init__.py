"""Plain Python the Dagster definitions use: sources, parsers, chunking, indexing, state."""
