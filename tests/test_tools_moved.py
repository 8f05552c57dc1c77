"""Old module names still import, as the very objects of their new modules.

A student's saved lesson may import ``node_edu.training`` or ``node_edu.widgets.adjoint``
from before the layout change; node_edu.tools.moved serves those names."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from node_edu.tools.moved import MOVED

ROOT = Path(__file__).resolve().parents[1]


# What each old module held before the move (names lessons imported, or its main class),
# and the module that holds it now: written down by hand, not read off MOVED.
BEFORE = {
    "node_edu.training": ("node_edu.models.training", "Trainer VectorField compare_gradients mse"),
    "node_edu.augmented": ("node_edu.models.augmented", "ODEMap augment"),
    "node_edu.regularisation": ("node_edu.models.regularisation", "fit jacobian_frobenius"),
    "node_edu.latent": ("node_edu.models.latent", "LatentODE RNNBaseline fit heldout_error"),
    "node_edu.data_limits": ("node_edu.data.limits", "circles reflection ring"),
    "node_edu.data_series": ("node_edu.data.series", "IrregularSeries damped_oscillations"),
    "node_edu.memory": ("node_edu.adjoint.memory", "memory_vs_steps saved_tensor_bytes"),
    "node_edu.timelimit": ("node_edu.tools.timelimit", "TimeLimit call_with_timeout"),
    "node_edu.workspace": ("node_edu.tools.workspace", "sync reset"),
    "node_edu.checks.differentiation": ("node_edu.checks.lesson01", "reverse_sweep"),
    "node_edu.checks.jacobians": ("node_edu.checks.lesson02", "group_mean_vjp"),
    "node_edu.checks.solvers": ("node_edu.checks.lesson03", "runge_kutta_step"),
    "node_edu.checks.adjoint": ("node_edu.checks.lesson04", "adjoint_function"),
    "node_edu.checks.adjoint_start": ("node_edu.checks.lesson05", "adjoint_sweep"),
    "node_edu.checks.training": ("node_edu.checks.lesson06", "training_step"),
    "node_edu.checks.cnf": ("node_edu.checks.lesson07", "planar_dynamics"),
    "node_edu.checks.limits": ("node_edu.checks.lesson08", "resnet_forward"),
    "node_edu.checks.latent": ("node_edu.checks.lesson09", "elbo"),
    "node_edu.widgets.welcome": ("node_edu.widgets.lesson00", "EulerStepsWidget"),
    "node_edu.widgets.differentiation": ("node_edu.widgets.lesson01", "SweepWidget"),
    "node_edu.widgets.solvers": ("node_edu.widgets.lesson03", "SolverWidget loglog_slope"),
    "node_edu.widgets.adjoint": ("node_edu.widgets.lesson04", "DriftWidget"),
    "node_edu.widgets.adjoint_start": ("node_edu.widgets.lesson05", "JumpWidget gap_figure"),
    "node_edu.widgets.training": ("node_edu.widgets.lesson06", "TrainingWidget"),
    "node_edu.widgets.cnf": ("node_edu.widgets.lesson07", "FlowWidget density_pair_figure"),
    "node_edu.widgets.limits": ("node_edu.widgets.lesson08", "DepthWidget lines_figure"),
    "node_edu.widgets.latent": ("node_edu.widgets.lesson09", "SeriesWidget"),
    "node_edu.widgets.rest": ("node_edu.widgets.base", "WhenRested"),
}


def test_every_moved_module_is_served():
    assert sorted(MOVED) == sorted(BEFORE)


@pytest.mark.parametrize("old", sorted(BEFORE))
def test_an_old_name_gives_the_objects_of_its_new_module(old):
    alias = importlib.import_module(old)
    home, names = BEFORE[old]
    new = importlib.import_module(home)
    for name in names.split():
        assert getattr(alias, name) is getattr(new, name), (old, name)
    assert new.__name__ == home  # the new module keeps its own name
    assert alias.__name__ == old


def test_a_module_split_in_two_serves_both_halves():
    alias = importlib.import_module("node_edu.widgets.differentiation")
    lesson02 = importlib.import_module("node_edu.widgets.lesson02")
    assert alias.JacobianCostWidget is lesson02.JacobianCostWidget


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_name_is_no_longer_a_file(old):
    """An alias must never hide a real module of the same name."""
    path = ROOT.joinpath(*old.split("."))
    assert not path.with_suffix(".py").exists() and not path.is_dir(), old


def test_a_saved_lesson_imports_in_a_fresh_interpreter():
    """The import lines of lessons 06 and 08 as they were before the layout change."""
    code = (
        "import node_edu as ne\n"
        "from node_edu.training import Trainer, VectorField\n"
        "from node_edu.widgets.training import TrainingWidget\n"
        "from node_edu.data_limits import circles, reflection, ring\n"
        "from node_edu.widgets.differentiation import JacobianCostWidget, SweepWidget\n"
        "import node_edu.models.training as m\n"
        "assert Trainer is m.Trainer\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_a_name_that_never_existed_still_fails():
    import node_edu  # noqa: F401  (installs the finder)

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("node_edu.no_such_module")
