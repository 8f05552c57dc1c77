"""Run a Python computation with a wall-clock limit.

Two users: SymPy (pure Python, no time limit of its own: a Jordan form whose eigenvalues
are the roots of an irreducible cubic can run for minutes) and the exercise checkers (a
student's function may loop forever). We choose, in this order:

1. A **signal timer** (``SIGALRM`` via ``signal.setitimer``) when we are on the main
   thread of a POSIX system, which is where a notebook kernel and pytest run code. The
   alarm raises inside the running Python code, so the computation really stops. An outer
   timer (pytest-timeout uses one) is saved and re-armed afterwards with its remaining
   time; if it would fire before ours, we leave it alone and use the thread below.
2. A **daemon thread** everywhere else (Windows, calls from a worker thread). We stop
   waiting after ``seconds``, but Python cannot kill a thread: the abandoned computation
   finishes in the background and its result is thrown away.
"""

import signal
import threading
import time


class TimeLimit(Exception):
    """Raised when a computation ran longer than its time limit."""


def call_with_timeout(fn, seconds, error=TimeLimit, what="the computation"):
    """Return ``fn()``, or raise ``error`` (a TimeLimit subclass) after ``seconds``.

    ``seconds=None`` means no limit; ``what`` names the computation in the message.
    """
    if seconds is None:
        return fn()
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        outer_remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        if outer_remaining == 0.0 or outer_remaining > seconds:
            return _with_alarm(fn, seconds, outer_remaining, error, what)
    return _with_thread(fn, seconds, error, what)


def _with_alarm(fn, seconds, outer_remaining, error, what):
    def on_alarm(signum, frame):
        # If the alarm lands where an exception cannot propagate (a __del__, a weakref
        # callback), Python swallows it; ring again shortly so the limit still holds.
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise error(f"{what} took longer than {seconds} s")

    start = time.monotonic()
    outer_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_remaining > 0.0:
            # Give the outer timer (e.g. pytest-timeout) back what is left of its time.
            left = max(outer_remaining - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left)


def _with_thread(fn, seconds, error, what):
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as err:  # handed back to the caller below
            box["error"] = err

    worker = threading.Thread(target=target, daemon=True, name="node_edu-timelimit")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise error(f"{what} took longer than {seconds} s (left running in a thread)")
    if "error" in box:
        raise box["error"]
    return box["value"]
