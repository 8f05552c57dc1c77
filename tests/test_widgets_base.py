"""WhenRested: work left until a slider rests, on the kernel's event loop."""

import asyncio

import pytest

from node_edu.widgets.base import WhenRested, running_loop


def test_outside_a_running_loop_the_work_runs_at_once():
    ran, rested = [], WhenRested(delay=10.0)
    assert running_loop() is None
    assert rested(lambda: ran.append(1), on_error=print) is False
    assert ran == [1] and not rested.waiting


def test_in_a_loop_only_the_last_of_quick_calls_runs_after_the_delay():
    ran, rested = [], WhenRested(delay=0.05)

    async def drag():
        for v in range(5):  # five values in quick succession
            assert rested(lambda v=v: ran.append(v), on_error=print) is True
        assert ran == [] and rested.waiting
        await asyncio.sleep(0.2)
        assert ran == [4] and not rested.waiting
        rested(lambda: ran.append("cancelled"), on_error=print)
        rested.cancel()
        await asyncio.sleep(0.1)

    asyncio.run(drag())
    assert ran == [4]


def test_an_error_in_the_work_reaches_on_error_and_the_loop():
    errors, seen = [], []

    def fail():
        raise RuntimeError("no convergence")

    async def run():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: seen.append(context["exception"]))
        WhenRested(delay=0.01)(fail, on_error=errors.append)
        await asyncio.sleep(0.1)

    asyncio.run(run())
    assert [str(e) for e in errors] == ["no convergence"] and isinstance(seen[0], RuntimeError)
    with pytest.raises(RuntimeError, match="no convergence"):  # and at once, outside a loop
        WhenRested()(fail, on_error=errors.append)


def test_after_move_runs_a_cached_result_at_once_and_waits_for_a_new_one():
    calls, rested = [], WhenRested(delay=0.05)

    async def moves():
        rested.after_move(lambda: calls.append("new"), ready=False,
                          waiting=lambda: calls.append("dimmed"), on_error=print)  # fmt: skip
        assert calls == ["dimmed"] and rested.waiting
        rested.after_move(lambda: calls.append("cached"), ready=True,
                          waiting=lambda: calls.append("dimmed"), on_error=print)  # fmt: skip
        assert calls == ["dimmed", "cached"] and not rested.waiting  # the wait was cancelled
        await asyncio.sleep(0.15)

    asyncio.run(moves())
    assert calls == ["dimmed", "cached"]
