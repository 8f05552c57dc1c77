"""The CNF: a neural ODE that carries log-density along with the state.

Sign convention (stated once; every function, test and lesson in node_edu uses it):

* Time runs from ``t0`` (the base distribution, a standard normal N(0, I)) to ``t1``
  (the data), ``t0 < t1``, and z(t) follows dz/dt = f(t, z).
* The augmented state is (z, logp) with

      d logp / dt = - tr(df/dz)      (instantaneous change of variables, Chen et al. 2018,
                                      Theorem 1)

  so logp(t) - log p_t(z(t)) stays constant along every trajectory: where the flow
  spreads points apart (tr > 0) the density of the moving points falls.
* Sampling runs FORWARD, t0 -> t1: z0 ~ N(0, I), logp(t0) = log N(z0; 0, I); then
  x = z(t1) and log p_t1(x) = logp(t1) = log N(z0) - int_{t0}^{t1} tr(df/dz) dt.
* Density evaluation runs BACKWARD, t1 -> t0, from (x, 0) with the same ODE; this gives
  z0 = z(t0) and delta = logp(t0) = + int_{t0}^{t1} tr(df/dz) dt, and
  log p_t1(x) = log N(z0) - delta (the same identity read the other way).

Other code bases choose differently. torchdiffeq's examples/cnf.py uses this convention:
its base p_z0 sits at t0 = 0 and the data at t1 = 10, samples are pushed from t0 to t1
and log p(x) comes from a solve from t1 back to t0. FFJORD's code (Grathwohl et al. 2019)
does the opposite: its ``CNF.forward`` takes data x at t = 0 and integrates to the base at
t = T, so density evaluation runs forward in time and sampling (``reverse=True``) runs
backward. That is this convention with time reversed (t -> T - t, f -> -f), not a
different formula: d logp/dt = -tr(df/dz) holds in both, for whatever f moves the points.
"""

import math

import torch
from torch import nn

from node_edu.adjoint import odeint_adjoint
from node_edu.cnf.trace import NOISES, sample_noise, trace_exact, trace_hutchinson
from node_edu.solvers import SolverStats, odeint

TRACES = ("exact", "hutchinson")


