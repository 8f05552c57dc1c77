"""WhenRested: work left until a slider rests, on the kernel's event loop; FastThenSlow, the
dashboard skeleton built on it (lessons 04 and 05 drive it with real solves in
test_widgets_04.py and test_widgets_05.py; here a toy dashboard records what it did)."""

import asyncio

import pytest

from node_edu.widgets.base import FastThenSlow, WhenRested, running_loop


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


class Square(FastThenSlow):
    """A toy dashboard: x at once (fast), x**2 once the slider rests (slow); a log of calls."""

    SETTLE_S = 0.05
    SLOW = "the square"

    def __init__(self):
        super().__init__()
        self.log, self.slider_value, self.label = [], 1, type("Label", (), {"value": ""})()
        self.update(1)

    def update(self, x=None):
        return self._redraw(x=x)

    def _args(self, x=None):
        if x == "bad":
            raise ValueError("x must be a number, got 'bad' (str)")
        return self.slider_value if x is None else x

    def _set_controls(self, x):
        self.log.append(("set", x))
        self.slider_value = x
        self._moved(x=x)  # what a control's observer does: ignored while syncing

    def _solve_fast(self, x):
        self.log.append(("solve fast", x))
        return x

    def _draw_fast(self, x, result):
        self.log.append(("draw fast", x))
        self.fast = result

    def _solve_slow(self, x):
        self.log.append(("solve slow", x))
        if x == 13:
            raise ArithmeticError("unlucky")
        return x**2

    def _draw_slow(self, x, result):
        self.log.append(("draw slow", x))
        self.slow = result

    def _draw_waiting(self, x):
        self.log.append(("dimmed", x))
        self.slow = None


def test_update_draws_both_parts_and_moves_the_controls_without_a_second_redraw():
    d = Square()
    assert (d.fast, d.slow, d.pending) == (1, 1, False)
    d.log.clear()
    assert d.update(3) is d
    assert d.log == [("solve fast", 3), ("draw fast", 3), ("solve slow", 3), ("draw slow", 3),
                     ("set", 3)]  # fmt: skip
    d.log.clear()
    d.update(3)  # seen before: both parts from the cache
    assert d.log == [("draw fast", 3), ("draw slow", 3), ("set", 3)] and (d.fast, d.slow) == (3, 9)
    with pytest.raises(ValueError, match="x must be a number"):
        d.update("bad")


def test_a_move_outside_a_loop_draws_both_parts_at_once():
    d = Square()
    d._moved(x=4)
    assert (d.fast, d.slow, d.pending) == (4, 16, False)


def test_in_a_loop_a_drag_solves_the_slow_part_once_for_where_it_rests():
    d = Square()

    async def drag():
        for x in (2, 3, 4):
            d._moved(x=x)
            assert d.fast == x and d.pending and d.slow is None  # fast now, slow dimmed
        await asyncio.sleep(0.2)
        assert not d.pending and d.slow == 16
        d._moved(x=2)  # its slow part was never solved: wait again
        assert d.pending
        d._moved(x=4)  # solved before: drawn at once, the wait for 2 cancelled
        assert not d.pending and d.slow == 16
        await asyncio.sleep(0.2)
        d._moved(x=5)  # waiting for the slider to rest at 5 ...
        d.update(6)  # ... when update draws 6 in full: the wait for 5 is over
        await asyncio.sleep(0.2)

    asyncio.run(drag())
    assert [x for what, x in d.log if what == "solve slow"] == [1, 4, 6]
    assert [x for what, x in d.log if what == "solve fast"] == [1, 2, 3, 4, 5, 6]
    assert (d.fast, d.slow) == (6, 36)


def test_a_failed_slow_part_is_shown_in_the_label():
    d = Square()

    async def move():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: None)  # raised again on the loop
        d._moved(x=13)
        await asyncio.sleep(0.2)

    asyncio.run(move())
    assert d.label.value == "the square failed: ArithmeticError: unlucky"
