"""Readable Runge-Kutta solvers: Butcher tableaux as data, one generic stepper.

Modules, in reading order: ``tableaux`` (the methods as data), ``rk`` (one step, error
estimate, dense output), ``integrate`` (adaptive and fixed-grid loops), ``odeint``.
"""

from .odeint import odeint
from .stats import SolverStats
from .tableaux import METHODS, TABLEAUX, ButcherTableau

__all__ = ["METHODS", "TABLEAUX", "ButcherTableau", "SolverStats", "odeint"]
