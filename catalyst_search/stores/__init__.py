"""Durable stores of the search side: the ingest queue and the job records (SQLite default)."""
