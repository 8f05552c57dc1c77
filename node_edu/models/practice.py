"""Lesson 06b: small training runs that fail in the common ways, and what they show.

Each run fits a model to the first 40 observations of lesson 06's spiral (t in [0, 9.85])
with ``node_edu.models.training.Trainer`` and reports its ``Symptoms``: the loss and the
solver's evaluations at every evaluation of the loss, the whole-trajectory error solved at
the training tolerance and at a tight one, how many hidden units start saturated, and the
``SolverError`` that stopped it, if one did. A run is described by a plain dict of
settings (``DEFAULTS`` lists them), so a fix is a dict of changes::

    broken = run(**FAILING["tolerance"])
    fixed = run(**{**FAILING["tolerance"], "rtol": 1e-5})

Errors are relative: mean |z_pred - z_data| / mean |z_data|, so 1 is no better than
predicting z = 0, whatever units the state is measured in.

``CubicLinear`` is the four-parameter model f(z) = A z^3: the true field's own form, so
the only thing that can keep it from A_true is the training itself.
"""

import copy
import functools
import math
import time
from dataclasses import dataclass

import torch

from node_edu.data.spiral import Trajectory, spiral, windows
from node_edu.errors import SolverError
from node_edu.models.training import CHECK, Trainer, VectorField, mse
from node_edu.solvers import odeint
from node_edu.validation import check_bool, check_choice, check_int, check_number

N_OBS = 40  # the first 40 of the spiral's 100 observations
CAUSES = ("tolerance", "learning rate", "scaling", "unstable start")
DEFAULTS = dict(
    model="mlp",  # "mlp": VectorField (2 -> 50 -> 2, fed z^3); "cubic": CubicLinear
    init="default",  # CubicLinear: "random" (normal, std 0.5) or "zero"; the MLP: "default"
    units=1.0,  # the state as recorded: z times this (1: lesson 06's units)
    normalise=False,  # train on z / max|z| and scale back (the model sees numbers near 1)
    optimizer="lbfgs",
    lr=None,  # None: the Trainer's default (1 for L-BFGS, 1e-2 for Adam)
    stages=((2, 20),),  # (window length, evaluations of the loss)
    rtol=1e-5,  # the training tolerance; atol is rtol / 100
    step_size=None,  # a number: train on a fixed grid of RK4 steps of this size instead
    kinetic=0.0,  # the weight of the kinetic-energy regulariser (lesson 06)
    seed=0,
)
FAILING = {  # cause -> the settings of a run that fails that way
    "tolerance": dict(model="cubic", init="zero", rtol=1e-3, stages=((2, 25),)),
    "learning rate": dict(optimizer="adam", lr=0.3, stages=((10, 10),)),
    "scaling": dict(units=10.0, stages=((2, 20),)),
    "unstable start": dict(model="cubic", init="random", stages=((2, 25),)),
}
FIXES = {  # cause -> the changes that repair its run
    "tolerance": dict(rtol=1e-5),
    "learning rate": dict(lr=0.01),
    "scaling": dict(normalise=True),
    "unstable start": dict(init="zero"),
}
MAX_STEPS = 20_000  # per solve: a run whose field stiffens without bound stops here


class CubicLinear(torch.nn.Module):
    """f(t, z) = A z^3 (z^3 entrywise), A [2, 2] learnt: the true spiral field's form.

    ``init``: "zero" (A = 0: a field that starts at rest) or "random" (normal entries,
    std 0.5, from a generator seeded with ``seed``: a field that may push outwards)."""

    def __init__(self, init="zero", seed=0):
        super().__init__()
        init = check_choice("init", init, ("zero", "random"))
        gen = torch.Generator().manual_seed(seed)
        A = torch.zeros(2, 2) if init == "zero" else 0.5 * torch.randn(2, 2, generator=gen)
        self.A = torch.nn.Parameter(A)

    def forward(self, t, z):
        return z**3 @ self.A.T


@dataclass(frozen=True)
class Symptoms:
    """What a run shows (``loss`` and ``nfe`` per evaluation of the loss; ``loss_tight``:
    the last stage's loss of the trained model solved at ``CHECK`` instead of the training
    tolerance; errors relative to predicting zero, nan when the model cannot be solved
    over the whole trajectory; ``saturated``: the fraction of
    the MLP's first-layer pre-activations with |x| > 3 on the data at the start, 0 for
    CubicLinear; ``solver_error``: the message of the SolverError that stopped training,
    else None)."""

    loss: tuple
    nfe: tuple
    loss_tight: float
    data_scale: float
    error_train: float
    error_tight: float
    saturated: float
    solver_error: str | None
    seconds: float

    def summary(self):
        """The symptoms in one line, as lesson 06b prints them."""
        if self.solver_error is not None:
            return f"stopped by a SolverError: {self.solver_error.split('. ')[0]}"
        return (
            f"loss {self.loss[0]:.3g} -> {self.loss[-1]:.3g} (re-solved at rtol 1e-7: "
            f"{self.loss_tight:.3g}); nfe {self.nfe[0]} -> {max(self.nfe)} at most; "
            f"error {self.error_tight:.3f} of predicting zero; data_scale "
            f"{self.data_scale:.3g}; {self.saturated:.0%} of hidden units saturated"
        )


