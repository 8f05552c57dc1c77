"""Work a dashboard leaves until its slider rests.

Most dashboards redraw in milliseconds. Where part of the picture needs an adjoint solve
per value (lessons 04 and 05), a drag across ten values would queue ten of them and the
figure would lag behind the hand. So the dashboard draws the cheap part at once and hands
the rest to ``WhenRested``, which runs it once the slider has stopped for a moment.
"""

import asyncio


def running_loop():
    """The kernel's event loop while it handles a message, else None (a script, a test)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class WhenRested:
    """``rested(work, on_error)`` runs ``work()`` once no new call came for ``delay`` s.

    In a kernel an event loop runs while it handles the front end's messages: the work is
    put on it with ``call_later``, and each new call cancels the one still waiting, so a
    drag across ten values runs the work once, for the value it stopped on. Outside a
    running loop (a script, a test) the work runs at once. An exception in the work goes
    to ``on_error`` (a dashboard shows it; on the loop it would reach only the kernel's
    log) and is raised again.
    """

    def __init__(self, delay=0.25):
        self.delay, self._timer = float(delay), None

    @property
    def waiting(self):
        """True while work is scheduled and has not run yet."""
        return self._timer is not None

    def cancel(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def __call__(self, work, on_error):
        """Schedule ``work`` (True), or run it now when no loop is running (False)."""
        self.cancel()
        loop = running_loop()
        if loop is None:
            self._run(work, on_error)
            return False
        self._timer = loop.call_later(self.delay, self._run, work, on_error)
        return True

    def after_move(self, work, *, ready, waiting, on_error):
        """What a dashboard does after a slider move, for its slow part: ``work()`` at once
        when ``ready`` (its result is cached), else ``waiting()`` now (draw the old result
        dimmed) and ``work()`` once the slider rests."""
        if ready:
            self.cancel()
            work()
        else:
            waiting()
            self(work, on_error)

    def _run(self, work, on_error):
        self._timer = None
        try:
            work()
        except Exception as error:
            on_error(error)
            raise
