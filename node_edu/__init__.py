"""node_edu: the library behind an interactive course on Neural ODEs.

Public names are re-exported here (``import node_edu as ne``): ``odeint``,
``odeint_adjoint``, ``SolverStats``, ``SolverError``. Sub-modules that a lesson imports by
name: ``node_edu.linear`` (SymPy oracle for dz/dt = Az), ``node_edu.autodiff`` (teaching
AD engine), ``node_edu.cnf`` (continuous normalizing flows), ``node_edu.data`` (data sets
made locally), ``node_edu.training`` (the spiral model and trainer), ``node_edu.memory``
(bytes autograd keeps), ``node_edu.info`` (environment, device), ``node_edu.viz``,
``node_edu.widgets``, ``node_edu.checks``.
"""

__version__ = "0.1.0"

from .adjoint import odeint_adjoint
from .errors import SolverError
from .solvers import SolverStats, odeint

__all__ = ["SolverError", "SolverStats", "odeint", "odeint_adjoint"]
