"""What the chat side counts for /metrics: events acknowledged, jobs worked, why jobs failed,
and how long commands take.

Labels are bounded sets (platform names, outcome and reason words): never a person, a file name
or a token.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ACKS = Counter(
    "cloudbox_chat_events_acked",
    "Chat events with files acknowledged after their jobs were persisted.",
    ["platform"],
)
JOB_SECONDS = Histogram(
    "cloudbox_ingest_job_seconds",
    "Time one attempt at an ingest job took (download, checks, store).",
    ["platform", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
JOB_ATTEMPTS = Histogram(
    "cloudbox_ingest_job_attempts",
    "Attempts a finished ingest job took.",
    ["platform"],
    buckets=(1, 2, 3, 4, 5, 6),
)
FAILURES = Counter(
    "cloudbox_ingest_failures",
    "Failed ingest attempts: refused (never retried), retried (transient), gave_up (after the last attempt).",
    ["platform", "reason"],
)
COMMAND_SECONDS = Histogram(
    "cloudbox_command_seconds",
    "Time the command core took to answer one chat command.",
    ["command"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
