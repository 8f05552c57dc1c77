"""FFJORD at scale: what each trace costs as the dimension grows, and how good a fit is.

* ``count_vjps``: how many backward passes (vector-Jacobian products) one trace takes,
  counted by an identity "tap" on z whose backward runs once per pass through it, so the
  count does not rely on the trace code it measures.
* ``trace_scaling``: for d = 2, 4, ..., the exact trace (d VJPs) against Hutchinson's
  estimator (one VJP; Grathwohl et al. 2019), on a random MLP velocity in d dimensions:
  VJPs counted, wall time per evaluation, and the variance Hutchinson pays (exact, from the
  full Jacobian; the exact trace has none).
* ``sample_energy``: samples of exp(-U) restricted to a square, drawn on a fine grid (for
  the forward KL, which needs samples of the target).
* ``grid_kls``: forward KL(p || q) and reverse KL(q || p) by Riemann sums on a grid.
* ``effective_sample_size``: Kish's ESS of importance weights w = exp(-U(x)) / q(x) over
  samples of q, as a fraction of the sample size: 1 when q is the target, near 0 when
  they differ; it needs no normalising constant, so it also judges U2..U4.
"""

import math
import time

import torch
from torch import nn

from node_edu.cnf.energies import grid
from node_edu.cnf.trace import hutchinson_variance, sample_noise, trace_exact, trace_hutchinson

TRACE_FNS = {"exact": trace_exact, "hutchinson": trace_hutchinson}


class _Tap(torch.autograd.Function):
    """The identity on z; its backward counts the passes through it."""

    @staticmethod
    def forward(ctx, z, counter):
        ctx.counter = counter
        return z.view_as(z)

    @staticmethod
    def backward(ctx, grad):
        ctx.counter[0] += 1
        return grad, None


def count_vjps(func, t, z, trace="exact", eps=None):
    """One trace of d func / dz at ``z`` ``[batch, dim]``: ``(trace [batch], vjps)``, where
    ``vjps`` counts the backward passes that reached z (``eps``: Hutchinson's probe)."""
    if trace not in TRACE_FNS:
        raise ValueError(f"trace must be one of {list(TRACE_FNS)}, got {trace!r}")
    counter = [0]
    z = z.detach().requires_grad_(True)
    dz = func(t, _Tap.apply(z, counter))
    args = () if trace == "exact" else (eps,)
    tr = TRACE_FNS[trace](dz, z, *args)
    return tr.detach(), counter[0]


class MLPField(nn.Module):
    """A random time-dependent velocity in ``dim`` dimensions: z, t -> tanh MLP -> dz/dt.

    ``nn.Linear``'s default initialisation draws the first layer's weights with a scale
    1/sqrt(dim + 1), so the size of each output does not grow with the dimension.
    """

    def __init__(self, dim, hidden=64):
        super().__init__()
        _check_count("dim", dim)
        _check_count("hidden", hidden)
        self.net = nn.Sequential(nn.Linear(dim + 1, hidden), nn.Tanh(), nn.Linear(hidden, dim))

    def forward(self, t, z):
        return self.net(torch.cat([z, t.expand(z.shape[0], 1)], dim=1))


def trace_scaling(dims=(2, 4, 8, 16, 32, 64), batch=32, hidden=64, repeats=5, seed=0,
                  dtype=torch.float64, device="cpu"):  # fmt: skip
    """Exact trace against Hutchinson's as the dimension grows; one dict per dimension.

    Keys: ``dim``; ``vjps_exact``, ``vjps_hutchinson`` (counted by ``count_vjps``);
    ``ms_exact``, ``ms_hutchinson`` (milliseconds per evaluation of the trace of a
    ``batch`` of points, best of ``repeats``; the field's own forward pass included);
    ``var_rademacher``, ``var_gaussian`` (one probe's variance, exact from each point's
    full Jacobian, averaged over the batch); ``trace_rms`` (root mean square of the exact
    trace over the batch, to compare the spread with).
    """
    for name, value in (("batch", batch), ("hidden", hidden), ("repeats", repeats)):
        _check_count(name, value)
    return [_scaling_row(dim, batch, hidden, repeats, seed, dtype, device) for dim in dims]


