"""Readable Runge-Kutta solvers: Butcher tableaux as data, one generic stepper.

Modules, in reading order: ``tableaux`` (the explicit methods as data), ``reference`` (the
textbook step and the stability function R), ``rk`` (the fused step, error estimate, dense
output), ``implicit`` (implicit Euler and the trapezoidal rule, for stiff problems),
``integrate`` (adaptive and fixed-grid loops), ``odeint``.
"""

from node_edu.solvers.compiled import compiled_odeint
from node_edu.solvers.implicit import IMPLICIT
from node_edu.solvers.odeint import odeint
from node_edu.solvers.reference import explicit_rk_step, stability_function
from node_edu.solvers.stats import SolverStats
from node_edu.solvers.tableaux import TABLEAUX, ButcherTableau
from node_edu.solvers.validation import METHODS

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
