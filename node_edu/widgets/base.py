"""What dashboards share: work left until a slider rests, and the dashboard built on it.

Most dashboards redraw in milliseconds. Where part of the picture needs an adjoint solve
per value (lessons 04 and 05), a drag across ten values would queue ten of them and the
figure would lag behind the hand. So the dashboard draws the cheap part at once and hands
the rest to ``WhenRested``, which runs it once the slider has stopped for a moment;
``FastThenSlow`` is that dashboard's skeleton, written once.
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


class FastThenSlow:
    """The skeleton of a dashboard drawn in two parts: the fast part at once, the slow part
    once the slider rests, its old picture dimmed while it waits (lessons 04 and 05).

    A dashboard subclasses it, calls ``super().__init__()`` before its first ``update``,
    and writes what is its own:

    * ``_args(**controls)``: the controls' values checked (None: the control's current
      value), as one object that names a picture;
    * ``_key(args)``: a hashable name for ``args`` (default: ``args`` itself), under which
      both parts' results are cached, so a value seen before is drawn without solving;
    * ``_solve_fast(args)`` and ``_draw_fast(args, result)``: the cheap part;
    * ``_solve_slow(args)`` and ``_draw_slow(args, result)``: the expensive part;
    * ``_draw_waiting(args)``: the slow part's previous picture dimmed;
    * ``_set_controls(args)``: the controls moved to ``args`` (an ``update`` call may
      pass values no control shows yet);
    * ``SLOW``: what the slow part is, for the message if it fails.

    Its ``update(...)`` returns ``self._redraw(...)`` (both parts at once); its controls'
    observers call ``self._moved(name=new value)``. ``pending`` is True while the slow part
    waits for the slider to rest. Outside a running event loop (a script, a test) a move
    draws both parts at once, as ``WhenRested`` does.
    """

    SETTLE_S = 0.25  # how long a slider rests before the slow part is computed
    SLOW = "the slow part"

    def __init__(self):
        self._syncing = False  # True while the dashboard moves its own controls
        self._fast, self._slow = {}, {}  # key -> what _solve_fast / _solve_slow returned
        self.rested = WhenRested(self.SETTLE_S)
        self.pending = False

    def _key(self, args):
        return args

    def _redraw(self, **controls):
        """Both parts at once, then the controls moved to match (without a second redraw)."""
        if self._syncing:  # a control being moved by the dashboard itself
            return self
        args = self._args(**controls)
        self.rested.cancel()
        self._show_fast(args)
        self._show_slow(args)
        self._syncing = True
        try:
            self._set_controls(args)
        finally:
            self._syncing = False
        return self

    def _moved(self, **controls):
        """A control moved: the fast part now, the slow part when the slider rests."""
        if self._syncing:
            return
        args = self._args(**controls)
        self._show_fast(args)
        self.rested.after_move(
            lambda: self._show_slow(args),
            ready=self._key(args) in self._slow,
            waiting=lambda: self._show_waiting(args),
            on_error=self._failed,
        )

    def _show_fast(self, args):
        key = self._key(args)
        if key not in self._fast:  # the same numbers each time: computed once per value
            self._fast[key] = self._solve_fast(args)
        self._draw_fast(args, self._fast[key])

    def _show_slow(self, args):
        key = self._key(args)
        if key not in self._slow:
            self._slow[key] = self._solve_slow(args)
        self.pending = False
        self._draw_slow(args, self._slow[key])

    def _show_waiting(self, args):
        self.pending = True
        self._draw_waiting(args)

    def _failed(self, error):
        self.label.value = f"{self.SLOW} failed: {type(error).__name__}: {error}"
