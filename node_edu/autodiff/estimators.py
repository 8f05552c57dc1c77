"""Derivatives without a graph: finite differences, and gradients through a black box.

``finite_difference`` is the numerical method of lesson 01 (its error is truncation,
falling with h, plus round-off, rising as h shrinks); ``finite_difference_optimum`` measures
where their sum, the V, bottoms out. ``blackbox`` wraps a function F that
has no gradient (hardware, a simulator, numpy code) as a ``torch.autograd.Function`` whose
backward *estimates* the vector-Jacobian product v^T dF/du, by central finite differences
(2 d evaluations of F for d inputs) or by SPSA (Spall 1992: 2 evaluations per random
direction). SPSA is *not* unbiased for a finite step h: E[delta delta^T] = I for +-1
entries removes the cross terms of the first-order Taylor term, but the third-order terms
leave a bias of order h^2; ``spsa_mean`` computes the exact expectation (every sign
vector) so the bias can be measured. ``counted`` counts how often a function is called.
"""

import itertools

import numpy as np
import torch


def finite_difference(f, x, h, scheme="forward"):
    """Numerical derivative of a scalar function ``f`` at ``x`` with step ``h``.

    ``scheme="forward"``: (f(x + h) - f(x)) / h, truncation error O(h);
    ``scheme="central"``: (f(x + h) - f(x - h)) / (2 h), truncation error O(h^2).
    Works elementwise on numpy arrays and stays in their dtype (float32 or float64).
    """
    if scheme == "forward":
        return (f(x + h) - f(x)) / h
    if scheme == "central":
        return (f(x + h) - f(x - h)) / (2 * h)
    raise ValueError(f'scheme must be "forward" or "central", got {scheme!r}')


