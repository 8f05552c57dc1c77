"""node_edu.models.practice: the small failing runs of lesson 06b, their symptoms and fixes."""

import math
import re

import pytest
import torch

from node_edu.data.spiral import A_TRUE
from node_edu.models import practice
from node_edu.models.practice import CubicLinear, Symptoms, run, settings, trained


def exactly(message):
    """A ``match`` for the whole message, literally."""
    return f"^{re.escape(message)}$"


def test_cubic_linear_is_a_z_cubed():
    model = CubicLinear("random", seed=3)
    z = torch.randn(5, 2)
    assert torch.allclose(model(None, z), z**3 @ model.A.T)  # oracle: the formula by hand
    assert torch.equal(CubicLinear("random", seed=3).A, model.A)  # seeded
    assert not torch.equal(CubicLinear("random", seed=4).A, model.A)
    assert torch.equal(CubicLinear().A, torch.zeros(2, 2))
    with pytest.raises(
        ValueError, match=exactly("init must be one of ['zero', 'random'], got 'ones' (str)")
    ):
        CubicLinear("ones")


def test_settings_are_the_defaults_with_changes():
    assert settings() == {
        "model": "mlp", "init": "default", "units": 1.0, "normalise": False,
        "optimizer": "lbfgs", "lr": None, "stages": ((2, 20),), "rtol": 1e-5,
        "step_size": None, "kinetic": 0.0, "seed": 0,
    }  # fmt: skip
    s = settings(lr=0.1, stages=[[3, 4]], model="cubic", init="zero")
    assert s["lr"] == 0.1 and s["stages"] == ((3, 4),) and s["model"] == "cubic"


@pytest.mark.parametrize(
    "changes, error, match",
    [
        (dict(colour="red"), ValueError, "settings must be among"),
        (dict(model="cnn"), ValueError,
         exactly("model must be one of ['mlp', 'cubic'], got 'cnn' (str)")),
        (dict(init="zero"), ValueError,
         exactly("init must be one of ['default'], got 'zero' (str)")),
        (dict(model="cubic"), ValueError,
         exactly("init must be one of ['zero', 'random'], got 'default' (str)")),
        (dict(optimizer="sgd"), ValueError,
         exactly("optimizer must be one of ['lbfgs', 'adam'], got 'sgd' (str)")),
        (dict(units=0.0), ValueError,
         exactly("units must be a number in [0.001, 1000.0], got 0.0")),
        (dict(units=math.nan), ValueError,
         exactly("units must be a finite number in [0.001, 1000.0], got nan")),
        (dict(units=True), TypeError,
         exactly("units must be a number in [0.001, 1000.0], got True (bool)")),
        (dict(rtol=1e-12), ValueError, exactly("rtol must be a number in [1e-09, 0.1], got 1e-12")),
        (dict(rtol="1e-5"), TypeError,
         exactly("rtol must be a number in [1e-09, 0.1], got '1e-5' (str)")),
        (dict(lr=math.inf), ValueError,
         exactly("lr must be a finite number in [1e-06, 10.0] or None, got inf")),
        (dict(lr=True), TypeError,
         exactly("lr must be a number in [1e-06, 10.0] or None, got True (bool)")),
        (dict(step_size=0.0), ValueError,
         exactly("step_size must be a number in [0.001, 1.0] or None, got 0.0")),
        (dict(step_size=math.nan), ValueError,
         exactly("step_size must be a finite number in [0.001, 1.0] or None, got nan")),
        (dict(kinetic=-1.0), ValueError,
         exactly("kinetic must be a number in [0.0, 100.0], got -1.0")),
        (dict(kinetic=math.inf), ValueError,
         exactly("kinetic must be a finite number in [0.0, 100.0], got inf")),
        (dict(normalise=1), TypeError, exactly("normalise must be True or False, got 1")),
        (dict(normalise="yes"), TypeError,
         exactly("normalise must be True or False, got 'yes' (str)")),
        (dict(seed=1.5), TypeError, exactly("seed must be an integer, got 1.5")),
        (dict(seed=True), TypeError, exactly("seed must be an integer, got True (bool)")),
        (dict(stages=((1, 5),)), ValueError, "stages must be \\(window length, evaluations\\)"),
        (dict(stages=((41, 5),)), ValueError, "window length 2..40"),
        (dict(stages=((2, 500),)), ValueError, "evaluations 1..200"),
        (dict(stages=((2.5, 5),)), ValueError, "pairs of integers"),
        (dict(stages=()), ValueError, "stages must be"),
        (dict(stages="22"), ValueError, "stages must be"),
    ],
)  # fmt: skip
def test_settings_reject_bad_values(changes, error, match):
    with pytest.raises(error, match=match):
        settings(**changes)


