"""Checkers for lesson 07 (continuous normalizing flows).

``linear_dlogp``: the rate d log p/dt of a linear flow, judged by the exact Gaussian density
it produces. ``planar_dynamics``: the gated planar CNF's augmented dynamics, judged against
the library's velocity and autograd's trace (``torch.func.jacrev``).
"""

import torch

from ..cnf import CNF, GatedHyperNet, PlanarCNF
from ..solutions import lesson07
from ..solvers import odeint
from .base import Mistake, exercise, expect_tensor, passed, unpack

F64 = torch.float64


def _linear_cases():
    """(A, z) pairs: non-symmetric A with non-zero trace, so a sign error, the sum of all
    entries or the determinant each give a different answer."""
    gen = torch.Generator().manual_seed(7)
    As = [
        [[0.3, -1.0], [0.5, 0.2]],
        [[-0.4, 0.7, 0.1], [0.2, 0.1, -0.3], [0.5, 0.0, -0.6]],
        [[1.2, 0.3], [-0.8, 0.5]],
    ]
    return [
        (torch.tensor(A, dtype=F64), torch.randn(5, len(A), generator=gen, dtype=F64)) for A in As
    ]


def _pushed_log_prob(A, z0, rate):
    """Integrate (z, logp) for dz/dt = Az, d logp/dt = rate over [0, 1] from z0 ~ N(0, I);
    return (logp(1), the exact log N(z(1); 0, e^A e^{A^T})), the oracle."""
    d = A.shape[0]

    def augmented(t, state):
        return torch.cat([state[:, :d] @ A.T, rate[:, None]], dim=1)  # the rate is constant

    zeros, eye = torch.zeros(d, dtype=F64), torch.eye(d, dtype=F64)
    base = torch.distributions.MultivariateNormal(zeros, eye)
    state = torch.cat([z0, base.log_prob(z0)[:, None]], dim=1)
    out = odeint(augmented, state, torch.tensor([0.0, 1.0], dtype=F64), rtol=1e-10, atol=1e-12)
    M = torch.linalg.matrix_exp(A)
    exact = torch.distributions.MultivariateNormal(zeros, M @ M.T)
    return out[-1, :, d], exact.log_prob(out[-1, :, :d])


@exercise(
    "07.linear_dlogp",
    solution=lesson07.dlogp_dt,
    hints=(
        "Theorem 1 of Chen et al. (2018): d log p(z(t))/dt = -tr(df/dz). What is df/dz for "
        "f(z) = A z?",
        "df/dz = A at every point, so the rate is the same number -tr(A) for every sample: "
        "torch.trace(A), negated, repeated z.shape[0] times (on z's dtype and device).",
    ),
)
def linear_dlogp(fn):
    """Lesson 07 exercise: ``fn(A, z)`` returns d log p/dt ``[batch]`` for the linear flow
    dz/dt = A z, ``z`` ``[batch, dim]`` float64, with this course's sign convention.

    Judged by what it does to a density: (z, log p) integrated over [0, 1] from
    z0 ~ N(0, I) must give the exact log-density of N(0, e^A e^{A^T}) at z(1). A flipped
    sign, the sum of all entries and the determinant are named.
    """
    for A, z in _linear_cases():
        out = fn(A.clone(), z.clone())
        if isinstance(out, torch.Tensor) and out.dim() == 0:
            out = out.expand(z.shape[0])  # one number is the same rate for every sample
        out = expect_tensor(out, "d log p/dt", like=z[:, 0])
        tr = torch.trace(A)
        if torch.allclose(out, tr.expand_as(out), atol=1e-6):
            raise Mistake("wrong sign: where the flow expands (tr A > 0) log p falls")
        if torch.allclose(out, -A.sum().expand_as(out), atol=1e-6):
            raise Mistake("that sums every entry of A; only the diagonal counts (a trace)")
        if torch.allclose(out, -torch.linalg.det(A).expand_as(out), atol=1e-6):
            raise Mistake("that is det(A); the rate is a trace (Jacobi's formula)")
        logp, exact = _pushed_log_prob(A, z, out)
        err = float((logp - exact).abs().max())
        if err > 1e-6:
            raise Mistake(
                f"for A = {A.tolist()} log p(z(1)) is off the exact Gaussian density by {err:.3g}"
            )
    return passed("log p follows the exact density of the pushed-forward Gaussian.")


