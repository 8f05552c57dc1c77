"""The lesson 04 checker: the reference answer passes, each typical mistake is named."""

import pytest
import torch

import node_edu as ne
import node_edu.checks.lesson04 as checks04
from node_edu.checks.base import Mistake
from node_edu.checks.lesson04 import (
    _CASES,
    _mlp,
    _rk4,
    _run_running_cost,
    adjoint_function,
    running_cost,
)
from node_edu.solutions import lesson04

DT = torch.float64


# -- 04.running_cost ----------------------------------------------------------------------


def reference(f, g, t, z, a, theta):
    fz, pullback = torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta)
    a_dfdz, a_dfdtheta = pullback(a)
    return fz, -a_dfdz - torch.func.grad(g)(z), -a_dfdtheta


def with_autograd_grad(f, g, t, z, a, theta):  # the other idiom: autograd.grad, grad_outputs
    z, theta = z.detach().requires_grad_(), theta.detach().requires_grad_()
    with torch.enable_grad():
        fz = f(t, z, theta)
        a_dfdz, a_dfdtheta = torch.autograd.grad(fz, (z, theta), grad_outputs=a)
        (dg,) = torch.autograd.grad(g(z), z)
    return fz.detach(), -a_dfdz - dg, -a_dfdtheta


def test_running_cost_references_pass():
    for answer in (lesson04.running_cost_dynamics, reference, with_autograd_grad):
        result = running_cost(answer)
        assert result.ok and "correct" in str(result), result


def test_running_cost_run_agrees_with_backprop_and_can_fail():
    # The run's two routes agree to RK4's O(h^4) for the right dynamics ...
    assert _run_running_cost(reference) < 1e-7

    # ... and not for dynamics right at the checked points but wrong in between (here: t
    # ignored, which the pointwise check of the time-dependent field alone would catch).
    def frozen_time(f, g, t, z, a, theta):
        return reference(f, g, torch.zeros_like(t), z, a, theta)

    mlp_time = lambda t, z, theta: (1 + t) * _mlp(t, z, theta)  # noqa: E731
    try:
        checks04._mlp = mlp_time
        with pytest.raises(Mistake, match="integrated backwards"):
            _run_running_cost(frozen_time)
    finally:
        checks04._mlp = _mlp


def _variant(*, g_sign=-1.0, with_g=True, jvp=False, aJ_sign=-1.0, theta_sign=-1.0):
    def answer(f, g, t, z, a, theta):
        fz, pullback = torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta)
        aJ, aJ_theta = pullback(a)
        if jvp:
            aJ = torch.func.jvp(lambda z: f(t, z, theta), (z,), (a,))[1]
        dg = torch.func.grad(g)(z) if with_g else 0 * z
        return fz, aJ_sign * aJ + g_sign * dg, theta_sign * aJ_theta

    return answer


@pytest.mark.parametrize(
    "answer, words",
    [
        (_variant(g_sign=1.0), "the sign of dg/dz"),
        (_variant(with_g=False), "dg/dz is missing"),
        (_variant(jvp=True), "Jacobian-vector product"),
        (_variant(aJ_sign=1.0, g_sign=1.0), "both terms need a minus sign"),
        (_variant(aJ_sign=1.0), "a minus sign is missing: da/dt"),
        (_variant(theta_sign=1.0), "a minus sign is missing: da_theta/dt"),
        (lambda f, g, t, z, a, theta: (f(t, z, theta) + 1e-3, *reference(f, g, t, z, a, theta)[1:]),
         "dz must be f"),
        (lambda f, g, t, z, a, theta: (*reference(f, g, t, z, a, theta)[:2], 2 * theta),
         "da_theta is not"),
        (lambda f, g, t, z, a, theta: reference(f, g, torch.zeros_like(t), z, a, theta),
         "time-dependent field"),
        (lambda f, g, t, z, a, theta: (*reference(f, g, t, z, a, theta)[:2], z),
         "da_theta must have shape"),
        (lambda f, g, t, z, a, theta: z, "a tuple of 3"),
        (lambda f, g, t, z, a, theta: {}["oops"], "KeyError"),
    ],
)  # fmt: skip
def test_running_cost_slips_are_named(answer, words):
    result = running_cost(answer)
    assert not result.ok and words in result.message, result.message


