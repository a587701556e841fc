"""The fault suite's scenarios: each injects one fault into the running pipeline.

Every scenario starts from :meth:`FaultStack.fresh` (empty pipeline tables, empty Redis,
new processes), sets work going, injects its fault while that work is in flight, waits
(bounded) for the pipeline to go idle, and returns a :class:`Result`: the tally against the
floor's expectation, and notes saying when the fault landed and what went wrong. A scenario
never raises for a fault it observed; a timeout is a problem line in its result.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fault_stack import SMALL_CUSTOMER, SWEEP_CUSTOMER, FaultStack, cli_sweep, signal_all
from fault_tally import Tally

from shelfops_alerts.client import notify_forecast_complete
from tests.fakes import Reply

#: How long a stalled server stays stopped (SIGSTOP .. SIGCONT).
STALL_S = 10.0
#: How long PostgreSQL stays down when restarted.
RESTART_DOWN_S = 3.0
#: The provider's outage in the mail scenario: 500s, then 429s until a reset time.
OUTAGE_500_S = 60.0
OUTAGE_429_S = 10.0
#: Producers racing in the producer scenario, and the SKUs each event names.
PRODUCERS = 10
EVENT_SKUS = 250
#: How long the provider holds its (already given) acceptance in the at-least-once scenario.
HOLD_S = 30.0
#: Share of a sweep's batches done before a mid-sweep fault is injected.
MID_SWEEP = 0.2


@dataclass
class Result:
    """A scenario's tally, with the notes that go under the table."""

    name: str
    tally: Tally
    notes: list[str] = field(default_factory=list)
    #: Mails sent twice that are the documented at-least-once window, not a fault.
    twice_allowed: int = 0

    @property
    def failed(self) -> bool:
        t = self.tally
        return bool(t.lost or t.duplicated or t.sent_twice > self.twice_allowed or t.problems)


def _wait_mid_sweep(stack: FaultStack, timeout_s: float = 120.0) -> str:
    """Block until the latest sweep has done :data:`MID_SWEEP` of its batches; a note."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        progress = stack.sweep_progress()
        if progress and progress[1] and progress[0] >= MID_SWEEP * progress[1]:
            return f"fault at {progress[0]} of {progress[1]} batches done"
        time.sleep(0.05)
    return f"the sweep did not reach {MID_SWEEP:.0%} within {timeout_s:.0f} s: {progress}"


def _sweep_scenario(
    name: str, inject: Callable[[FaultStack], str], stack: FaultStack, idle_s: float
) -> Result:
    stack.fresh(name)
    cli_sweep(stack.env, SWEEP_CUSTOMER)
    notes = [_wait_mid_sweep(stack)]
    notes.append(inject(stack))
    progress = stack.sweep_progress()
    if progress:
        notes.append(f"{progress[0]} of {progress[1]} batches done when the fault ended")
    return _finish(name, stack, SWEEP_CUSTOMER, notes, idle_s)


def _finish(
    name: str,
    stack: FaultStack,
    customer: str,
    notes: list[str],
    idle_s: float,
    twice_allowed: int = 0,
) -> Result:
    timeout = stack.wait_idle(idle_s)
    tally = stack.tally(customer)
    if timeout:
        tally.problems.insert(0, timeout)
    notes.append(stack.sweep_report())
    return Result(name, tally, [n for n in notes if n], twice_allowed)


# -- 1. an alerts worker's pool process SIGKILLed mid-sweep ---------------------------------
def _kill_alerts_child(stack: FaultStack) -> str:
    children = stack.alerts_children(0)
    if not children:
        return "no pool process found to kill"
    children[0].send_signal(signal.SIGKILL)
    return f"SIGKILLed pool process {children[0].pid} of alerts1"


def worker_child_killed(stack: FaultStack, idle_s: float = 300.0) -> Result:
    """SIGKILL one pool process of an alerts worker while the sweep's batches are in flight."""
    return _sweep_scenario("alerts worker child SIGKILLed", _kill_alerts_child, stack, idle_s)


# -- 2. Redis stalled ------------------------------------------------------------------------
def _stall_redis(stack: FaultStack) -> str:
    pid = stack.redis_pid()
    signal_all([pid], signal.SIGSTOP)
    time.sleep(STALL_S)
    signal_all([pid], signal.SIGCONT)
    return f"redis-server stopped for {STALL_S:.0f} s"


def redis_stalled(stack: FaultStack, idle_s: float = 300.0) -> Result:
    """SIGSTOP redis-server for :data:`STALL_S` mid-sweep, then SIGCONT."""
    return _sweep_scenario(f"Redis stalled {STALL_S:.0f} s", _stall_redis, stack, idle_s)


# -- 3. PostgreSQL stalled -------------------------------------------------------------------
def _stall_postgres(stack: FaultStack) -> str:
    pids = stack.postgres_pids()
    signal_all(pids, signal.SIGSTOP)
    time.sleep(STALL_S)
    signal_all(list(reversed(pids)), signal.SIGCONT)
    return f"postmaster and {len(pids) - 1} child process(es) stopped for {STALL_S:.0f} s"


