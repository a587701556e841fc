"""What may travel between the pipeline's tasks, checked before anything is written.

Anyone who can put a message on the broker can send any task by name. Each chain task
therefore checks its payload as strictly as an event: known alert types and severities, ids
under the same rules as CSV ids (no control characters), finite numbers, bounded sizes,
integer history and delivery ids (:mod:`~shelfops_alerts.payloads.chain`). A message that
fails is refused whole — it was not made by our own check — and nothing is written.
``values`` holds the plain-value rules every input shares (CSV rows and events too);
``findings`` what one finding may hold, which the check itself also applies to its output,
so that a SKU whose finding could not pass is refused alone instead of its whole batch.
"""

from __future__ import annotations


class InvalidPayload(ValueError):
    """A task's payload that cannot be acted on; the message says why. Nothing was changed."""
