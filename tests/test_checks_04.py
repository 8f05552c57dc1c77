"""The lesson 04 checker: the reference answer passes, each typical mistake is named."""

import pytest
import torch

import node_edu as ne
from node_edu.checks.lesson04 import _CASES, _rk4, adjoint_function, augmented_dynamics
from node_edu.solutions import lesson04

DT = torch.float64


def reference(f, t, z, a, theta):
    fz, pullback = torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta)
    a_dfdz, a_dfdtheta = pullback(a)
    return fz, -a_dfdz, -a_dfdtheta


def with_autograd_grad(f, t, z, a, theta):  # the other idiom: autograd.grad, grad_outputs=a
    z, theta = z.detach().requires_grad_(), theta.detach().requires_grad_()
    with torch.enable_grad():
        fz = f(t, z, theta)
        a_dfdz, a_dfdtheta = torch.autograd.grad(fz, (z, theta), grad_outputs=a)
    return fz.detach(), -a_dfdz, -a_dfdtheta


def test_reference_answers_pass():
    for answer in (reference, with_autograd_grad):
        result = augmented_dynamics(answer)
        assert result.ok, result
        assert "correct" in str(result)


def test_missing_minus_sign_is_named():
    def no_sign(f, t, z, a, theta):
        fz, da, da_theta = reference(f, t, z, a, theta)
        return fz, -da, -da_theta

    result = augmented_dynamics(no_sign)
    assert not result.ok and "minus sign" in result.message


def test_jacobian_vector_product_instead_of_vector_jacobian_product_is_named():
    def jvp_instead(f, t, z, a, theta):
        fz, _, da_theta = reference(f, t, z, a, theta)
        J = torch.func.jacrev(lambda z: f(t, z, theta))(z)
        return fz, -(J @ a), da_theta

    result = augmented_dynamics(jvp_instead)
    assert not result.ok and "Jacobian-vector product" in result.message


def test_calling_f_twice_is_refused():
    def twice(f, t, z, a, theta):
        f(t, z, theta)
        return reference(f, t, z, a, theta)

    result = augmented_dynamics(twice)
    assert not result.ok and "called 2 times" in result.message


def test_wrong_shapes_and_wrong_values_are_caught():
    def flat_theta_missing(f, t, z, a, theta):
        fz, da, _ = reference(f, t, z, a, theta)
        return fz, da, da  # a_theta with z's shape

    result = augmented_dynamics(flat_theta_missing)
    assert not result.ok and "da_theta must have shape" in result.message

    def wrong_dz(f, t, z, a, theta):
        fz, da, da_theta = reference(f, t, z, a, theta)
        return fz + 1e-3, da, da_theta

    result = augmented_dynamics(wrong_dz)
    assert not result.ok and "dz must be f" in result.message

    def wrong_theta(f, t, z, a, theta):
        fz, da, da_theta = reference(f, t, z, a, theta)
        return fz, da, 2 * da_theta

    result = augmented_dynamics(wrong_theta)
    assert not result.ok and "da_theta is not" in result.message

    def time_ignored(f, t, z, a, theta):  # evaluates f at t = 0
        return reference(f, torch.zeros_like(t), z, a, theta)

    assert not augmented_dynamics(time_ignored).ok


def test_bad_returns_raising_and_in_place_changes_are_reported():
    assert "a tuple of 3" in augmented_dynamics(lambda f, t, z, a, theta: z).message

    def raises(f, t, z, a, theta):
        raise KeyError("oops")

    result = augmented_dynamics(raises)
    assert not result.ok and "KeyError" in result.message

    def mutates(f, t, z, a, theta):
        out = reference(f, t, z, a, theta)
        a.zero_()
        return out

    result = augmented_dynamics(mutates)
    assert not result.ok and "in place" in result.message


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