def test_running_cost_in_place_change_is_refused():
    def mutates(f, g, t, z, a, theta):
        out = reference(f, g, t, z, a, theta)
        a.zero_()
        return out

    result = running_cost(mutates)
    assert not result.ok and "in place" in result.message


def test_aug_dynamics_of_the_lesson_matches_jacobians():
    # lesson04.aug_dynamics is no exercise now, but adjoint_rk4 and the lesson use it.
    gen = torch.Generator().manual_seed(0)
    for field, n, p, _ in _CASES:
        t = torch.tensor(0.7, dtype=DT)
        z, a = torch.randn(n, generator=gen, dtype=DT), torch.randn(n, generator=gen, dtype=DT)
        theta = torch.randn(p, generator=gen, dtype=DT)
        dz, da, da_theta = lesson04.aug_dynamics(field, t, z, a, theta)
        Jz, Jtheta = torch.func.jacrev(field, argnums=(1, 2))(t, z, theta)
        assert torch.allclose(dz, field(t, z, theta), rtol=0, atol=1e-14)
        assert torch.allclose(da, -Jz.T @ a, rtol=1e-12, atol=1e-13)
        assert torch.allclose(da_theta, -Jtheta.T @ a, rtol=1e-12, atol=1e-13)


# -- 04.adjoint_function ------------------------------------------------------------------


def make_adjoint(*, sign=1.0, backwards=True, method="rk4", jvp=False, theta_too=True,
                 integrate=True, negate=False):  # fmt: skip
    """A student's adjoint_rk4 with one slip switched on (all off: a right answer)."""

    def adjoint_rk4(f, z0, theta, t0, t1, n_steps):
        h = (t1 - t0) / n_steps

        class Adjoint(torch.autograd.Function):
            @staticmethod
            def forward(ctx, z0, theta):
                t = torch.tensor([t0, t1], dtype=z0.dtype)
                z1 = ne.odeint(lambda t, z: f(t, z, theta), z0, t, method="rk4", step_size=h)
                ctx.save_for_backward(z1[-1], theta)
                return z1[-1]

            @staticmethod
            def backward(ctx, a1):
                z1, theta = ctx.saved_tensors
                n = z1.numel()
                if not integrate:
                    return a1, torch.ones_like(theta)

                def g(t, s):
                    z, a = s[:n], s[n : 2 * n]
                    dz, da, da_theta = lesson04.aug_dynamics(f, t, z, a, theta)
                    if jvp:
                        da = -torch.func.jvp(lambda z: f(t, z, theta), (z,), (a,))[1]
                    return torch.cat([dz, sign * da, sign * da_theta * theta_too])

                s1 = torch.cat([z1, a1, torch.zeros_like(theta)])
                times = torch.tensor([t1, t0] if backwards else [t0, t1], dtype=z1.dtype)
                kw = dict(step_size=h) if method == "rk4" else dict(rtol=1e-10, atol=1e-12)
                s0 = ne.odeint(g, s1, times, method=method, **kw)[-1]
                out = s0[n : 2 * n], s0[2 * n :]
                return tuple(-x for x in out) if negate else out

        return Adjoint.apply(z0, theta)

    return adjoint_rk4


def test_adjoint_function_references_pass():
    for answer in (lesson04.adjoint_rk4, make_adjoint()):
        result = adjoint_function(answer)
        assert result.ok, result


