"""The batch ledger: every queued batch chain is remembered until its publish step ran.

Kombu's Redis transport takes a message off its list (BRPOP) before it records it as
unacknowledged (``QoS.append``); a worker whose main process dies between the two loses the
message, and late acknowledgement cannot bring it back. So each walker (an event, a sweep)
writes one ledger row per batch before it queues the batch's chain (:mod:`.store`), the
chain's publish marks the row done, and the relay queues again a row that is old and whose
chain is provably nowhere in the broker (:mod:`.inflight`, :mod:`.plan`), under the same
task ids and context, so the new chain closes the same row and counts its check once.
"""
