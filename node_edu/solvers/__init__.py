"""Readable Runge-Kutta solvers: Butcher tableaux as data, one generic stepper.

Modules, in reading order: ``tableaux`` (the explicit methods as data), ``reference`` (the
textbook step and the stability function R), ``rk`` (the fused step, error estimate, dense
output), ``implicit`` (implicit Euler and the trapezoidal rule, for stiff problems),
``integrate`` (adaptive and fixed-grid loops), ``odeint``.
"""

from .compiled import compiled_odeint
from .implicit import IMPLICIT
from .odeint import odeint
from .reference import explicit_rk_step, stability_function
from .stats import SolverStats
from .tableaux import TABLEAUX, ButcherTableau
from .validation import METHODS

__all__ = [
    "IMPLICIT",
    "METHODS",
    "TABLEAUX",
    "ButcherTableau",
    "SolverStats",
    "compiled_odeint",
    "explicit_rk_step",
    "odeint",
    "stability_function",
]