@pytest.mark.parametrize(
    "slip, words",
    [
        (dict(integrate=False), "equals the incoming a(t1)"),
        (dict(negate=True), "a sign is flipped"),
        (dict(sign=-1.0), "sign of da/dt is flipped"),
        (dict(backwards=False), "ran forward in time"),
        (dict(jvp=True), "Jacobian-vector product"),
        (dict(theta_too=False), "dL/dtheta is zero"),
        (dict(method="dopri5"), "not the RK4 adjoint on the same grid"),
    ],
)
def test_adjoint_function_slips_are_named(slip, words):
    result = adjoint_function(make_adjoint(**slip))
    assert not result.ok and result.attempted and words in result.message, result


def _backprop(f, z0, theta, t0, t1, n_steps):
    grid = torch.tensor([t0, t1], dtype=z0.dtype)
    h = (t1 - t0) / n_steps
    return ne.odeint(lambda t, z: f(t, z, theta), z0, grid, method="rk4", step_size=h)[-1]


def test_adjoint_function_refuses_backprop_the_library_and_no_graph():
    assert "backprop through ne.odeint" in adjoint_function(_backprop).message

    def library(f, z0, theta, t0, t1, n_steps):
        grid = torch.tensor([t0, t1], dtype=z0.dtype)
        return ne.odeint_adjoint(lambda t, z: f(t, z, theta), z0, grid, params=[theta],
                                 method="rk4", step_size=(t1 - t0) / n_steps)[-1]  # fmt: skip

    assert "library's ne.odeint_adjoint" in adjoint_function(library).message
    assert "carries no graph" in adjoint_function(lambda *a: _backprop(*a).detach()).message
    wrong_steps = adjoint_function(lambda f, z0, th, t0, t1, n: _backprop(f, z0, th, t0, t1, 4))
    assert "RK4 steps from t0 to t1" in wrong_steps.message


def test_adjoint_function_backward_that_raises_or_returns_none():
    def answer(kind):
        def adjoint_rk4(f, z0, theta, t0, t1, n_steps):
            class Adjoint(torch.autograd.Function):
                @staticmethod
                def forward(ctx, z0, theta):
                    return _backprop(f, z0, theta, t0, t1, n_steps)

                @staticmethod
                def backward(ctx, a1):
                    if kind == "stub":
                        raise NotImplementedError
                    if kind == "none":
                        return a1, None
                    raise KeyError("oops")

            return Adjoint.apply(z0, theta)

        return adjoint_rk4

    stub = adjoint_function(answer("stub"))
    assert not stub.attempted and "still raises NotImplementedError" in stub.message
    assert "your backward" in stub.message
    assert "dL/dtheta is None" in adjoint_function(answer("none")).message
    raised = adjoint_function(answer("raise")).message
    assert "raised KeyError: 'oops' (while autograd ran your backward)" in raised


@pytest.mark.parametrize("case", _CASES, ids=[c[3] for c in _CASES])
def test_the_checkers_backprop_oracle_matches_finite_differences(case):
    # The checker's oracle (autograd through ne.odeint's RK4) against central differences
    # of the same map, on every field; and the adjoint within RK4's O(h^4) of both.
    field, n, p, _ = case
    gen = torch.Generator().manual_seed(7)
    z0, theta = (
        torch.randn(n, generator=gen, dtype=DT),
        0.5 * torch.randn(p, generator=gen, dtype=DT),
    )
    a1, u = torch.randn(n, generator=gen, dtype=DT), torch.randn(p, generator=gen, dtype=DT)
    th = theta.clone().requires_grad_()
    (bp,) = torch.autograd.grad(_rk4(field, z0, th), th, a1)
    eps = 1e-6
    fd = a1 @ (_rk4(field, z0, theta + eps * u) - _rk4(field, z0, theta - eps * u)) / (2 * eps)
    assert abs(bp @ u - fd) < 1e-7 * (1 + abs(fd))
    th = theta.clone().requires_grad_()
    (adj,) = torch.autograd.grad(lesson04.adjoint_rk4(field, z0, th, 0.0, 1.0, 16), th, a1)
    assert torch.allclose(adj, bp, atol=1e-5) and not torch.equal(adj, bp)