def standard_normal_log_prob(z):
    """log N(z; 0, I) per sample for ``z`` ``[batch, dim]``: ``[batch]``."""
    return -0.5 * (z**2).sum(dim=1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


class CNF(nn.Module):
    """A continuous normalizing flow (Chen et al. 2018; FFJORD, Grathwohl et al. 2019).

    Args:
        func: ``func(t, z) -> dz/dt`` with ``z`` ``[batch, dim]`` and ``t`` a 0-dim tensor;
            each sample's velocity must depend on that sample only (no batch norm), since
            the trace is taken per sample. An ``nn.Module`` func is registered, so
            ``cnf.parameters()`` are its parameters.
        t0, t1: base time and data time, ``t0 < t1`` (see the module docstring).
        trace: ``"exact"`` (one VJP per dimension) or ``"hutchinson"`` (one VJP; unbiased
            estimate; the probe eps is drawn once per solve and held fixed during it, as
            FFJORD does, so the adaptive solver sees a smooth ODE).
        noise: Hutchinson's probe, ``"rademacher"`` or ``"gaussian"``.
        adjoint: integrate with ``ne.odeint_adjoint`` (O(1) memory) instead of
            backpropagating through ``ne.odeint``.
        method, rtol, atol, step_size: passed to the solver.

    After each solve ``cnf.stats`` (a ``ne.SolverStats``) holds its counts.
    """

    def __init__(
        self, func, t0=0.0, t1=1.0, trace="exact", *, noise="rademacher", adjoint=False,
        method="dopri5", rtol=1e-5, atol=1e-7, step_size=None,
    ):  # fmt: skip
        super().__init__()
        if not callable(func):
            raise TypeError(f"func must be callable as func(t, z), got {type(func).__name__}")
        for name, value in (("t0", t0), ("t1", t1)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not t0 < t1:
            raise ValueError(f"t0 must be < t1 (base at t0, data at t1), got t0={t0}, t1={t1}")
        if trace not in TRACES:
            raise ValueError(f"trace must be one of {list(TRACES)}, got {trace!r}")
        if noise not in NOISES:
            raise ValueError(f"noise must be one of {list(NOISES)}, got {noise!r}")
        self.func = func
        self.t0, self.t1 = float(t0), float(t1)
        self.trace, self.noise, self.adjoint = trace, noise, bool(adjoint)
        self.solver = dict(method=method, rtol=rtol, atol=atol, step_size=step_size)
        self.stats = SolverStats()
        self._eps = None

    def dynamics(self, t, state):
        """The augmented field: ``state`` ``[batch, dim + 1]`` = (z, logp) ->
        (dz/dt, d logp/dt) = (f(t, z), -tr(df/dz)), same shape."""
        # Keep the trace differentiable only when someone will differentiate it.
        create_graph = torch.is_grad_enabled()
        z = state[:, :-1]
        with torch.enable_grad():
            if not z.requires_grad:
                z = z.detach().requires_grad_(True)
            dz = self.func(t, z)
            if not isinstance(dz, torch.Tensor) or dz.shape != z.shape:
                got = tuple(dz.shape) if isinstance(dz, torch.Tensor) else type(dz).__name__
                raise ValueError(f"func must return dz/dt of z's shape {tuple(z.shape)}, got {got}")
            if self.trace == "exact":
                tr = trace_exact(dz, z, create_graph)
            else:
                tr = trace_hutchinson(dz, z, self._eps, create_graph)
        if not create_graph:
            dz, tr = dz.detach(), tr.detach()
        return torch.cat([dz, -tr[:, None]], dim=1)

    def integrate(self, z, logp, t, eps=None):
        """Solve the augmented ODE from (z, logp) at t[0] through every t[i].

        ``z`` ``[batch, dim]``, ``logp`` ``[batch]``, ``t`` a list or 1-D tensor of times,
        increasing or decreasing. ``eps``: Hutchinson's probe ``[batch, dim]``
        (default: a fresh draw). Returns ``(zs [len(t), batch, dim], logps [len(t), batch])``.
        """
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or not z.is_floating_point():
            raise ValueError(f"z must be a float tensor [batch, dim], got {_describe(z)}")
        if not isinstance(logp, torch.Tensor) or logp.shape != z.shape[:1]:
            raise ValueError(f"logp must be a tensor [batch] = {z.shape[0]}, got {_describe(logp)}")
        t = torch.as_tensor(t, dtype=z.dtype, device=z.device)
        if self.trace == "hutchinson":
            if eps is None:
                eps = sample_noise(z.shape, self.noise, dtype=z.dtype, device=z.device)
            elif not isinstance(eps, torch.Tensor) or eps.shape != z.shape:
                raise ValueError(f"eps must have z's shape {tuple(z.shape)}, got {_describe(eps)}")
        self._eps = eps
        state = torch.cat([z, logp.to(z.dtype)[:, None]], dim=1)
        if self.adjoint:
            params = [p for p in self.parameters() if p.requires_grad]
            out = odeint_adjoint(
                self.dynamics, state, t, params=params, stats=self.stats, **self.solver
            )
        else:
            out = odeint(self.dynamics, state, t, stats=self.stats, **self.solver)
        return out[..., :-1], out[..., -1]

    def sample(self, z0, t=None, eps=None):
        """Push base samples ``z0`` ``[batch, dim]`` forward from t0 to ``t`` (default t1).

        Returns ``(x [batch, dim], log p_t(x) [batch])``; log p starts at log N(z0; 0, I).
        """
        t = self.t1 if t is None else self._time(t)
        if t == self.t0:
            return z0, standard_normal_log_prob(z0)
        zs, logps = self.integrate(z0, standard_normal_log_prob(z0), [self.t0, t], eps)
        return zs[-1], logps[-1]

    def log_prob(self, x, t=None, eps=None):
        """log p_t(x) ``[batch]`` for points ``x`` ``[batch, dim]`` at time ``t`` (default
        t1, the data): integrate (x, 0) back to t0, then log N(z0) - delta."""
        t = self.t1 if t is None else self._time(t)
        if t == self.t0:
            return standard_normal_log_prob(x)
        zero = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device) if torch.is_tensor(x) else x
        zs, deltas = self.integrate(x, zero, [t, self.t0], eps)
        return standard_normal_log_prob(zs[-1]) - deltas[-1]

    def _time(self, t):
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            raise TypeError(f"t must be a number in [t0, t1], got {type(t).__name__}")
        if not self.t0 <= t <= self.t1:
            raise ValueError(f"t must lie in [t0, t1] = [{self.t0}, {self.t1}], got {t}")
        return float(t)


def _describe(x):
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    return type(x).__name__