def test_each_failing_run_shows_its_symptom_and_its_fix_repairs_it():
    """The symptoms lesson 06b prints, and the fixes it measures (oracle: the data, the
    solver's counts, the tight re-solve)."""
    tol = run(**practice.FAILING["tolerance"])
    tol_fixed = run(**{**practice.FAILING["tolerance"], **practice.FIXES["tolerance"]})
    assert abs(tol.loss_tight - tol.loss[-1]) > 0.5 * tol.loss[-1]  # re-solved: another loss
    assert tol_fixed.error_tight < 0.01 < 0.05 < tol.error_tight
    A = trained(**{**practice.FAILING["tolerance"], **practice.FIXES["tolerance"]}).A.detach()
    assert torch.allclose(A, torch.tensor(A_TRUE), rtol=0, atol=1e-3)  # oracle: A_true

    lr = run(**practice.FAILING["learning rate"])
    lr_fixed = run(**{**practice.FAILING["learning rate"], **practice.FIXES["learning rate"]})
    assert max(lr.nfe) > 10 * lr.nfe[0] and max(lr_fixed.nfe) < 3 * lr_fixed.nfe[0]

    sc = run(**practice.FAILING["scaling"])
    sc_fixed = run(**{**practice.FAILING["scaling"], **practice.FIXES["scaling"]})
    assert sc.saturated > 0.9 and sc.data_scale == pytest.approx(20.0)
    assert sc_fixed.saturated < 0.1 and sc_fixed.error_tight < sc.error_tight / 3

    un = run(**practice.FAILING["unstable start"])
    un_fixed = run(**{**practice.FAILING["unstable start"], **practice.FIXES["unstable start"]})
    assert "step size underflow" in un.solver_error and un.loss == ()
    assert math.isnan(un.error_tight) and un_fixed.solver_error is None
    assert un_fixed.error_tight < 0.01


def test_normalising_makes_the_run_independent_of_the_units():
    """With normalise, the model sees z / max|z| whatever the units, and the errors are
    relative: the same run (oracle: the units cancel)."""
    a = run(units=10.0, normalise=True, stages=((2, 5),))
    b = run(units=0.5, normalise=True, stages=((2, 5),))
    assert a.loss == pytest.approx(b.loss, rel=1e-4)  # the same up to float32 rounding
    assert a.error_tight == pytest.approx(b.error_tight, rel=1e-4)
    assert a.data_scale == pytest.approx(20 * b.data_scale)


def test_runs_are_cached_and_trained_models_are_fresh_copies():
    a = run(stages=((2, 3),))
    assert run(stages=[(2, 3)]) is a  # the same settings, spelled otherwise: the cache
    m1, m2 = trained(stages=((2, 3),)), trained(stages=((2, 3),))
    with torch.no_grad():
        m1.net[0].weight.zero_()
    assert not torch.equal(m1.net[0].weight, m2.net[0].weight)
    assert isinstance(a, Symptoms) and len(a.loss) == len(a.nfe) >= 3


def test_summary_reads_the_symptoms():
    s = Symptoms((1.0, 0.5), (10, 40), 0.6, 2.0, 0.9, 0.95, 0.25, None, 1.0)
    text = s.summary()
    for words in ("loss 1 -> 0.5", "0.6", "nfe 10 -> 40", "0.950", "25%"):
        assert words in text
    stopped = Symptoms(
        (),
        (),
        math.nan,
        2.0,
        math.nan,
        math.nan,
        0.0,
        "step size underflow at t=1.25 (step 1e-06). The solution may",
        0.1,
    )
    assert (
        stopped.summary() == "stopped by a SolverError: step size underflow at t=1.25 (step 1e-06)"
    )