def _scaling_row(dim, batch, hidden, repeats, seed, dtype, device):
    _check_count("dims entries", dim)
    torch.manual_seed(seed)
    func = MLPField(dim, hidden).to(dtype=dtype, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    z = torch.randn(batch, dim, dtype=dtype, device=device, generator=gen)
    t = torch.tensor(0.5, dtype=dtype, device=device)
    eps = sample_noise(z.shape, "rademacher", dtype=dtype, device=device, generator=gen)
    row = {"dim": dim}
    for kind, probe in (("exact", None), ("hutchinson", eps)):
        tr, row[f"vjps_{kind}"] = count_vjps(func, t, z, kind, probe)
        seconds = _best_time(lambda k=kind, e=probe: count_vjps(func, t, z, k, e), repeats)
        row[f"ms_{kind}"] = 1e3 * seconds
        if kind == "exact":
            row["trace_rms"] = float(tr.pow(2).mean().sqrt())
    J = torch.func.vmap(torch.func.jacrev(lambda zi: func(t, zi[None])[0]))(z).detach()
    for noise in ("rademacher", "gaussian"):
        row[f"var_{noise}"] = float(sum(hutchinson_variance(Jb, noise) for Jb in J) / batch)
    return row


def _best_time(fn, repeats):
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def sample_energy(energy, n, lim=4.0, n_grid=400, generator=None, dtype=torch.float64):
    """``n`` samples ``[n, 2]`` of exp(-energy) restricted to [-lim, lim]^2: a grid cell
    drawn with probability proportional to exp(-U) at its centre, then a uniform point in
    the cell (exact as the cells shrink; U1's mass outside [-4, 4]^2 is negligible)."""
    _check_count("n", n)
    xs, points, area = grid(lim, n_grid, dtype=dtype)
    logp = -energy(points)
    cells = torch.multinomial(torch.softmax(logp, 0), n, replacement=True, generator=generator)
    h = float(xs[1] - xs[0])
    jitter = (torch.rand(n, 2, generator=generator, dtype=dtype) - 0.5) * h
    return points[cells] + jitter


def grid_kls(logq, logp, area):
    """``(KL(p || q), KL(q || p))`` by Riemann sums: ``logq``, ``logp`` the log-densities on
    the same grid points (each normalised), ``area`` one cell's area."""
    if not isinstance(logq, torch.Tensor) or not isinstance(logp, torch.Tensor):
        raise TypeError(f"logq and logp must be tensors, got {type(logq).__name__}, "
                        f"{type(logp).__name__}")  # fmt: skip
    if logq.shape != logp.shape:
        raise ValueError(f"logq and logp must have one shape, got {tuple(logq.shape)} "
                         f"and {tuple(logp.shape)}")  # fmt: skip
    diff = logp - logq
    forward = float((logp.exp() * diff).sum() * area)
    reverse = float((logq.exp() * -diff).sum() * area)
    return forward, reverse


def effective_sample_size(log_w):
    """Kish's ESS over n importance weights given as ``log_w`` ``[n]``, divided by n:
    (sum w)^2 / (n sum w^2), in (0, 1]; a constant factor in w cancels (no log Z needed)."""
    if not isinstance(log_w, torch.Tensor) or log_w.dim() != 1 or len(log_w) < 1:
        raise ValueError(f"log_w must be a 1-D tensor of log-weights, got {log_w!r}")
    if not torch.isfinite(log_w).all():
        raise ValueError("log_w must be finite, got NaN or inf")
    n = len(log_w)
    return float(torch.exp(2 * torch.logsumexp(log_w, 0) - torch.logsumexp(2 * log_w, 0)) / n)


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
