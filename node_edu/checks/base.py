"""What every checker returns, and how it runs a student's function safely."""

from dataclasses import dataclass


@dataclass
class CheckResult:
    """``ok``: did the answer pass; ``message``: what a student should read."""

    ok: bool
    message: str

    def __bool__(self):
        return self.ok

    def __str__(self):
        return ("\u2714 correct: " if self.ok else "\u2718 not yet: ") + self.message

    __repr__ = __str__


def _call(fn, *args):
    """Run the student's function; an exception becomes a readable failure message."""
    try:
        return fn(*args), None
    except Exception as err:  # the student's code may raise anything
        return None, CheckResult(False, f"your function raised {type(err).__name__}: {err}")
