"""Irregularly sampled time series made locally (no downloads): lesson 09's damped oscillations.

Each series b is one damped oscillation with its own amplitude, phase and frequency,

    x_b(t) = a_b exp(-gamma t) cos(omega_b t + phi_b),

the first coordinate of the linear ODE dz/dt = [[-gamma, -omega_b], [omega_b, -gamma]] z,
so a two-dimensional state (and the frequency) is all a model needs to know to continue it.
Series b is observed at its own ``n_obs`` times, drawn uniformly in the observation window
[t0, t1] (distinct ticks of a clock of a given resolution) and sorted, with Gaussian noise
of standard deviation ``noise``. ``truth(t)`` gives the noiseless values at any times, so
errors at held-out times (inside the window: interpolation; after t1: extrapolation) are
measured against the exact answer, not against noisy data.

Usage::

    data = damped_oscillations(64, 10)        # data.t [64, 10], data.x [64, 10, 1]
    t_test = data.random_times(8, 6.0, 9.0)    # [64, 8], sorted per series
    x_test = data.truth(t_test)                # [64, 8, 1], noiseless
"""

import math
import numbers
from dataclasses import dataclass

import torch


@dataclass
class IrregularSeries:
    """A batch of B series observed at per-series times.

    ``t`` [B, n]: observation times, increasing along each row, inside ``window``.
    ``x`` [B, n, 1]: the noisy observations x_b(t[b, j]) + noise.
    ``amplitude``, ``phase``, ``omega`` [B] and ``gamma`` (a float): the true parameters
    (float64). ``noise``: the noise's standard deviation. ``window``: (t0, t1).
    ``seed``: the seed the series were drawn with (``random_times`` draws from it too).
    """

    t: torch.Tensor
    x: torch.Tensor
    amplitude: torch.Tensor
    phase: torch.Tensor
    omega: torch.Tensor
    gamma: float
    noise: float
    window: tuple
    seed: int

    def __len__(self):
        return self.t.shape[0]

    def truth(self, t):
        """Noiseless x_b(t) at times ``t``: [B, k] (per-series times) or [k] (shared);
        returns [B, k, 1] in ``self.x``'s dtype and device."""
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"t must be a torch.Tensor of times, got {type(t).__name__}")
        if t.dim() == 1:
            t = t.expand(len(self), -1)
        if t.dim() != 2 or t.shape[0] != len(self):
            raise ValueError(
                f"t must have shape [k] or [{len(self)}, k] (one row per series), got "
                f"{list(t.shape)}"
            )
        x = _oscillation(t.double().cpu(), self.amplitude, self.phase, self.omega, self.gamma)
        return x.to(self.x.device, self.x.dtype)

    def random_times(self, k, start, end, *, seed=1):
        """``k`` times per series drawn uniformly in [start, end] and sorted: [B, k].

        ``seed`` is combined with the data's seed, so the same call gives the same times.
        Use it for held-out times: inside the window (interpolation) or after it
        (extrapolation)."""
        k = _count("k", k)
        start, end = _number("start", start), _number("end", end)
        if not end > start:
            raise ValueError(f"end must be greater than start, got start={start}, end={end}")
        gen = torch.Generator().manual_seed(1_000_003 * self.seed + int(seed))
        u = torch.rand(len(self), k, generator=gen, dtype=torch.float64)
        t = (start + (end - start) * u).sort(dim=1).values
        return t.to(self.t.device, self.t.dtype)

    def dense_times(self, k, start=None, end=None):
        """``k`` equally spaced times shared by all series, [k] (default: the window)."""
        start = self.window[0] if start is None else _number("start", start)
        end = self.window[1] if end is None else _number("end", end)
        return torch.linspace(start, end, _count("k", k), dtype=self.t.dtype, device=self.t.device)


def damped_oscillations(
    n_series=64, n_obs=10, *, window=(0.0, 6.0), omega=(0.8, 1.2), gamma=0.1,
    amplitude=(0.6, 1.4), noise=0.05, resolution=0.25, seed=0, dtype=torch.float32,
    device=None,
):  # fmt: skip
    """``n_series`` damped oscillations, each observed at ``n_obs`` random times of its own.

    Args:
        n_series, n_obs: how many series, and observations per series (>= 2).
        window: (t0, t1), the observation window; times are uniform in it.
        omega, amplitude: (low, high) ranges, each series draws uniformly in them; the
            phase is uniform in [0, 2 pi).
        gamma: the damping rate, the same for every series (>= 0).
        noise: standard deviation of the observation noise (>= 0).
        resolution: the clock's tick: times are ``n_obs`` distinct multiples of it after t0
            (a lab that records to the nearest tenth of an hour, say), so series share
            some times and not others; ``None``: any real time (no two series share one).
        seed: seeds every draw, so the same arguments give the same data.
        dtype, device: of ``t`` and ``x`` (the true parameters stay float64 on the CPU).

    Returns an ``IrregularSeries``.
    """
    n_series, n_obs = _count("n_series", n_series), _count("n_obs", n_obs, minimum=2)
    t0, t1 = _pair("window", window)
    w_lo, w_hi = _pair("omega", omega, allow_equal=True)
    a_lo, a_hi = _pair("amplitude", amplitude, allow_equal=True)
    gamma, noise = _number("gamma", gamma, minimum=0.0), _number("noise", noise, minimum=0.0)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    gen = torch.Generator().manual_seed(int(seed))

    def uniform(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(*shape, generator=gen, dtype=torch.float64)

    a, phi = uniform(a_lo, a_hi, n_series), uniform(0.0, 2 * math.pi, n_series)
    w = uniform(w_lo, w_hi, n_series)
    if resolution is None:
        t = uniform(t0, t1, n_series, n_obs).sort(dim=1).values
    else:
        resolution = _number("resolution", resolution)
        if not resolution > 0:
            raise ValueError(f"resolution must be > 0 or None, got {resolution!r}")
        n_ticks = int(math.floor((t1 - t0) / resolution + 1e-9))
        ticks = t0 + resolution * torch.arange(1, n_ticks + 1, dtype=torch.float64)
        if n_obs > len(ticks):
            raise ValueError(
                f"n_obs must be at most the {len(ticks)} ticks of the window at resolution "
                f"{resolution}, got {n_obs}"
            )
        pick = torch.rand(n_series, len(ticks), generator=gen).argsort(dim=1)[:, :n_obs]
        t = ticks[pick.sort(dim=1).values]
    eps = torch.randn(n_series, n_obs, 1, generator=gen, dtype=torch.float64)
    x = _oscillation(t, a, phi, w, gamma) + noise * eps
    return IrregularSeries(
        t=t.to(device, dtype), x=x.to(device, dtype), amplitude=a, phase=phi, omega=w,
        gamma=gamma, noise=noise, window=(t0, t1), seed=int(seed),
    )  # fmt: skip


def _oscillation(t, a, phi, w, gamma):
    """a_b exp(-gamma t) cos(w_b t + phi_b) at t [B, k] (float64, CPU): [B, k, 1]."""
    x = a[:, None] * torch.exp(-gamma * t) * torch.cos(w[:, None] * t + phi[:, None])
    return x[..., None]


def _count(name, value, *, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _number(name, value, *, minimum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


def _pair(name, value, *, allow_equal=False):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high), got {value!r}")
    lo, hi = (_number(name, v) for v in value)
    if hi < lo or (hi == lo and not allow_equal):
        relation = "<=" if allow_equal else "<"
        raise ValueError(f"{name} must be (low, high) with low {relation} high, got {value!r}")
    return lo, hi
