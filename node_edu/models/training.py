"""Lesson 06: fitting a neural ODE to the spiral, with the recipe that works.

* ``VectorField``: the model f(t, z, theta), an MLP 2 -> 50 -> 2 with tanh, fed z^3
  (torchdiffeq's ``ode_demo`` model; the cube is a feature we give it for free).
* ``WithKineticEnergy``: the field with one extra coordinate E, dE/dt = |f|^2, so one
  solve also returns the kinetic-energy regulariser int |f(t, z)|^2 dt (Finlay et al.
  2020).
* ``Trainer``: fits a ``VectorField`` to a ``node_edu.data.Trajectory``. The default is the
  recipe lesson 06 measures: every window of the data at once (``data.windows``), so the
  loss is a deterministic function of theta; L-BFGS with a line search on it; a tight
  tolerance (``SOLVER``), so the model fits the ODE and not the solver's error; and a
  curriculum on the window length (``STAGES``: windows of 2 observations, then 5, then
  10). Adam on random minibatches, the adjoint and the regulariser are options. It records
  a ``History`` (loss and function evaluations per evaluation of the loss, snapshots of
  the fitted trajectory) and shows a ``tqdm.auto`` progress bar.

The whole-trajectory error (``Trainer.error``) is measured from z(0) over every
observation at ``CHECK`` (rtol 1e-7), far tighter than any training tolerance, so a model
that only fits its own solver's mistakes is caught.
"""

from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from node_edu.adjoint import odeint_adjoint
from node_edu.data.spiral import Trajectory, batch, windows
from node_edu.solvers import SolverStats, odeint
from node_edu.validation import (
    check_callable,
    check_choice,
    check_instance,
    check_int,
    check_number,
    describe,
)

SOLVER = dict(method="dopri5", rtol=1e-5, atol=1e-7)  # training: the model fits the ODE
CHECK = dict(method="dopri5", rtol=1e-7, atol=1e-9)  # measuring: 100x tighter still
STAGES = ((2, 100), (5, 40), (10, 30))  # (window length, evaluations of the loss)
OPTIMIZERS = ("lbfgs", "adam")


class VectorField(torch.nn.Module):
    """f(t, z) = W2 tanh(W1 z^3 + b1) + b2, for z [..., 2] (a batch of states is fine).

    ``hidden``: width of the hidden layer (50, as in torchdiffeq's demo). ``cube``: feed
    z^3 (the demo's choice; the true spiral field is A z^3) or z itself. Weights start
    small (normal, std 0.1; biases 0), so the untrained field is nearly 0 and cheap to
    integrate. Parameters are created with ``dtype``/``device`` (default: torch's).
    """

    def __init__(self, hidden=50, *, cube=True, dtype=None, device=None):
        super().__init__()
        hidden = check_int("hidden", hidden, minimum=1)
        self.cube = bool(cube)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(2, hidden, dtype=dtype, device=device),
            torch.nn.Tanh(),
            torch.nn.Linear(hidden, 2, dtype=dtype, device=device),
        )
        for layer in (self.net[0], self.net[2]):
            torch.nn.init.normal_(layer.weight, std=0.1)
            torch.nn.init.zeros_(layer.bias)

    def forward(self, t, z):
        return self.net(z**3 if self.cube else z)


class WithKineticEnergy(torch.nn.Module):
    """The state s = [z | E] [..., n + 1] with ds/dt = [f(t, z) | |f(t, z)|^2].

    Solved from E(t0) = 0, E(t) is the kinetic energy int_{t0}^{t} |f(z(s), s)|^2 ds of
    each trajectory: the regulariser of Finlay et al. (2020), "How to train your neural
    ODE" (their code integrates 0.5 * the mean over coordinates of f^2, a constant
    multiple absorbed by the weight). ``func``'s parameters are this module's, so
    ``odeint_adjoint`` finds them.
    """

    def __init__(self, func):
        super().__init__()
        self.func = check_instance("func", func, torch.nn.Module, what="a torch.nn.Module")

    def forward(self, t, s):
        dz = self.func(t, s[..., :-1])
        return torch.cat([dz, dz.pow(2).sum(dim=-1, keepdim=True)], dim=-1)


def max_jacobian_norm(func, z):
    """The largest spectral norm of df/dz over the states ``z`` [N, d] (t = None: an
    autonomous field), by torch.func: how steep the field ``func(t, z)`` is where the data
    are. A steeper field needs smaller steps, so this grows with the evaluations."""
    J = torch.vmap(torch.func.jacrev(lambda z: func(None, z)))(z)  # [N, d, d]
    return torch.linalg.matrix_norm(J, ord=2).max().item()


