"""The contract between the search service and Dagster for ingest requests.

``contract`` names what both sides agree on (the message, run tags, the sensor's name, which
files are record sources); ``sources`` checks a requested source; ``queue``/``redis_queue``
carry messages to the sensor; ``jobs`` with ``sqlite_jobs``/``redis_jobs`` record what each job
became; ``dispatch`` submits a job, falling back to a local outbox; ``stores`` opens the
configured stores; ``health`` says whether queued jobs would start now.
"""
