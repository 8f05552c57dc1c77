"""Checkers for lesson 07 (continuous normalizing flows).

``planar_dynamics``: the gated planar CNF's augmented dynamics, judged against
the library's velocity and autograd's trace (``torch.func.jacrev``). ``reverse_kl_loss``: the
density-matching loss by hand, judged against the library's ``reverse_kl``.
``probe_variance``: the variance of one Hutchinson probe, derived by the student, judged
against the exact variance that a moment-exact quadrature over the noise gives.
"""

import itertools
import math

import torch

from node_edu.checks.base import Mistake, exercise, expect_tensor, passed, unpack
from node_edu.cnf import CNF, U1, GatedHyperNet, PlanarCNF, reverse_kl, standard_normal_log_prob
from node_edu.solutions import lesson07
from node_edu.solvers import odeint

F64 = torch.float64


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


def _kl_variant(hyper, z0, t_end=1.0, trace_sign=-1.0, start_at_base=True, u_sign=1.0):
    """The reverse-KL loss computed with one convention changed (for the named mistakes)."""
    planar = PlanarCNF(hyper.dim, hyper.width)
    planar.hyper = hyper

    def augmented(t, state):
        z = state[:, :2]
        return torch.cat([planar(t, z), trace_sign * planar.divergence(t, z)[:, None]], dim=1)

    logp0 = standard_normal_log_prob(z0) if start_at_base else torch.zeros(len(z0), dtype=F64)
    t = torch.tensor([1.0 - t_end, t_end], dtype=F64)
    with torch.no_grad():
        end = odeint(
            augmented, torch.cat([z0, logp0[:, None]], dim=1), t, method="rk4", step_size=0.25
        )[-1]
        return float((end[:, 2] + u_sign * U1(end[:, :2])).mean())


@exercise(
    "07.reverse_kl_loss",
    solution=lesson07.reverse_kl_loss,
    hints=(
        "Sampling runs forward, base to data: integrate the augmented state (z, log p) from "
        "t0 = 0 to t1 = 1 with ne.odeint(..., method='rk4', step_size=0.25), starting at "
        "(z0, log N(z0; 0, I)) (standard_normal_log_prob(z0)).",
        "The augmented field calls ne.solutions.lesson07.planar_dynamics(t, z, hyper) and "
        "concatenates (dz, dlogp[:, None]); the state at t1 holds x and log q(x).",
        "The loss is (log q(x) + energy(x)).mean(): the reverse KL without log Z, a number "
        "to MINIMISE. Keep it differentiable (no .item(), no torch.no_grad()).",
    ),
)
def reverse_kl_loss(fn):
    """Lesson 07 exercise: ``fn(hyper, energy, z0)`` returns the reverse-KL loss
    mean_i [log q(x_i) + U(x_i)] (a 0-dim float64 tensor, differentiable in the
    hypernetwork's weights) for base samples ``z0`` ``[batch, 2]``, each x_i the planar
    CNF's sample from z0_i, integrated with rk4 (step 0.25) from t0 = 0 to t1 = 1.

    Compared, value and gradient, with the library's ``reverse_kl(CNF(PlanarCNF))`` on
    fixed samples (its trace by autograd). Named mistakes: log p started at 0, the energy
    subtracted, the objective to maximise returned instead of the loss, time run from 1 to
    0, the trace's sign.
    """
    torch.manual_seed(75)  # under fork_rng: the student's random state is kept
    hyper = GatedHyperNet(dim=2, width=4, hidden=6).double()
    z0 = torch.randn(16, 2, generator=torch.Generator().manual_seed(5), dtype=F64)
    planar = PlanarCNF(2, 4)
    planar.hyper = hyper
    ref = reverse_kl(CNF(planar, method="rk4", step_size=0.25), U1, z0)  # the oracle
    params = list(hyper.parameters())
    ref_grads = torch.autograd.grad(ref, params)
    out = fn(hyper, U1, z0.clone())
    loss = expect_tensor(out, "the loss", shape=(), dtype=F64, device="cpu")
    value, want = float(loss), float(ref.detach())
    if abs(value - want) > 1e-8:
        _diagnose_kl(value, want, hyper, z0)
    if not out.requires_grad:
        raise Mistake(
            "the loss is not differentiable: keep it a tensor (no .item(), "
            "no torch.no_grad(), no .detach()) so training can backpropagate"
        )
    grads = torch.autograd.grad(out, params, allow_unused=True)
    for g, r in zip(grads, ref_grads, strict=True):
        if g is None or not torch.allclose(g, r, atol=1e-8, rtol=1e-6):
            raise Mistake(
                "the loss has the right value but not the right gradient: let "
                "x and log q both come from the solve with hyper's weights"
            )
    return passed(
        "value and gradient match reverse_kl(CNF(PlanarCNF)): sampled forward from the base, "
        "log p started at log N(z0), loss = mean(log q + U) to minimise."
    )


