"""The index contract (query, reader, writer), its schema and filters, and the two backends.

``contract`` and ``schema`` are what callers use; ``factory`` picks ``embedded`` or ``server``.
"""