def postgres_stalled(stack: FaultStack, idle_s: float = 300.0) -> Result:
    """SIGSTOP the postmaster and all its processes for :data:`STALL_S` mid-sweep."""
    return _sweep_scenario(f"PostgreSQL stalled {STALL_S:.0f} s", _stall_postgres, stack, idle_s)


# -- 4. PostgreSQL restarted -----------------------------------------------------------------
def _restart_postgres(stack: FaultStack) -> str:
    stack.restart_postgres(RESTART_DOWN_S)
    return f"PostgreSQL stopped (fast) and started again after {RESTART_DOWN_S:.0f} s"


def postgres_restarted(stack: FaultStack, idle_s: float = 300.0) -> Result:
    """Stop PostgreSQL (fast shutdown: connections cut) mid-sweep, start it again."""
    return _sweep_scenario("PostgreSQL restarted", _restart_postgres, stack, idle_s)


# -- 5. the mail provider failing ----------------------------------------------------------
def provider_outage(stack: FaultStack, idle_s: float = 400.0) -> Result:
    """The provider answers 500 for :data:`OUTAGE_500_S`, then 429 with a reset time for
    :data:`OUTAGE_429_S`, then 202; the small customer's sweep makes the critical mails."""
    stack.fresh("provider-outage")
    t0 = time.time()
    stack.fake.phase(500, until=t0 + OUTAGE_500_S)
    reset = t0 + OUTAGE_500_S + OUTAGE_429_S
    stack.fake.phase(Reply(429, reset_at=reset), until=reset)
    cli_sweep(stack.env, SMALL_CUSTOMER)
    result = _finish("mail provider 500 60 s, then 429", stack, SMALL_CUSTOMER, [], idle_s)
    answers = [r.answered for r in stack.fake.requests]
    result.notes.append(
        f"provider answered 500 x{answers.count(500)}, 429 x{answers.count(429)},"
        f" 202 x{answers.count(202)}"
    )
    return result


# -- 6. producers racing -----------------------------------------------------------------
def producers_racing(stack: FaultStack, idle_s: float = 300.0) -> Result:
    """:data:`PRODUCERS` threads send forecast-complete events for the same SKUs at once
    (through ``shelfops_alerts.client``), each in chunks of :data:`EVENT_SKUS`."""
    stack.fresh("producers-race")
    with stack.engine.connect() as connection:
        keys = [
            f"{s}/{p}"
            for s, p in connection.exec_driver_sql(
                "SELECT store_id, product_id FROM inventory WHERE customer_id = %s ORDER BY 1, 2",
                (SMALL_CUSTOMER,),
            )
        ]
    chunks = [keys[i : i + EVENT_SKUS] for i in range(0, len(keys), EVENT_SKUS)]
    start = threading.Barrier(PRODUCERS)
    errors: list[str] = []

    def produce(n: int) -> None:
        start.wait()
        # Half the producers walk the chunks backwards, so the races are not all in step.
        for chunk in chunks if n % 2 == 0 else list(reversed(chunks)):
            try:
                notify_forecast_complete(
                    SMALL_CUSTOMER, run_id=f"race-{n}", skus=chunk, settings=stack.settings
                )
            except Exception as exc:  # the result must say so, not the thread's traceback
                errors.append(f"producer {n}: {exc}")

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(PRODUCERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    notes = [f"{PRODUCERS} producers x {len(chunks)} events of up to {EVENT_SKUS} SKUs"]
    result = _finish("10 producers racing", stack, SMALL_CUSTOMER, notes, idle_s)
    result.tally.problems.extend(errors[:3])
    return result


# -- 7. an email worker killed after the provider accepted ---------------------------------
def email_worker_killed_after_accept(stack: FaultStack, idle_s: float = 300.0) -> Result:
    """The provider accepts the first mail at once but holds its answer; the email worker's
    pool process that sent it is SIGKILLed before it can record ``sent``. The relay sends it
    again later: the documented at-least-once window (one mail sent twice)."""
    stack.fresh("email-kill")
    stack.fake.script([("hold", HOLD_S)])
    cli_sweep(stack.env, SMALL_CUSTOMER)
    notes = []
    try:
        (first,) = stack.fake.wait_for_requests(1, timeout_s=120)[:1]
        child = None
        deadline = time.monotonic() + 10
        while child is None and time.monotonic() < deadline:
            child = stack.email_child_for_port(first.client_port)
        if child is None:
            notes.append("the sending pool process was not found: nothing killed")
        else:
            child.kill()
            notes.append(f"SIGKILLed email pool process {child.pid} after the provider accepted")
    except TimeoutError as exc:
        notes.append(f"no mail reached the provider: {exc}")
    return _finish(
        "email worker killed after accept", stack, SMALL_CUSTOMER, notes, idle_s, twice_allowed=1
    )


#: Every scenario, by the name ``--only`` takes, in the order they run.
SCENARIOS: dict[str, Callable[..., Result]] = {
    "worker-kill": worker_child_killed,
    "redis-stall": redis_stalled,
    "postgres-stall": postgres_stalled,
    "postgres-restart": postgres_restarted,
    "provider-outage": provider_outage,
    "producers-race": producers_racing,
    "email-kill": email_worker_killed_after_accept,
}
