"""When a message is parked: after SHELFOPS_MAX_REDELIVERIES starts that never ended."""

from __future__ import annotations

from shelfops_alerts.dead_letters.redeliveries import Start, should_park


def test_a_message_runs_until_it_has_killed_its_worker_max_redeliveries_times():
    # Given a limit of three starts without an end
    limit = 3
    # Then the first delivery and the next ones run while fewer than three starts crashed
    assert [should_park(Start(n, 0.0), max_redeliveries=limit) for n in (1, 2, 3)] == [
        False,
        False,
        False,
    ]
    # And the delivery after the third crash is parked, as is any later one
    assert should_park(Start(4, 0.0), max_redeliveries=limit)
    assert should_park(Start(9, 0.0), max_redeliveries=limit)


def test_a_limit_of_one_parks_the_first_redelivery():
    assert not should_park(Start(1, 0.0), max_redeliveries=1)
    assert should_park(Start(2, 0.0), max_redeliveries=1)
