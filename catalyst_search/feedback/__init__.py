"""Feedback: every search logged, every vote and click kept, and the boosts they earned.

records.py holds what is logged; store.py the store protocol and how to open it (SQLite under
``CATALYST_HOME``, or Redis beside the queue); search_log.py writes the search log off the
request path; boosts.py applies the live boost version of a tenant after fusion;
analytics.py answers ``GET /feedback/analytics`` from the store's counters. The boosts are
computed offline by the code location (``defs/feedback``), never here.
"""