def settings(**changes):
    """``DEFAULTS`` with ``changes`` applied, every value checked (ValueError / TypeError
    naming the setting): what ``run`` accepts."""
    unknown = sorted(set(changes) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"settings must be among {sorted(DEFAULTS)}, got {unknown}")
    s = {**DEFAULTS, **changes}
    s["model"] = check_choice("model", s["model"], ("mlp", "cubic"))
    inits = ("zero", "random") if s["model"] == "cubic" else ("default",)
    s["init"] = check_choice("init", s["init"], inits)
    s["optimizer"] = check_choice("optimizer", s["optimizer"], ("lbfgs", "adam"))
    s["units"] = check_number("units", s["units"], minimum=1e-3, maximum=1e3)
    s["rtol"] = check_number("rtol", s["rtol"], minimum=1e-9, maximum=1e-1)
    s["lr"] = check_number("lr", s["lr"], minimum=1e-6, maximum=10.0, allow_none=True)
    s["step_size"] = check_number(
        "step_size", s["step_size"], minimum=1e-3, maximum=1.0, allow_none=True
    )
    s["kinetic"] = check_number("kinetic", s["kinetic"], minimum=0.0, maximum=100.0)
    s["normalise"] = check_bool("normalise", s["normalise"])
    s["seed"] = check_int("seed", s["seed"])
    try:
        stages = tuple((int(b), int(n)) for b, n in s["stages"])
        ok = stages == tuple(tuple(x) for x in s["stages"])
    except (TypeError, ValueError):
        ok = False
    if not ok or not stages or not all(2 <= b <= N_OBS and 1 <= n <= 200 for b, n in stages):
        raise ValueError(
            f"stages must be (window length, evaluations) pairs of integers, window length "
            f"2..{N_OBS}, evaluations 1..200; got {s['stages']!r}"
        )
    s["stages"] = stages
    return s


@functools.cache
def _problem(units):
    full = spiral()
    return Trajectory(full.t[:N_OBS], full.z[:N_OBS] * units, full.A)


def run(**changes):
    """Train with ``settings(**changes)`` and return the ``Symptoms`` (on the CPU, one
    thread's worth of work: a second or two). Deterministic, so repeated runs are cached."""
    return _run(_key(changes))[0]


def trained(**changes):
    """The model ``run(**changes)`` trained (a fresh copy, on the CPU)."""
    key = _key(changes)
    model = _model(dict(key))
    model.load_state_dict(_run(key)[1])
    return model


def _model(s):
    """The untrained model that settings ``s`` name."""
    return VectorField() if s["model"] == "mlp" else CubicLinear(s["init"], s["seed"])


def _key(changes):
    return tuple(sorted(settings(**changes).items()))


@functools.lru_cache(maxsize=64)
def _run(key):
    s = dict(key)
    data = _problem(s["units"])
    scale = float(data.z.abs().max()) if s["normalise"] else 1.0
    seen = Trajectory(data.t, data.z / scale, data.A)  # what the model is trained on
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s["seed"])
        model = _model(s)
    saturated = 0.0
    if s["model"] == "mlp":
        with torch.no_grad():
            saturated = float((model.net[0](seen.z**3).abs() > 3).float().mean())
    solver = dict(method="dopri5", rtol=s["rtol"], atol=s["rtol"] / 100, max_num_steps=MAX_STEPS)
    if s["step_size"] is not None:
        solver = dict(method="rk4", step_size=s["step_size"])
    trainer = Trainer(model, seen, stages=s["stages"], optimizer=s["optimizer"], lr=s["lr"],
                      solver=solver, seed=s["seed"], kinetic=s["kinetic"])  # fmt: skip
    start = time.perf_counter()
    message = None
    try:
        trainer.train(every=10**9, progress=False)
    except SolverError as err:
        message = str(err)
    seconds = time.perf_counter() - start
    h = trainer.history
    z0, t, z_true = windows(seen, s["stages"][-1][0])
    try:
        with torch.no_grad():
            loss_tight = mse(odeint(model, z0, t, **CHECK, max_num_steps=MAX_STEPS), z_true)
        loss_tight = float(loss_tight)
    except SolverError:
        loss_tight = math.nan
    errors = []
    for options in (solver, {**CHECK, "max_num_steps": MAX_STEPS}):
        try:
            with torch.no_grad():
                z = odeint(model, seen.z[0], seen.t, **options) * scale
            errors.append(float((z - data.z).abs().mean() / data.z.abs().mean()))
        except SolverError:
            errors.append(math.nan)
    symptoms = Symptoms(tuple(h.loss), tuple(h.nfe_forward), loss_tight,
                        float(data.z.abs().max()), errors[0], errors[1], saturated, message,
                        seconds)  # fmt: skip
    return symptoms, copy.deepcopy(model.state_dict())