def mse(z_pred, z_true):
    """The loss over all observation times: mean of (z_pred - z_true)^2 over times,
    windows and coordinates."""
    return (z_pred - z_true).pow(2).mean()


@dataclass
class History:
    """What a ``Trainer`` records, one entry per evaluation of the loss (an L-BFGS step
    evaluates it several times, in its line search; an Adam step once).

    ``loss[k]``: the fit (mse) at evaluation k; ``nfe_forward[k]`` / ``nfe_backward[k]``:
    function evaluations of its forward solve and of the adjoint's backward solve (0 for
    backprop through ``odeint``: autograd replays the graph without calling f);
    ``kinetic[k]``: the batch mean of int |f|^2 dt when the trainer regularises, else
    empty; ``stages``: ``(first evaluation, window length)`` of each stage; ``snapshots``:
    ``{k: z [T, 2]}``, the whole trajectory predicted from data.z[0] (at the training
    tolerance) by the model as it was before evaluation k (so snapshot 0 is the untrained
    model).
    """

    loss: list = field(default_factory=list)
    nfe_forward: list = field(default_factory=list)
    nfe_backward: list = field(default_factory=list)
    kinetic: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    snapshots: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.loss)


def _check_stages(stages, n_obs):
    """The curriculum as a list of ``(window length, evaluations)`` pairs of ints: a window
    of 2 to ``n_obs`` observations, at least one evaluation of the loss."""
    pairs = "a non-empty sequence of (window length, evaluations) pairs"
    try:
        entries = [tuple(s) for s in stages]
    except TypeError:
        raise TypeError(f"stages must be {pairs}, got {describe(stages)}") from None
    if not entries or any(len(s) != 2 for s in entries):
        raise ValueError(f"stages must be {pairs}, got {describe(stages)}")
    return [
        (
            check_int(f"stages[{i}][0] (window length)", b, minimum=2, maximum=n_obs),
            check_int(f"stages[{i}][1] (evaluations)", n, minimum=1),
        )
        for i, (b, n) in enumerate(entries)
    ]


