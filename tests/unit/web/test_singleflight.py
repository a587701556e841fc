"""Single flight: concurrent callers of one key share one run; its outcome reaches them all."""

from __future__ import annotations

import asyncio

import pytest

from shelfops_alerts.web.singleflight import SingleFlight


class Lookup:
    """Work that takes a while and counts how often it really ran."""

    def __init__(self, answer: str = "acme", fault: Exception | None = None) -> None:
        self.runs = 0
        self.answer = answer
        self.fault = fault
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.runs += 1
        await self.release.wait()
        if self.fault is not None:
            raise self.fault
        return self.answer


def test_concurrent_callers_of_one_key_share_one_run_and_its_answer():
    async def scenario() -> None:
        flights: SingleFlight[str] = SingleFlight()
        lookup = Lookup()
        # Given fifty callers asking for the same key at once
        callers = [asyncio.create_task(flights.run("token-a", lookup)) for _ in range(50)]
        await asyncio.sleep(0)
        assert flights.running("token-a")
        # When the one run finishes
        lookup.release.set()
        answers = await asyncio.gather(*callers)
        # Then it ran once and every caller got its answer
        assert lookup.runs == 1 and answers == ["acme"] * 50
        assert not flights.running("token-a")

    asyncio.run(scenario())


def test_other_keys_run_separately_and_a_later_call_runs_again():
    async def scenario() -> None:
        flights: SingleFlight[str] = SingleFlight()
        a, b = Lookup("acme"), Lookup("globex")
        a.release.set()
        b.release.set()
        assert await asyncio.gather(flights.run("a", a), flights.run("b", b)) == ["acme", "globex"]
        # Nothing is kept once a run is over: the next call asks again
        assert await flights.run("a", a) == "acme"
        assert (a.runs, b.runs) == (2, 1)

    asyncio.run(scenario())


def test_a_failure_reaches_every_caller_and_the_next_call_tries_again():
    async def scenario() -> None:
        flights: SingleFlight[str] = SingleFlight()
        failing = Lookup(fault=ConnectionError("database down"))
        callers = [asyncio.create_task(flights.run("k", failing)) for _ in range(3)]
        await asyncio.sleep(0)
        failing.release.set()
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
        assert [type(o) for o in outcomes] == [ConnectionError] * 3 and failing.runs == 1
        # When the database is back, the next caller runs the work anew
        healthy = Lookup()
        healthy.release.set()
        assert await flights.run("k", healthy) == "acme"

    asyncio.run(scenario())


def test_a_caller_that_gives_up_does_not_cancel_the_run_for_the_others():
    async def scenario() -> None:
        flights: SingleFlight[str] = SingleFlight()
        lookup = Lookup()
        impatient = asyncio.create_task(flights.run("k", lookup))
        patient = asyncio.create_task(flights.run("k", lookup))
        await asyncio.sleep(0)
        # When one caller hangs up mid-way
        impatient.cancel()
        with pytest.raises(asyncio.CancelledError):
            await impatient
        # Then the other still gets the answer, from the same single run
        lookup.release.set()
        assert await patient == "acme" and lookup.runs == 1

    asyncio.run(scenario())


def test_landed_waits_for_every_run_under_way():
    async def scenario() -> None:
        flights: SingleFlight[str] = SingleFlight()
        lookup = Lookup()
        flights.start("k", lookup)
        asyncio.get_running_loop().call_later(0.05, lookup.release.set)
        await asyncio.wait_for(flights.landed(), 5)
        assert not flights.running("k") and lookup.runs == 1

    asyncio.run(scenario())
