"""Old module names that still import: a notebook saved before a module moved keeps working.

The library's modules were once all at the top of the package (``node_edu.training``,
``node_edu.widgets.adjoint``, ...). A student's saved copy of a lesson may still import
them by those names, so each old name below is served by its new module: importing
``node_edu.training`` gives a module holding the very objects of
``node_edu.models.training`` (the same classes and functions, not copies). New code uses
the new names; ``docs/architecture.md`` shows where each module lives.
"""

import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {  # old name -> new name(s); a tuple when one module was split in two
    "node_edu.training": "node_edu.models.training",
    "node_edu.augmented": "node_edu.models.augmented",
    "node_edu.regularisation": "node_edu.models.regularisation",
    "node_edu.latent": "node_edu.models.latent",
    "node_edu.data_limits": "node_edu.data.limits",
    "node_edu.data_series": "node_edu.data.series",
    "node_edu.memory": "node_edu.adjoint.memory",
    "node_edu.timelimit": "node_edu.tools.timelimit",
    "node_edu.workspace": "node_edu.tools.workspace",
    "node_edu.checks.differentiation": "node_edu.checks.lesson01",
    "node_edu.checks.jacobians": "node_edu.checks.lesson02",
    "node_edu.checks.solvers": "node_edu.checks.lesson03",
    "node_edu.checks.adjoint": "node_edu.checks.lesson04",
    "node_edu.checks.adjoint_start": "node_edu.checks.lesson05",
    "node_edu.checks.training": "node_edu.checks.lesson06",
    "node_edu.checks.cnf": "node_edu.checks.lesson07",
    "node_edu.checks.limits": "node_edu.checks.lesson08",
    "node_edu.checks.latent": "node_edu.checks.lesson09",
    "node_edu.widgets.welcome": "node_edu.widgets.lesson00",
    "node_edu.widgets.differentiation": ("node_edu.widgets.lesson01", "node_edu.widgets.lesson02"),
    "node_edu.widgets.solvers": "node_edu.widgets.lesson03",
    "node_edu.widgets.adjoint": "node_edu.widgets.lesson04",
    "node_edu.widgets.adjoint_start": "node_edu.widgets.lesson05",
    "node_edu.widgets.training": "node_edu.widgets.lesson06",
    "node_edu.widgets.cnf": "node_edu.widgets.lesson07",
    "node_edu.widgets.limits": "node_edu.widgets.lesson08",
    "node_edu.widgets.latent": "node_edu.widgets.lesson09",
    "node_edu.widgets.rest": "node_edu.widgets.base",
}


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old name of ``MOVED`` and loads it as a module whose names are those of the
    new module(s). The alias is a module of its own (its ``__name__`` is the old name), so
    the new module keeps its own name and spec."""

    def find_spec(self, name, path=None, target=None):
        if name not in MOVED:
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return None  # a plain new module, filled in by exec_module

    def exec_module(self, module):
        targets = MOVED[module.__name__]
        for target in (targets,) if isinstance(targets, str) else targets:
            new = importlib.import_module(target)
            names = getattr(new, "__all__", None) or [
                n for n in vars(new) if not n.startswith("__")
            ]
            module.__dict__.update({n: getattr(new, n) for n in names})
        module.__doc__ = f"Moved: {module.__name__} is now {targets} (see node_edu.tools.moved)."


def install():
    """Put the finder on ``sys.meta_path`` once (importing node_edu does it)."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules())
