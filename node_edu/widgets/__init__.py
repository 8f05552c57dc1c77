"""ipywidgets dashboards for the lessons: one small class per interactive.

The pattern (docs/architecture.md, "The lesson layer"): a class builds its controls and a
plotly ``FigureWidget`` once; its plain ``update(...)`` method does all the work; observers
only call ``update``. Tests and nbval call ``update`` directly and assert on ``fig.data``, so
every dashboard is checked headless, without a browser.

One module per lesson (``lesson04.py`` holds lesson 04's); every class is re-exported here,
so lessons write ``from node_edu.widgets import EulerStepsWidget``; ``base.py`` holds what
the dashboards share.
"""

import importlib

# Each class's module. A module is imported only when its class is first used: a lesson
# then pays only for what it shows (SymPy, for instance, comes with lesson 05's widget,
# not with lesson 00's first figure).
_MODULES = {
    "ClassifierFlowWidget": "lesson00",
    "DepthWidget": "lesson08",
    "DriftWidget": "lesson04",
    "EulerStepsWidget": "lesson00",
    "FiniteDifferenceWidget": "lesson01",
    "FlowWidget": "lesson07",
    "JacobianCostWidget": "lesson02",
    "JumpWidget": "lesson05",
    "ProbesWidget": "lesson07",
    "RegularisationWidget": "lesson08",
    "SeriesWidget": "lesson09",
    "SolverWidget": "lesson03",
    "SweepWidget": "lesson01",
    "TrainingWidget": "lesson06",
}
__all__ = sorted(_MODULES)


def __getattr__(name):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULES[name]}", __name__), name)


def __dir__():
    return sorted([*globals(), *_MODULES])