def _diagnose_kl(value, want, hyper, z0):
    def near(other):
        return abs(value - other) < 1e-6

    if near(-want):
        raise Mistake(
            "that is minus the loss, an objective to maximise; return the loss to "
            "MINIMISE, mean(log q + U)"
        )
    if near(_kl_variant(hyper, z0, start_at_base=False)):
        raise Mistake("log p must start at log N(z0; 0, I) (standard_normal_log_prob(z0)), not 0")
    if near(_kl_variant(hyper, z0, u_sign=-1.0)):
        raise Mistake("the energy enters with a plus: KL(q || e^-U / Z) = E[log q + U] + log Z")
    if near(_kl_variant(hyper, z0, t_end=0.0)):
        raise Mistake("sampling runs forward, from the base at t0 = 0 to the data at t1 = 1")
    if near(_kl_variant(hyper, z0, trace_sign=1.0)):
        raise Mistake("d log p/dt = -tr(df/dz): the rate's sign is flipped")
    if abs(value - want) < 1e-2:
        raise Mistake(
            f"close ({value:.6f} against {want:.6f}) but not equal: integrate with "
            "method='rk4', step_size=0.25 from t = 0 to t = 1, as the docstring asks"
        )
    raise Mistake(f"the loss is {value:.6f}; reverse_kl(CNF(PlanarCNF)) gives {want:.6f}")


# -- the variance of one Hutchinson probe ---------------------------------------------------


def exact_probe_variance(J, noise):
    """Var(eps^T J eps) computed without any formula for it: the expectation over eps is a
    finite sum that is exact for polynomials of eps of degree <= 5 in each entry.

    Rademacher: every sign vector in {-1, 1}^dim, each with weight 2^-dim. Gaussian: the
    three-point Gauss-Hermite rule (nodes 0, +-sqrt(3), weights 2/3, 1/6, 1/6), exact up
    to degree 5 per entry; (eps^T J eps)^2 has degree 4 in each.
    """
    if noise == "rademacher":
        nodes, weights = (-1.0, 1.0), (0.5, 0.5)
    else:
        nodes, weights = (-math.sqrt(3.0), 0.0, math.sqrt(3.0)), (1 / 6, 2 / 3, 1 / 6)
    grid = list(itertools.product(range(len(nodes)), repeat=J.shape[0]))
    eps = torch.tensor([[nodes[i] for i in idx] for idx in grid], dtype=J.dtype)
    w = torch.tensor([math.prod(weights[i] for i in idx) for idx in grid], dtype=J.dtype)
    value = torch.einsum("ni,ij,nj->n", eps, J.cpu(), eps)  # eps^T J eps at every node
    mean = (w * value).sum()
    return (w * (value - mean) ** 2).sum()


def _variance_cases():
    """Non-symmetric J with a non-zero diagonal and trace (so each named mistake gives
    another number), in 2, 3 and 4 dimensions, and a diagonal J (Rademacher: variance 0)."""
    gen = torch.Generator().manual_seed(77)
    cases = [torch.randn(d, d, generator=gen, dtype=F64) + 0.5 for d in (2, 3, 4)]
    cases.append(torch.diag(torch.tensor([0.7, -1.3, 0.4], dtype=F64)))
    return cases


