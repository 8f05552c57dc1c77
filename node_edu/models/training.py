"""Lesson 06: a small, readable training loop for a neural ODE.

* ``VectorField``: the model f(t, z, theta), an MLP 2 -> 50 -> 2 with tanh, fed z^3
  (torchdiffeq's ``ode_demo`` model; the cube is a feature we give it for free).
* ``Trainer``: fits a ``VectorField`` to a ``node_edu.data.spiral.Trajectory`` with random
  sub-trajectories (``node_edu.data.spiral.batch``), ``ne.odeint_adjoint`` (or backprop through
  ``ne.odeint``), Adam; records a ``History`` (loss, forward and backward function
  evaluations per iteration, snapshots of the fitted trajectory) and shows a
  ``tqdm.auto`` progress bar.
* ``WithKineticEnergy``: the field with one extra coordinate E, dE/dt = |f|^2, so one
  solve also returns the kinetic-energy regulariser int |f(t, z)|^2 dt (Finlay et al.
  2020); ``Trainer(kinetic=lam)`` trains on the fit plus lam times its batch mean.
* ``compare_gradients``: one gradient by the adjoint and by backprop through the solver,
  with the bytes autograd keeps, the wall time and the error against a tight float64
  reference.
"""

import copy
import math
import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from node_edu.adjoint import odeint_adjoint
from node_edu.adjoint.memory import saved_tensor_bytes
from node_edu.data.spiral import Trajectory, batch
from node_edu.solvers import SolverStats, odeint


class VectorField(torch.nn.Module):
    """f(t, z) = W2 tanh(W1 z^3 + b1) + b2, for z [..., 2] (a batch of states is fine).

    ``hidden``: width of the hidden layer (50, as in torchdiffeq's demo). ``cube``: feed
    z^3 (the demo's choice; the true spiral field is A z^3) or z itself. Weights start
    small (normal, std 0.1; biases 0), so the untrained field is nearly 0 and cheap to
    integrate. Parameters are created with ``dtype``/``device`` (default: torch's).
    """

    def __init__(self, hidden=50, *, cube=True, dtype=None, device=None):
        super().__init__()
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden must be a positive integer, got {hidden!r}")
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
        if not isinstance(func, torch.nn.Module):
            raise TypeError(f"func must be a torch.nn.Module, got {type(func).__name__}")
        self.func = func

    def forward(self, t, s):
        dz = self.func(t, s[..., :-1])
        return torch.cat([dz, dz.pow(2).sum(dim=-1, keepdim=True)], dim=-1)


def mse(z_pred, z_true):
    """The loss over all observation times: mean of (z_pred - z_true)^2 over times,
    batch and coordinates."""
    return (z_pred - z_true).pow(2).mean()


@dataclass
class History:
    """What a ``Trainer`` records, one entry per iteration (``loss[k]`` is the batch loss
    of iteration k, ``nfe_forward[k]`` / ``nfe_backward[k]`` the evaluations of the
    forward solve and of the backward (adjoint) solve; for backprop through ``odeint``
    ``nfe_backward`` is 0: autograd replays the graph without calling f; ``kinetic[k]`` the
    batch mean of int |f|^2 dt when the trainer regularises, else empty). ``snapshots``:
    ``{iteration: z [T, 2]}``, the whole trajectory predicted from data.z[0], taken
    before that iteration's update (so iteration 0 is the untrained model)."""

    loss: list = field(default_factory=list)
    nfe_forward: list = field(default_factory=list)
    nfe_backward: list = field(default_factory=list)
    kinetic: list = field(default_factory=list)
    snapshots: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.loss)


