"""node_edu: the library behind an interactive course on Neural ODEs.

Public names are re-exported here (``import node_edu as ne``). Sub-modules that a
lesson imports by name: ``node_edu.linear`` (SymPy oracle), ``node_edu.autodiff``
(teaching AD engine), ``node_edu.cnf``, ``node_edu.viz``, ``node_edu.widgets``,
``node_edu.checks``.
"""

__version__ = "0.1.0"

from .adjoint import odeint_adjoint
from .errors import SolverError
from .solvers import SolverStats, odeint

__all__ = ["SolverError", "SolverStats", "odeint", "odeint_adjoint"]
