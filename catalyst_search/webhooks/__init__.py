"""Webhooks: a job's end reported to the URLs its tenant named, signed, retried, recorded.

deliveries.py is the record of each delivery and the store protocol; sqlite_deliveries.py and
redis_deliveries.py keep it beside the job records; sender.py signs and posts what is due.
"""
