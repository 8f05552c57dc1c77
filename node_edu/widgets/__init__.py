"""ipywidgets dashboards for the lessons: one small class per interactive.

The pattern (design.md, principle 5): a class builds its controls and a plotly
``FigureWidget`` once; its plain ``update(...)`` method does all the work; observers only
call ``update``. Tests and nbval call ``update`` directly and assert on ``fig.data``, so
every dashboard is checked headless, without a browser.

One module per lesson (or pair of lessons); every class is re-exported here, so lessons
write ``from node_edu.widgets import EulerStepsWidget``.
"""

from .adjoint import DriftWidget
from .adjoint_start import JumpWidget
from .cnf import FlowWidget, ProbesWidget
from .differentiation import FiniteDifferenceWidget, JacobianCostWidget, SweepWidget
from .latent import SeriesWidget
from .limits import DepthWidget, RegularisationWidget
from .solvers import SolverWidget
from .training import TrainingWidget
from .welcome import EulerStepsWidget

__all__ = [
    "DepthWidget",
    "DriftWidget",
    "EulerStepsWidget",
    "FiniteDifferenceWidget",
    "FlowWidget",
    "JacobianCostWidget",
    "JumpWidget",
    "ProbesWidget",
    "RegularisationWidget",
    "SeriesWidget",
    "SolverWidget",
    "SweepWidget",
    "TrainingWidget",
]
