"""Who is calling: credentials (JWT, API keys) become a tenant and roles; rate limits per tenant.

The tenant of every request comes from here and never from the request body (architecture
decision 8). ``CATALYST_AUTH=disabled`` is for a laptop: every caller is tenant ``default``.
"""