def _planar_cases():
    """(hyper, t, z) with float64 hypernetworks in 2 and 3 dimensions, several units."""
    cases = []
    for seed, (dim, width) in enumerate([(2, 5), (3, 4)]):
        torch.manual_seed(70 + seed)  # under fork_rng: the student's random state is kept
        hyper = GatedHyperNet(dim=dim, width=width, hidden=6).double()
        with torch.no_grad():  # larger gate logits, so forgetting the sigmoid shows
            hyper.net[2].bias.add_(torch.randn_like(hyper.net[2].bias))
        gen = torch.Generator().manual_seed(seed)
        t = torch.rand((), generator=gen, dtype=F64)
        z = 1.5 * torch.randn(7, dim, generator=gen, dtype=F64)
        cases.append((hyper, t, z))
    return cases


def _oracle(hyper, t, z):
    """The library's velocity and autograd's trace of it (the full Jacobian, jacrev)."""
    planar = PlanarCNF(hyper.dim, hyper.width)
    planar.hyper = hyper
    with torch.no_grad():
        dz = planar(t, z)
    J = torch.func.vmap(torch.func.jacrev(lambda zi: planar(t, zi[None])[0]))(z)
    return planar, dz, J.diagonal(dim1=1, dim2=2).sum(-1).detach()


@exercise(
    "07.planar_dynamics",
    solution=lesson07.planar_dynamics,
    hints=(
        "w, b, uhat, g = hyper.raw(t) gives the hypernetwork's outputs, shapes [M, dim], [M], "
        "[M, dim], [M, dim]. The gate makes u = uhat * sigmoid(g); then "
        "h = tanh(z @ w.T + b) is [batch, M] and dz/dt = h @ u sums the units.",
        "Unit m's Jacobian is u_m (1 - h_m^2) w_m^T, rank one, so its trace is "
        "(1 - h_m^2) (u_m . w_m). Sum over m: (1 - h**2) @ (u * w).sum(dim=1), shape [batch].",
        "d log p/dt is MINUS the trace (Chen et al. 2018, Theorem 1). Return (dz, -trace).",
    ),
)
def planar_dynamics(fn):
    """Lesson 07 exercise: ``fn(t, z, hyper)`` returns ``(dz/dt [batch, dim],
    d log p/dt [batch])`` for the gated planar CNF f(t, z) = sum_m u_m tanh(w_m^T z + b_m),
    u_m = uhat_m * sigmoid(g_m), with ``(w, b, uhat, g) = hyper.raw(t)``; the trace in
    closed form (the checker calls it under ``torch.no_grad()`` on a ``z`` that does not
    require grad, so autograd is not available).

    dz/dt is compared with ``PlanarCNF``'s velocity, d log p/dt with minus autograd's trace
    (``torch.func.jacrev``), and one solve of the student's augmented ODE with the library's
    ``CNF(PlanarCNF)``. Named mistakes: a missing gate, a gate without the sigmoid, the mean
    over units, the sign, tanh' left out or written 1 - tanh, the gate left out of the trace.
    """
    for hyper, t, z in _planar_cases():
        planar, dz_ref, tr_ref = _oracle(hyper, t, z)
        with torch.no_grad():
            out = _run_without_autograd(fn, t, z, hyper)
        dz, dlogp = unpack(out, 2, "(dz, dlogp)")
        dz = expect_tensor(dz, "dz", like=z)
        dlogp = expect_tensor(dlogp, "dlogp", like=z[:, 0])
        _diagnose_velocity(dz, dz_ref, hyper, t, z)
        _diagnose_rate(dlogp, tr_ref, hyper, t, z)
    _compare_solves(fn, planar)
    return passed(
        "dz/dt matches PlanarCNF, d log p/dt is minus the trace from torch.func.jacrev, "
        "and your augmented ODE reproduces CNF(PlanarCNF)'s samples and densities."
    )


