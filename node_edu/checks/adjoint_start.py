"""Checkers for lesson 05: the adjoint's initial condition and its jumps.

* ``jumps(fn)``: the jump of the adjoint at each observation time, dL/dz(t_i), for the mean
  loss L = (1/m) sum_i |z(t_i) - y_i|^2, checked against torch autograd of that loss.
* ``adjoint_between(fn)``: a(t) for dz/dt = A z between two observation times, checked
  against autograd through ``torch.linalg.matrix_exp`` (a VJP of the flow z(t) -> z(t1)).
"""

import torch

from .base import CheckResult, _call

DT = torch.float64


def _as_tensor(out, shape, what):
    """The student's answer as a float64 tensor of ``shape``, or a failing CheckResult."""
    try:
        out = torch.as_tensor(out).detach().to(DT)
    except (TypeError, ValueError, RuntimeError) as err:
        return None, CheckResult(False, f"return a tensor for {what}; converting it failed: {err}")
    if tuple(out.shape) != tuple(shape):
        return None, CheckResult(
            False, f"{what} must have shape {list(shape)}, got {list(out.shape)}"
        )
    return out, None


def jumps(fn):
    """Lesson 05 exercise: ``fn(z, y)`` returns the jumps dL/dz(t_i), shape [m, n].

    ``z`` [m, n] holds the model's states z(t_1..t_m), ``y`` [m, n] the targets, and the
    loss is the mean over observations of the squared Euclidean error,
    L = (1/m) sum_i |z(t_i) - y_i|^2. The oracle is ``torch.autograd.grad`` of that L.
    """
    gen = torch.Generator().manual_seed(5)
    for m, n in ((3, 4), (1, 3), (4, 2)):  # n != 2 first: mse_loss is then not "x 1/2"
        z = torch.randn(m, n, generator=gen, dtype=DT)
        y = torch.randn(m, n, generator=gen, dtype=DT)
        zz = z.clone().requires_grad_(True)
        (oracle,) = torch.autograd.grad((zz - y).pow(2).sum(dim=1).mean(), zz)
        out, failure = _call(fn, z.clone(), y.clone())
        if failure is not None:
            return failure
        got, failure = _as_tensor(out, (m, n), "the jumps")
        if failure is not None:
            return failure
        if torch.allclose(got, oracle, atol=1e-12):
            continue
        residual = z - y
        hints = (
            (-oracle, "the sign is flipped: dL/dz(t_i) = (2/m)(z(t_i) - y_i), model minus target"),
            (oracle / 2, "a factor 2 is missing: the derivative of |r|^2 is 2 r"),
            (oracle * m, "the 1/m of the mean is missing (it matters when m > 1)"),
            (
                oracle / n,
                "that is the gradient of torch's mse_loss, which also averages over the n "
                "components; our loss sums over components and averages over the m times",
            ),
            (2 * residual.sum(0, keepdim=True).expand(m, n) / m, "each t_i has its own jump"),
        )
        for wrong, hint in hints:
            if torch.allclose(got, wrong, atol=1e-12):
                return CheckResult(False, f"(m = {m}, n = {n}) {hint}")
        return CheckResult(False, f"(m = {m}, n = {n}) the jumps differ from autograd's dL/dz")
    return CheckResult(True, "the jumps are (2/m)(z(t_i) - y_i), as autograd says.")


def adjoint_between(fn):
    """Lesson 05 exercise: ``fn(A, a1, t, t1)`` returns a(t), shape [n], for dz/dt = A z.

    ``a1`` [n] is a(t1) (just before t1, the jump at t1 included); no observation lies in
    (t, t1), so the adjoint obeys da/dt = -A^T a there. ``t`` and ``t1`` are floats,
    t < t1. The oracle: a(t) is the VJP of the flow z(t) -> z(t1) = exp(A (t1 - t)) z(t)
    with a1, computed by autograd through ``torch.linalg.matrix_exp``.
    """
    gen = torch.Generator().manual_seed(7)
    for n, t, t1 in ((2, 0.25, 1.5), (3, 0.0, 1.0)):
        A = torch.randn(n, n, generator=gen, dtype=DT)
        a1 = torch.randn(n, generator=gen, dtype=DT)
        zt = torch.randn(n, generator=gen, dtype=DT, requires_grad=True)
        z1 = torch.linalg.matrix_exp(A * (t1 - t)) @ zt
        (oracle,) = torch.autograd.grad(z1, zt, grad_outputs=a1)
        out, failure = _call(fn, A.clone(), a1.clone(), t, t1)
        if failure is not None:
            return failure
        got, failure = _as_tensor(out, (n,), "a(t)")
        if failure is not None:
            return failure
        if torch.allclose(got, oracle, atol=1e-10):
            continue
        E = torch.linalg.matrix_exp
        hints = (
            (a1, "a(t) = a(t1) would need df/dz = A = 0; here da/dt = -A^T a moves it"),
            (E(A * (t1 - t)) @ a1, "transpose A: da/dt = -A^T a, so a(t) = exp(A^T (t1 - t)) a1"),
            (E(-A.T * (t1 - t)) @ a1, "the sign of the exponent: going back from t1 to t < t1, "
             "a(t) = exp(A^T (t1 - t)) a1"),
        )  # fmt: skip
        for wrong, hint in hints:
            if torch.allclose(got, wrong, atol=1e-10):
                return CheckResult(False, f"(n = {n}) {hint}")
        return CheckResult(False, f"(n = {n}) a(t) differs from the VJP of the flow")
    return CheckResult(True, "a(t) = exp(A^T (t1 - t)) a(t1): the VJP of the flow, not a constant.")