class Trainer:
    """Fit ``func`` to ``data`` in stages of growing window length.

    Args:
        func: the model, an ``nn.Module`` ``func(t, z)`` (e.g. ``VectorField``).
        data: a ``node_edu.data.Trajectory``.
        stages: ``((window length, evaluations of the loss), ...)``, run in order: the
            curriculum. Default ``STAGES``: windows of 2, 5, then 10 observations. (L-BFGS
            checks its count after each line search, so a stage may take one more.)
        optimizer: ``"lbfgs"`` (default; ``torch.optim.LBFGS`` with a strong-Wolfe line
            search, one per stage) or ``"adam"`` (one step per evaluation).
        lr: the optimiser's learning rate (default 1 for L-BFGS, whose line search scales
            the step; 1e-2 for Adam).
        batch_size: None (default): every window at once (``data.windows``), the same
            deterministic loss at each evaluation. An int: that many random windows per
            evaluation (``data.batch``, seeded by ``seed``); Adam only (L-BFGS needs
            the same loss at every evaluation).
        adjoint: False (default): gradients by backprop through ``ne.odeint`` (faster for
            a model this small; lesson 06b measures it). True: ``ne.odeint_adjoint``.
        solver: keyword arguments of the training solve (default ``SOLVER``).
        kinetic: weight lam of the kinetic-energy regulariser (0: none). The loss is then
            mse + lam * (batch mean of int |f|^2 dt), from one solve of
            ``WithKineticEnergy``; ``history.loss`` still records the fit alone.
    """

    def __init__(self, func, data, *, stages=STAGES, optimizer="lbfgs", lr=None,
                 batch_size=None, adjoint=False, solver=None, seed=0, kinetic=0.0):  # fmt: skip
        check_instance("func", func, torch.nn.Module, what="a torch.nn.Module")
        check_instance("data", data, Trajectory, what="a node_edu.data.Trajectory")
        optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
        batch_size = check_int("batch_size", batch_size, minimum=1, allow_none=True)
        if batch_size is not None and optimizer == "lbfgs":
            raise ValueError(
                "batch_size must be None with optimizer='lbfgs': its line search needs the "
                "same loss at every evaluation; use optimizer='adam' for minibatches"
            )
        kinetic = check_number("kinetic", kinetic, minimum=0)
        what = "a dict of odeint keyword arguments"
        check_instance("solver", solver, dict, what=what, allow_none=True)
        default_lr = 1.0 if optimizer == "lbfgs" else 1e-2
        lr = check_number("lr", default_lr if lr is None else lr, above=0)
        self.func, self.data = func, data
        self.stages = _check_stages(stages, len(data))
        self.optimizer, self.lr, self.batch_size = optimizer, lr, batch_size
        self.adjoint, self.kinetic = bool(adjoint), kinetic
        self.solver = dict(SOLVER) if solver is None else dict(solver)
        self.generator = torch.Generator().manual_seed(seed)
        self.history = History()

    # --- measuring -------------------------------------------------------------------

    def predict(self, t=None, *, tight=True):
        """The trajectory from data.z[0] at times ``t`` (default data.t), without a graph,
        solved at ``CHECK`` (rtol 1e-7), or at the training tolerance if not ``tight``
        (what the snapshots and the live figure use: half the cost)."""
        t = self.data.t if t is None else t
        with torch.no_grad():
            return odeint(self.func, self.data.z[0], t, **(CHECK if tight else self.solver))

    def error(self):
        """Mean |z_pred - z_data| over the whole trajectory (all T observations), the
        prediction integrated from z(0) at ``CHECK``."""
        return float((self.predict() - self.data.z).abs().mean())

    # --- training --------------------------------------------------------------------

    def loss(self, z0, t, z_true, stats=None):
        """The fit (mse over every time, window and coordinate) and, when regularising,
        the batch mean of int |f|^2 dt (else None): one solve, with a graph."""
        func = WithKineticEnergy(self.func) if self.kinetic else self.func
        if self.kinetic:  # one more coordinate, E(t0) = 0
            z0 = torch.cat([z0, torch.zeros_like(z0[..., :1])], dim=-1)
        solve = odeint_adjoint if self.adjoint else odeint
        z_pred = solve(func, z0, t, stats=stats, **self.solver)
        fit = mse(z_pred[..., : z_true.shape[-1]], z_true)
        energy = z_pred[-1, ..., -1].mean() if self.kinetic else None
        return fit, energy

    def train(self, *, every=25, callback=None, progress=True):
        """Run every stage; every ``every`` evaluations (and after the last) store a
        snapshot of the trajectory and call ``callback(self)`` (a live figure's update,
        say). Returns the ``History``."""
        every = check_int("every", every, minimum=1)
        check_callable("callback", callback, call="callback(trainer)", allow_none=True)
        total = sum(n for _, n in self.stages)
        with tqdm(total=total, desc="training", disable=not progress) as bar:
            for batch_time, n_evals in self.stages:
                self.history.stages.append((len(self.history), batch_time))
                self._stage(batch_time, n_evals, every, callback, bar)
        self._snapshot(callback)
        return self.history

    def _stage(self, batch_time, n_evals, every, callback, bar):
        params = list(self.func.parameters())
        if self.optimizer == "lbfgs":
            optimizer = torch.optim.LBFGS(
                params, lr=self.lr, max_iter=n_evals, max_eval=n_evals, history_size=50,
                line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0,
            )  # fmt: skip
        else:
            optimizer = torch.optim.Adam(params, lr=self.lr)
        fixed = windows(self.data, batch_time) if self.batch_size is None else None

        def closure():
            if len(self.history) % every == 0:
                self._snapshot(callback)
            z0, t, z_true = fixed or batch(
                self.data, self.batch_size, batch_time, generator=self.generator
            )
            stats = SolverStats()
            optimizer.zero_grad()
            fit, energy = self.loss(z0, t, z_true, stats)
            (fit if energy is None else fit + self.kinetic * energy).backward()
            self._record(fit, energy, stats)
            bar.update(1)
            bar.set_postfix(loss=f"{fit.item():.2e}", nfe=stats.nfe, refresh=False)
            return fit if energy is None else fit + self.kinetic * energy

        if self.optimizer == "lbfgs":
            optimizer.step(closure)  # about n_evals evaluations, line searches included
        else:
            for _ in range(n_evals):
                optimizer.step(closure)

    def _record(self, fit, energy, stats):
        h = self.history
        h.loss.append(fit.item())
        h.nfe_forward.append(stats.nfe)
        h.nfe_backward.append(stats.backward.nfe if stats.backward else 0)
        if energy is not None:
            h.kinetic.append(energy.item())

    def _snapshot(self, callback):
        self.history.snapshots[len(self.history)] = self.predict(tight=False)
        if callback is not None:
            callback(self)
