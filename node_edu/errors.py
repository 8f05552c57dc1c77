"""Errors raised by node_edu's solvers.

Bad *arguments* raise the built-in ``ValueError``/``TypeError``; a failure *during*
integration (the step size underflows, too many steps, the state blows up) raises
:class:`SolverError`, whose message says the time reached and suggests a remedy.
"""


class SolverError(RuntimeError):
    """An ODE solve could not finish (step-size underflow, max_num_steps, non-finite state)."""
