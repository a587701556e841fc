"""Dead letters: messages that kill their worker are parked, never run forever nor dropped.

A task message whose worker dies (out of memory on it, a crash in a library) goes back to
its queue (late acknowledgement, ``task_reject_on_worker_lost``) and would take down a
worker at every delivery. So every task start is counted per message (task id) in Redis
and the count is forgotten when the task ends in any way (:mod:`.redeliveries`); a message
that was started SHELFOPS_MAX_REDELIVERIES times without ever ending is *parked* at its
next delivery instead of run: stored whole in ``dead_letters`` (:mod:`.store`), where
``shelfops-alerts dead-letters`` lists, shows, replays or discards it.
"""
