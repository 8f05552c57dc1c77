"""Checkers for lesson 07 (continuous normalizing flows)."""

import torch

from ..solvers import odeint
from .base import CheckResult, _call


def _cases():
    """(A, z) pairs: non-symmetric A with non-zero trace, so a sign error, the sum of all
    entries or the determinant each give a different answer."""
    gen = torch.Generator().manual_seed(7)
    As = [
        [[0.3, -1.0], [0.5, 0.2]],
        [[-0.4, 0.7, 0.1], [0.2, 0.1, -0.3], [0.5, 0.0, -0.6]],
        [[1.2, 0.3], [-0.8, 0.5]],
    ]
    return [
        (
            torch.tensor(A, dtype=torch.float64),
            torch.randn(5, len(A), generator=gen, dtype=torch.float64),
        )
        for A in As
    ]


def _pushed_log_prob(A, z0, dlogp):
    """Integrate (z, logp) for dz/dt = Az, d logp/dt = dlogp(A, z) over [0, 1] from
    z0 ~ N(0, I); return (z(1), logp(1), the exact log N(z(1); 0, e^A e^{A^T}))."""
    d = A.shape[0]

    def augmented(t, state):
        z = state[:, :d]
        return torch.cat([z @ A.T, dlogp(A, z).reshape(-1, 1)], dim=1)

    logp0 = torch.distributions.MultivariateNormal(
        torch.zeros(d, dtype=A.dtype), torch.eye(d, dtype=A.dtype)
    ).log_prob(z0)
    state = torch.cat([z0, logp0[:, None]], dim=1)
    out = odeint(augmented, state, torch.tensor([0.0, 1.0], dtype=A.dtype), rtol=1e-10, atol=1e-12)[
        -1
    ]
    M = torch.linalg.matrix_exp(A)
    exact = torch.distributions.MultivariateNormal(torch.zeros(d, dtype=A.dtype), M @ M.T)
    return out[:, :d], out[:, d], exact.log_prob(out[:, :d])


def _per_sample(fn):
    """fn's rate as a float64 tensor [batch] (a scalar answer broadcast to every sample)."""

    def rate(A, z):
        return fn(A, z).to(A.dtype) * torch.ones(z.shape[0], dtype=A.dtype)

    return rate


def linear_dlogp(fn):
    """Lesson 07 exercise: ``fn(A, z)`` returns d log p/dt ``[batch]`` for the linear flow
    dz/dt = A z, ``z`` ``[batch, dim]``, with this course's sign convention.

    Judged by what it does to a density: (z, log p) integrated over [0, 1] from
    z0 ~ N(0, I) must give the exact log-density of N(0, e^A e^{A^T}) at z(1).
    A sign error, the sum of all entries and the determinant are named.
    """
    for A, z in _cases():
        out, failure = _call(fn, A, z.clone())
        if failure is not None:
            return failure
        if not isinstance(out, torch.Tensor):
            return CheckResult(False, f"return a tensor, got {type(out).__name__}")
        if out.numel() == 1 and z.shape[0] > 1:
            out = out.reshape(()).expand(z.shape[0])  # a scalar is the same for every sample
        if out.shape != (z.shape[0],):
            return CheckResult(
                False, f"return one rate per sample, shape [{z.shape[0]}], got {tuple(out.shape)}"
            )
        tr = torch.trace(A)
        out = out.to(A.dtype)
        if torch.allclose(out, tr.expand_as(out), atol=1e-6) and tr.abs() > 1e-3:
            return CheckResult(False, "wrong sign: where the flow expands (tr A > 0) log p falls")
        if torch.allclose(out, -A.sum().expand_as(out), atol=1e-6):
            return CheckResult(False, "that sums every entry of A; only the diagonal counts")
        if torch.allclose(out, -torch.linalg.det(A).expand_as(out), atol=1e-6):
            return CheckResult(False, "that is det(A); the rate is a trace (Jacobi's formula)")
        _, logp, exact = _pushed_log_prob(A, z, _per_sample(fn))
        err = float((logp - exact).abs().max())
        if err > 1e-6:
            return CheckResult(
                False,
                f"for A = {A.tolist()} log p(z(1)) is off the exact Gaussian density by {err:.3g}",
            )
    return CheckResult(True, "log p follows the exact density of the pushed-forward Gaussian.")