def _run_without_autograd(fn, t, z, hyper):
    try:
        return fn(t.clone(), z.clone(), hyper)
    except Mistake as err:
        if "does not require grad" in str(err) or "does not have a grad_fn" in str(err):
            raise Mistake(
                "your function calls autograd; here the trace has a closed form "
                "(each unit's Jacobian is rank one), so compute it directly"
            ) from None
        raise


def _units(hyper, t, z):
    w, b, uhat, g = (x.detach() for x in hyper.raw(t))
    return w, uhat, g, torch.tanh(z @ w.T + b)


def _close(a, b):
    return torch.allclose(a, b, atol=1e-9, rtol=1e-9)


def _diagnose_velocity(dz, dz_ref, hyper, t, z):
    w, uhat, g, h = _units(hyper, t, z)
    if _close(dz, dz_ref):
        return
    if _close(dz, h @ uhat):
        raise Mistake("the gate is missing: u = uhat * sigmoid(g), not uhat")
    if _close(dz, h @ (uhat * g)):
        raise Mistake("the gate must lie in (0, 1): multiply uhat by sigmoid(g), not by g")
    if _close(dz, dz_ref / hyper.width):
        raise Mistake("that is the mean over the units; eq. 10 of Chen et al. sums them")
    raise Mistake("dz is not sum_m u_m tanh(w_m^T z + b_m) (compared with PlanarCNF)")


def _diagnose_rate(dlogp, tr_ref, hyper, t, z):
    w, uhat, g, h = _units(hyper, t, z)
    u = uhat * torch.sigmoid(g)
    if _close(dlogp, -tr_ref):
        return
    if _close(dlogp, tr_ref):
        raise Mistake("wrong sign: d log p/dt = -tr(df/dz) (Chen et al. 2018, Theorem 1)")
    uw = (u * w).sum(dim=1)
    if _close(dlogp.abs(), uw.sum().expand_as(dlogp).abs()):
        raise Mistake("tanh'(a) = 1 - tanh(a)^2 is missing: each unit's trace is tanh' u.w")
    if _close(dlogp.abs(), ((1 - h) @ uw).abs()):
        raise Mistake("tanh'(a) is 1 - tanh(a)**2, not 1 - tanh(a)")
    if _close(dlogp.abs(), ((1 - h**2) @ (uhat * w).sum(dim=1)).abs()):
        raise Mistake("the trace must use the gated u = uhat * sigmoid(g), as dz does")
    if _close(dlogp.abs(), (tr_ref / hyper.width).abs()):
        raise Mistake("that is the mean of the units' traces; sum them, as dz sums the units")
    raise Mistake("d log p/dt is not minus the trace of df/dz (compared with torch.func.jacrev)")


def _compare_solves(fn, planar):
    """Samples and log q from the student's augmented ODE against CNF(PlanarCNF)."""
    z0 = torch.randn(6, planar.hyper.dim, generator=torch.Generator().manual_seed(3), dtype=F64)
    cnf = CNF(planar, method="rk4", step_size=0.25)
    with torch.no_grad():
        x_ref, logq_ref = cnf.sample(z0)
        d = z0.shape[1]

        def augmented(t, state):
            dz, dlogp = fn(t, state[:, :d], planar.hyper)
            return torch.cat([dz, dlogp[:, None]], dim=1)

        state = torch.cat([z0, cnf.sample(z0, t=0.0)[1][:, None]], dim=1)
        out = odeint(augmented, state, torch.tensor([0.0, 1.0], dtype=F64), method="rk4",
                     step_size=0.25)[-1]  # fmt: skip
    if not (_close(out[:, :d], x_ref) and _close(out[:, d], logq_ref)):
        raise Mistake("one solve with your dynamics does not reproduce CNF(PlanarCNF)")
