"""Query planning: tenant scope, request filters, hybrid retrieval and fusion."""
