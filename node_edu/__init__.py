"""node_edu: the library behind an interactive course on Neural ODEs.

``import node_edu as ne`` gives the public API: ``ne.odeint``, ``ne.odeint_adjoint``,
``ne.SolverStats``, ``ne.SolverError``. The library has three layers, each importing only
those below it (``docs/architecture.md`` is the map):

* the core: ``solvers`` (Runge-Kutta methods, one adaptive loop), ``adjoint``
  (``odeint_adjoint``, memory measurements), ``linear`` (the exact SymPy oracle for
  dz/dt = Az), ``autodiff`` (the teaching AD engine), ``cnf`` (continuous normalizing flows);
* lesson support: ``data`` (data sets made locally), ``models`` (the models lessons 06-09
  train), ``viz`` (the course's plotly figures);
* the lesson layer, one module per lesson (``lesson04.py``, ...): ``checks`` (exercise
  checkers), ``widgets`` (dashboards), ``solutions`` (reference answers).

Beside them: ``errors`` and ``validation`` (shared by every layer), ``info`` (environment,
device) and ``tools`` (time limits, the student's workspace, old module names).
"""

__version__ = "0.1.0"

from node_edu.adjoint import odeint_adjoint
from node_edu.errors import SolverError
from node_edu.solvers import SolverStats, odeint
from node_edu.tools import moved

moved.install()  # a lesson saved before the layout change still imports its old names

__all__ = ["SolverError", "SolverStats", "odeint", "odeint_adjoint"]