class Trainer:
    """Fit ``func`` to ``data`` by minibatches of short sub-trajectories.

    Args:
        func: the model, an ``nn.Module`` ``func(t, z)`` (e.g. ``VectorField``).
        data: a ``node_edu.data.spiral.Trajectory``.
        batch_size, batch_time: sub-trajectories per batch and observations in each.
        lr: Adam's learning rate.
        adjoint: True: gradients by ``ne.odeint_adjoint`` (O(1) memory); False: backprop
            through ``ne.odeint``.
        solver: keyword arguments of the solve (method, rtol, atol, step_size).
        seed: seeds the generator of the batches, so a run is reproducible.
        kinetic: weight lam of the kinetic-energy regulariser (0: none). The loss is then
            mse + lam * (batch mean of int |f|^2 dt), from one solve of ``WithKineticEnergy``;
            ``history.loss`` still records the fit (mse) alone.
    """

    def __init__(self, func, data, *, batch_size=16, batch_time=10, lr=1e-2, adjoint=True,
                 solver=None, seed=0, kinetic=0.0):  # fmt: skip
        if not isinstance(func, torch.nn.Module):
            raise TypeError(f"func must be a torch.nn.Module, got {type(func).__name__}")
        if not isinstance(data, Trajectory):
            raise TypeError(
                f"data must be a node_edu.data.spiral.Trajectory, got {type(data).__name__}"
            )
        self.func, self.data = func, data
        self.batch_size, self.batch_time = batch_size, batch_time
        self.adjoint = bool(adjoint)
        if (
            isinstance(kinetic, bool)
            or not isinstance(kinetic, (int, float))
            or not 0 <= kinetic < math.inf
        ):
            raise ValueError(f"kinetic must be a finite number >= 0, got {kinetic!r}")
        self.kinetic = float(kinetic)
        if solver is not None and not isinstance(solver, dict):
            raise TypeError(
                f"solver must be a dict of odeint keyword arguments or None, got "
                f"{type(solver).__name__}"
            )
        self.solver = (
            dict(method="dopri5", rtol=1e-3, atol=1e-5) if solver is None else dict(solver)
        )
        self.optimizer = torch.optim.Adam(func.parameters(), lr=lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.history = History()
        batch(data, batch_size, batch_time, generator=torch.Generator())  # checks the sizes

    def predict(self, t=None):
        """The trajectory from data.z[0] at times ``t`` (default data.t), without a graph."""
        t = self.data.t if t is None else t
        with torch.no_grad():
            return odeint(self.func, self.data.z[0], t, **self.solver)

    def error(self):
        """Mean |z_pred - z_data| over the whole trajectory (all T observations)."""
        return float((self.predict() - self.data.z).abs().mean())

    def step(self):
        """One iteration: a batch, a solve, the loss over all its times, backward, Adam."""
        z0, t, z_true = batch(self.data, self.batch_size, self.batch_time, generator=self.generator)
        stats = SolverStats()
        self.optimizer.zero_grad()
        func = WithKineticEnergy(self.func) if self.kinetic else self.func
        if self.kinetic:  # one more coordinate, E(t0) = 0
            z0 = torch.cat([z0, torch.zeros_like(z0[..., :1])], dim=-1)
        solve = odeint_adjoint if self.adjoint else odeint
        z_pred = solve(func, z0, t, stats=stats, **self.solver)
        loss = mse(z_pred[..., : z_true.shape[-1]], z_true)
        if self.kinetic:
            energy = z_pred[-1, ..., -1].mean()  # batch mean of int |f|^2 dt
            (loss + self.kinetic * energy).backward()
            self.history.kinetic.append(energy.item())
        else:
            loss.backward()
        self.optimizer.step()
        self.history.loss.append(loss.item())
        self.history.nfe_forward.append(stats.nfe)
        self.history.nfe_backward.append(stats.backward.nfe if stats.backward else 0)
        return self.history.loss[-1]

    def train(self, n_iters, *, every=20, callback=None, progress=True):
        """Run ``n_iters`` steps with a progress bar; every ``every`` iterations (and after
        the last) store a snapshot of the trajectory and call ``callback(self)`` (a live
        figure's update, say). Returns the ``History``."""
        if isinstance(n_iters, bool) or not isinstance(n_iters, int) or n_iters < 1:
            raise ValueError(f"n_iters must be a positive integer, got {n_iters!r}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
        bar = tqdm(range(n_iters), desc="training", disable=not progress)
        for _ in bar:
            k = len(self.history)
            if k % every == 0:
                self._snapshot(k, callback)
            loss = self.step()
            bar.set_postfix(loss=f"{loss:.4f}", nfe=self.history.nfe_forward[-1], refresh=False)
        self._snapshot(len(self.history), callback)
        return self.history

    def _snapshot(self, k, callback):
        self.history.snapshots[k] = self.predict()
        if callback is not None:
            callback(self)


def compare_gradients(func, z0, t, z_true, *, solver=None, reference=None):
    """The gradient of ``mse(solve(func, z0, t), z_true)`` w.r.t. func's parameters, by the
    adjoint (``ne.odeint_adjoint``, backsolve) and by backprop through ``ne.odeint``.

    ``solver``: keyword arguments of both solves (default dopri5, rtol 1e-3, atol 1e-5).
    ``reference``: those of the reference, a float64 copy of everything differentiated by
    backprop through ``ne.odeint`` (default dopri5, rtol 1e-10, atol 1e-12).

    Returns ``{"adjoint": row, "backprop": row}``, each row a dict with ``bytes`` (saved by
    autograd for the backward pass, see ``saved_tensor_bytes``), ``seconds`` (forward plus
    backward, wall clock), ``nfe`` (forward, backward), ``grad_error`` (max |g - g_ref| /
    max |g_ref| over all parameters) and ``grad`` (the flat gradient).
    """
    solver = dict(method="dopri5", rtol=1e-3, atol=1e-5) if solver is None else solver
    reference = dict(method="dopri5", rtol=1e-10, atol=1e-12) if reference is None else reference
    f64 = copy.deepcopy(func).double()
    loss = mse(odeint(f64, z0.double(), t.double(), **reference), z_true.double())
    g_ref = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(f64.parameters()))])
    params = [p for p in func.parameters() if p.requires_grad]
    rows = {}
    for name, solve in (("adjoint", odeint_adjoint), ("backprop", odeint)):
        stats = SolverStats()
        start = time.perf_counter()
        z_pred, nbytes = saved_tensor_bytes(solve, func, z0, t, stats=stats, **solver)
        grads = torch.autograd.grad(mse(z_pred, z_true), params)
        seconds = time.perf_counter() - start
        g = torch.cat([x.reshape(-1) for x in grads]).double()
        rows[name] = dict(
            bytes=nbytes,
            seconds=seconds,
            nfe=(stats.nfe, stats.backward.nfe if stats.backward else 0),
            grad_error=float((g - g_ref.to(g.device)).abs().max() / g_ref.abs().max()),
            grad=g,
        )
    return rows
