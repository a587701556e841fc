"""Surviving outages of the servers the pipeline depends on (PostgreSQL, Redis).

* :mod:`.faults` sorts an exception: a transient fault (connection lost, deadlock,
  serialization failure, timeout) that the same work survives a moment later, or anything
  else (bad data, bad SQL, a bad password), which no retry can fix;
* :mod:`.retries` is the retry policy as data: how many retries, what backoff, what cap;
* :mod:`.postgres` and :mod:`.redis_clients` bound every wait on a server (statement and
  lock timeouts, a client-side deadline, keepalives, socket timeouts), so a stalled server
  becomes a transient fault instead of a hung worker;
* :mod:`.time_limits` holds each task kind's soft and hard time limits, the last bound.
"""
