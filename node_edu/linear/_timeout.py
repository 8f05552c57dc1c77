"""SymPy with a wall-clock limit: the generic timer of ``node_edu.tools.timelimit``."""

from node_edu.tools.timelimit import TimeLimit
from node_edu.tools.timelimit import call_with_timeout as _call_with_timeout


class SympyTimeout(TimeLimit):
    """Raised when a SymPy computation ran longer than its time limit."""


def call_with_timeout(fn, seconds):
    """Return ``fn()``, or raise :class:`SympyTimeout` after ``seconds`` (None: no limit)."""
    return _call_with_timeout(fn, seconds, error=SympyTimeout, what="SymPy")