def _variance_mistakes(J, noise):
    """(the number a typical slip gives, what the slip is) for one J and noise."""
    S = (J + J.T) / 2
    frob_S, diag_S = float((S**2).sum()), float((torch.diagonal(S) ** 2).sum())
    frob_J, diag_J = float((J**2).sum()), float((torch.diagonal(J) ** 2).sum())
    tr2 = float(torch.trace(J)) ** 2
    right = 2 * (frob_S - diag_S) if noise == "rademacher" else 2 * frob_S
    other = 2 * frob_S if noise == "rademacher" else 2 * (frob_S - diag_S)
    not_symmetric = 2 * (frob_J - diag_J) if noise == "rademacher" else 2 * frob_J
    if noise == "rademacher":
        why_other = (
            "that is the Gaussian probe's variance; a Rademacher eps_i^2 is exactly 1, so "
            "the diagonal of J adds nothing random"
        )
    else:
        why_other = (
            "that is the Rademacher probe's variance; a Gaussian eps_i^2 is random "
            "(E[eps_i^4] = 3, so Var(eps_i^2) = 2): the diagonal terms count"
        )
    return (
        (right + tr2, "that is the second moment E[(eps^T J eps)^2]; the variance "
         "subtracts the squared mean, (tr J)^2"),
        (other, why_other),
        (not_symmetric, "eps^T J eps = eps^T S eps with S = (J + J^T)/2: J_ij and J_ji "
         "multiply the same eps_i eps_j, so they add before squaring"),
        (right / 2, "a factor 2 is missing: the pair (i, j) appears twice in "
         "sum_ij S_ij eps_i eps_j, as S_ij and as S_ji"),
        (tr2, "that is (tr J)^2, the square of the mean, not the variance"),
    )  # fmt: skip


@exercise(
    "07.probe_variance",
    solution=lesson07.probe_variance,
    hints=(
        "Only the symmetric part counts: eps^T J eps = eps^T S eps with S = (J + J^T)/2. "
        "Write eps^T S eps = sum_i S_ii eps_i^2 + 2 sum_{i<j} S_ij eps_i eps_j.",
        "The terms of that sum are uncorrelated (E[eps_i^2 eps_j eps_k] = 0 for j != k). "
        "Var(eps_i eps_j) = 1 for i != j, so the cross terms give 4 sum_{i<j} S_ij^2 = "
        "2 (||S||_F^2 - sum_i S_ii^2).",
        "The diagonal terms: a Rademacher eps_i^2 is always 1 (variance 0); a Gaussian "
        "eps_i^2 has variance E[eps^4] - 1 = 2, adding 2 sum_i S_ii^2.",
    ),
)
def probe_variance(fn):
    """Lesson 07 exercise: ``fn(J, noise)`` returns the variance of Hutchinson's one-probe
    estimate eps^T J eps of tr(J), for a square ``J`` [dim, dim] (float64) and ``noise``
    "rademacher" (entries +-1) or "gaussian" (N(0, 1) entries), as a 0-dim tensor on J's
    dtype and device.

    Oracle: ``exact_probe_variance``, the expectation over eps as an exact finite sum (all
    sign vectors; a Gauss-Hermite rule), which uses no formula for the variance. Named
    mistakes: the second moment, the other noise's variance, J not symmetrised, a factor 2,
    the squared trace.
    """
    for J in _variance_cases():
        for noise in ("rademacher", "gaussian"):
            want = float(exact_probe_variance(J, noise))
            out = fn(J.clone(), noise)
            got = float(expect_tensor(out, f"the variance ({noise})", like=J, shape=()))
            if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
                continue
            where = f"{noise} noise, J = {[[round(x, 3) for x in row] for row in J.tolist()]}"
            for wrong, why in _variance_mistakes(J, noise):
                if math.isclose(got, wrong, rel_tol=1e-9, abs_tol=1e-12):
                    raise Mistake(f"({where}) {why}")
            raise Mistake(f"({where}) you predict {got:.6g}; the exact variance is {want:.6g}")
    return passed(
        "your variance equals the exact one, an expectation summed over every sign vector "
        "(Rademacher) and a Gauss-Hermite rule (Gaussian), for J in 2, 3 and 4 dimensions."
    )