def finite_difference_errors(f, dfdx, x, hs, dtype=np.float64, scheme="forward"):
    """|finite difference - exact| at ``x`` for every step in ``hs``, computed in ``dtype``.

    ``f`` must keep its input's dtype (numpy ufuncs do); ``dfdx(x)`` is the exact
    derivative, evaluated in float64. Returns a float64 array shaped like ``hs``.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a float dtype, got {dtype}")
    hs = np.asarray(hs, dtype=dtype)
    if np.any(hs <= 0):
        raise ValueError(f"every step in hs must be > 0, got min(hs) = {hs.min()}")
    xd = np.full_like(hs, x, dtype=dtype)  # the rounding of x and x + h happens in dtype
    if f(xd).dtype != dtype:  # e.g. float32 * np.float64(5.0) is float64 under numpy 2
        raise TypeError(
            f"f must keep its input's dtype {dtype}, but returned {f(xd).dtype}; "
            "use Python floats (5.0) rather than numpy float64 scalars inside f"
        )
    approx = finite_difference(f, xd, hs, scheme).astype(np.float64)
    return np.abs(approx - dfdx(np.float64(x)))


def finite_difference_optimum(f, dfdx, x, dtype=np.float64, scheme="central", *, hs=None,
                              spread=0.01, n_points=64):  # fmt: skip
    """The bottom of the V, measured: ``(h_best, error_best)`` for a finite difference of f.

    The error at one x depends on the luck of its roundings (one h may land on an error of
    0), so the V is measured as the root-mean-square error over ``n_points`` points spread
    by +-``spread`` (relative) around ``x`` (``x`` alone for ``n_points=1``), for every
    step in ``hs`` (default 10^-14 ... 10^0, 20 per decade). Returns the step with the
    smallest RMS error and that error.
    ``f``, ``dfdx``, ``dtype`` and ``scheme`` as in ``finite_difference_errors``.
    """
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 1:
        raise ValueError(f"n_points must be an integer >= 1, got {n_points!r}")
    hs = np.logspace(-14, 0, 281) if hs is None else np.asarray(hs, dtype=float)
    offsets = np.linspace(-spread, spread, n_points) if n_points > 1 else np.zeros(1)
    xs = float(x) * (1 + offsets)
    errors = np.stack([finite_difference_errors(f, dfdx, xj, hs, dtype, scheme) for xj in xs])
    rms = np.sqrt(np.mean(errors**2, axis=0))
    best = int(np.argmin(rms))
    return float(hs[best]), float(rms[best])


def estimate_vjp(F, u, v, estimator="fd", h=1e-3, n_directions=1, generator=None):
    """Estimate v^T dF/du for a row-wise F (row b of F(u) depends on row b of u only).

    u: [B, d], v: [B, k] (the shape of F(u)). Returns [B, d]. ``"fd"``: central
    differences along each of the d axes (2 d calls of F). ``"spsa"``: ``n_directions``
    random +-1 directions delta, each giving (v . (F(u + h delta) - F(u - h delta)) / 2h)
    delta (2 calls of F each, noisy but cheap in d).
    """
    if u.ndim != 2 or v.shape[0] != u.shape[0]:
        raise ValueError(
            f"u must be [B, d] and v [B, k], got {tuple(u.shape)} and {tuple(v.shape)}"
        )
    if estimator == "fd":
        g = torch.zeros_like(u)
        for i in range(u.shape[1]):
            e = torch.zeros_like(u)
            e[:, i] = h
            g[:, i] = (v * (F(u + e) - F(u - e))).sum(dim=1) / (2 * h)
        return g
    if estimator == "spsa":
        g = torch.zeros_like(u)
        for _ in range(n_directions):
            delta = torch.randint(0, 2, u.shape, generator=generator, device=u.device)
            delta = 2 * delta.to(u.dtype) - 1
            slope = (v * (F(u + h * delta) - F(u - h * delta))).sum(dim=1, keepdim=True) / (2 * h)
            g += slope * delta
        return g / n_directions
    raise ValueError(f'estimator must be "fd" or "spsa", got {estimator!r}')


def blackbox(F, estimator="fd", h=1e-3, n_directions=1, generator=None):
    """Wrap a gradient-free, row-wise F: [B, d] -> [B, k] as a differentiable function.

    Forward calls F under ``torch.no_grad`` (F may even leave torch, e.g. for numpy or
    hardware). Backward returns ``estimate_vjp(F, u, grad_output, ...)``. The returned
    function counts F's calls in its attribute ``n_calls`` (forward and backward).
    """
    if estimator not in ("fd", "spsa"):
        raise ValueError(f'estimator must be "fd" or "spsa", got {estimator!r}')

    def no_grad_F(u):
        apply.n_calls += 1
        with torch.no_grad():
            return F(u)

    class BlackBox(torch.autograd.Function):
        @staticmethod
        def forward(ctx, u):
            ctx.save_for_backward(u)
            return no_grad_F(u)

        @staticmethod
        def backward(ctx, v):
            (u,) = ctx.saved_tensors
            return estimate_vjp(no_grad_F, u, v, estimator, h, n_directions, generator)

    def apply(u):
        return BlackBox.apply(u)

    apply.n_calls = 0
    return apply


def counted(F):
    """``F`` wrapped so that its attribute ``n_calls`` counts the calls (0 to start)."""
    if not callable(F):
        raise TypeError(f"F must be callable, got {type(F).__name__}")

    def F_counted(*args, **kwargs):
        F_counted.n_calls += 1
        return F(*args, **kwargs)

    F_counted.n_calls = 0
    return F_counted


def spsa_mean(F, u, v, h):
    """The exact expectation of the one-direction SPSA estimate of v^T dF/du at step h.

    The average over all 2^d sign vectors delta (d = u.shape[1], at most 12), each drawn
    with probability 2^-d: what ``estimate_vjp(..., "spsa")`` gives on average. Its
    distance to the true VJP is SPSA's bias, of order h^2 for a smooth F.
    """
    if u.ndim != 2 or not 1 <= u.shape[1] <= 12:
        raise ValueError(f"u must be [B, d] with 1 <= d <= 12, got shape {tuple(u.shape)}")
    if not h > 0:
        raise ValueError(f"h must be > 0, got {h!r}")
    g = torch.zeros_like(u)
    signs = list(itertools.product((-1.0, 1.0), repeat=u.shape[1]))
    for s in signs:
        delta = torch.tensor(s, dtype=u.dtype, device=u.device).expand_as(u)
        slope = (v * (F(u + h * delta) - F(u - h * delta))).sum(dim=1, keepdim=True) / (2 * h)
        g += slope * delta
    return g / len(signs)
