"""The domain's words, each defined once: every module, statement and command imports them.

The strings are contracts (stored in the database, published on the channel, carried in
task messages, typed at the CLI): change one only with a migration and the README. Where a
word names two things (``acknowledged`` is a status and the event that leads to it; ``sent``
ends a delivery and a digest) it is one constant, so the two cannot drift apart.

SQL reads these through :func:`sql_list` and :func:`sql_severity_rank`, so a statement never
spells a status or the order of severities by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

# --- Alert types (one rule each, in detect/rules/) ---------------------------------------
STOCKOUT_PREDICTED = "stockout_predicted"
ANOMALY_DETECTED = "anomaly_detected"
REORDER_RECOMMENDED = "reorder_recommended"
FORECAST_ACCURACY_LOW = "forecast_accuracy_low"
ALERT_TYPES = (STOCKOUT_PREDICTED, ANOMALY_DETECTED, REORDER_RECOMMENDED, FORECAST_ACCURACY_LOW)

# --- Severities, lowest first: the order is escalation's ---------------------------------
LOW = "low"
MEDIUM = "medium"
HIGH = "high"
CRITICAL = "critical"
SEVERITIES = (LOW, MEDIUM, HIGH, CRITICAL)

# --- Alert statuses ----------------------------------------------------------------------
OPEN = "open"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
ALERT_STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED)
#: At most one *active* alert per SKU and type (the partial unique index).
ACTIVE_STATUSES = (OPEN, ACKNOWLEDGED)

# --- History events (one per change; the ``event`` of each message on the channel) -------
# ``acknowledged`` and ``resolved`` are the statuses' words, above.
CREATED = "created"
UPDATED = "updated"
ESCALATED = "escalated"
REOPENED = "reopened"
#: Who made a change the pipeline made on its own.
SYSTEM_ACTOR = "system"

# --- What an operator says they did about an acknowledged alert --------------------------
ACK_OUTCOMES = ("ordered", "transferred", "false_positive", "stock_corrected", "other")

# --- E-mail deliveries and digests (a digest is ``open`` while it collects changes) -------
PENDING = "pending"
#: Waiting in its recipient's open digest.
DIGEST_PENDING = "digest_pending"
SENDING = "sending"
RETRYING = "retrying"
SENT = "sent"
FAILED = "failed"
DELIVERY_STATUSES = (PENDING, DIGEST_PENDING, SENDING, RETRYING, SENT, FAILED)
#: How a row ends: no attempt follows either.
FINAL_STATUSES = (SENT, FAILED)
#: How a delivery goes out, decided once: on its own, or grouped into a digest.
SINGLE = "single"
DIGEST = "digest"

# --- Sweeps ------------------------------------------------------------------------------
RUNNING = "running"
FINISHED = "finished"
ABANDONED = "abandoned"

# --- Dead letters: messages parked after their worker died on them too often ------------
#: Waiting for an operator (counted by ``status`` and the ``shelfops_dead_letters`` gauge).
PARKED = "parked"
#: Queued again, under a fresh task id, by ``dead-letters replay``.
REPLAYED = "replayed"
#: Put aside for good by ``dead-letters discard``, with who and why.
DISCARDED = "discarded"
DEAD_LETTER_STATUSES = (PARKED, REPLAYED, DISCARDED)

# --- The batch ledger: how a queued batch chain's row is closed ---------------------------
#: Its chain's publish step ran.
DONE = "done"
#: Lost and re-queued SHELFOPS_BATCH_REQUEUE_LIMIT times: left to the next sweep.
GAVE_UP = "gave_up"
#: One of its chain's messages is a dead letter (:data:`PARKED`): an operator's now.
LEDGER_OUTCOMES = (DONE, GAVE_UP, PARKED)

# --- Celery task names and queues (contracts: queued messages name them) -----------------
FORECAST_COMPLETED_TASK = "shelfops.forecast_completed"
SALES_RECORDED_TASK = "shelfops.sales_recorded"
CHECK_TASK = "shelfops.check_stockout_risk"
PERSIST_TASK = "shelfops.dedup_and_persist"
PUBLISH_TASK = "shelfops.publish_alerts"
SEND_EMAIL_TASK = "shelfops.send_alert_email"
SEND_DIGEST_TASK = "shelfops.send_digest"
FLUSH_DIGESTS_TASK = "shelfops.flush_digests"
SWEEP_TASK = "shelfops.sweep_all_skus"
SWEEP_BATCH_FAILED_TASK = "shelfops.sweep_batch_failed"
RELAY_TASK = "shelfops.relay_outbox"
PRUNE_TASK = "shelfops.prune"

#: Detection, persistence, publishing, and the periodic tasks.
ALERTS_QUEUE = "alerts"
#: Delivery only, served by its own workers so a slow mail provider never delays detection.
EMAIL_QUEUE = "email"
QUEUES = (ALERTS_QUEUE, EMAIL_QUEUE)
#: Tasks on the ``email`` queue; every other ``shelfops.*`` task goes to ``alerts``.
EMAIL_TASKS = (SEND_EMAIL_TASK, SEND_DIGEST_TASK)

# --- The live channel: ``alerts:{customer_id}`` ------------------------------------------
CHANNEL_PREFIX = "alerts:"
#: Key prefix of the per-customer Redis Streams the web service replays changes from.
STREAM_PREFIX = "alerts-stream:"


def sql_list(words: Iterable[str]) -> str:
    """``'a', 'b'``: vocabulary words as SQL literals, for ``IN (...)`` and ``ARRAY[...]``.

    Only the constants of this module go through here (plain lower-case words), so quoting
    is a formality; anything else is refused rather than escaped.
    """
    quoted = []
    for word in words:
        if not word.replace("_", "").isalnum() or word != word.lower():
            raise ValueError(f"not a vocabulary word: {word!r}")
        quoted.append(f"'{word}'")
    return ", ".join(quoted)


def sql_word(word: str) -> str:
    """One vocabulary word as an SQL literal: ``'open'``."""
    return sql_list([word])


def sql_severity_rank(expression: str) -> str:
    """SQL for the rank of a severity expression: low 1 < medium 2 < high 3 < critical 4
    (NULL for an unknown one), from :data:`SEVERITIES`."""
    return f"array_position(ARRAY[{sql_list(SEVERITIES)}]::text[], {expression})"
