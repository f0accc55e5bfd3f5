"""The index contract: collection schema, point ids, payload, filters and the two backends."""
