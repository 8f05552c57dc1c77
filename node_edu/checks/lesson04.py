"""Checkers for lesson 04, the adjoint method.

* ``running_cost(fn)``: the augmented dynamics of a running cost L = int g(z(t)) dt,
  (f, -a^T df/dz - dg/dz, -a^T df/dtheta), against Jacobians built by ``torch.func.jacrev``
  and, integrated backwards, against backprop through the solver.
* ``adjoint_function(fn)``: a fixed-step RK4 adjoint written as a ``torch.autograd.Function``,
  against backprop through the same solver, finite differences and ``ne.odeint_adjoint``.
"""

import torch

from node_edu.adjoint import odeint_adjoint
from node_edu.checks.base import (
    Mistake,
    NotAttempted,
    StudentCode,
    exercise,
    expect_tensor,
    passed,
    unpack,
)
from node_edu.solutions import lesson04
from node_edu.solvers import odeint


def _mlp(t, z, theta):
    """A small MLP field with weights packed in one flat theta [2*8 + 8 + 8*2 + 2 = 42]."""
    W1, b1 = theta[:16].view(8, 2), theta[16:24]
    W2, b2 = theta[24:40].view(2, 8), theta[40:42]
    return W2 @ torch.tanh(W1 @ z + b1) + b2


def _linear(t, z, theta):
    """dz/dt = A z with a non-symmetric A = theta.view(3, 3): a^T A differs from A a."""
    return theta.view(3, 3) @ z


def _time_dependent(t, z, theta):
    """A field that depends on t, so the checker sees t is passed through."""
    return torch.sin(t * theta[:2]) * z + theta[2] * z.flip(0) ** 2


_T0, _T1, _STEPS = 0.0, 1.0, 16  # the interval and RK4 steps of the solves checked

_CASES = (  # (field, n, p, name in messages)
    (_mlp, 2, 42, "the MLP field"),
    (_linear, 3, 9, "the linear field A z"),
    (_time_dependent, 2, 3, "the time-dependent field"),
)


def _g_square(z):
    return (z**2).sum() / 2


def _g_logcosh(z):
    return torch.log(torch.cosh(z - 0.3)).sum()


def _g_mixed(z):
    return z[0] * z[-1] + torch.sin(z).sum()


_COSTS = {_mlp: _g_logcosh, _linear: _g_mixed, _time_dependent: _g_square}


def _jacobians(field, t, z, theta):
    """df/dz [n, n] and df/dtheta [n, p], built whole by torch.func.jacrev (the oracle)."""
    return torch.func.jacrev(field, argnums=(1, 2))(t, z, theta)


@exercise(
    "04.running_cost",
    solution=lesson04.running_cost_dynamics,
    hints=(
        "Perturb z at time t by dz and follow it: it changes L by the cost still to come, "
        "integral_t^t1 dg/dz dz(s) ds. Ask a(t)^T dz(t) to be that. Then d/dt (a^T dz) must "
        "be -dg/dz dz, and with d(dz)/dt = df/dz dz you can read off da/dt.",
        "da/dt = -a^T df/dz - dg/dz; da_theta/dt = -a^T df/dtheta is unchanged, and so is "
        "dz/dt = f. Nothing is read at t1 itself, so a(t1) = 0.",
        "fz, pullback = torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta); "
        "a_dfdz, a_dfdtheta = pullback(a); dg_dz = torch.func.grad(g)(z); return fz, "
        "-a_dfdz - dg_dz, -a_dfdtheta.",
    ),
)
def running_cost(fn):
    """Lesson 04 exercise: ``fn(f, g, t, z, a, theta)`` returns ``(dz, da, da_theta)``, the
    augmented dynamics for a running cost L = integral_{t0}^{t1} g(z(t)) dt::

        dz/dt = f,   da/dt = -a^T df/dz - dg/dz,   da_theta/dt = -a^T df/dtheta

    (with a(t1) = 0 and a_theta(t1) = 0), shapes [n], [n], [p]. Checked pointwise against
    Jacobians built whole by ``torch.func.jacrev`` on three fields and costs, then run:
    integrated backwards with RK4, the answer's dL/dz0 and dL/dtheta must match backprop
    through an RK4 solve that accumulates the cost (to RK4's O(h^4)). A sign on dg/dz,
    a missing dg/dz, J a instead of a^T J and missing minus signs are named.
    """
    gen = torch.Generator().manual_seed(4)
    for field, n, p, name in _CASES:
        _check_running_case(fn, field, _COSTS[field], n, p, name, gen)
    gap = _run_running_cost(fn)
    return passed(
        "your dynamics match the Jacobians, and integrated backwards from a(t1) = 0 they "
        f"give backprop's dL/dz0 and dL/dtheta for the running cost (largest gap {gap:.1e}, "
        "RK4's O(h^4))."
    )


def _check_running_case(fn, field, g, n, p, name, gen):
    """One random point; raises a Mistake when the answer is wrong there."""
    dt = torch.float64
    t = torch.rand((), generator=gen, dtype=dt) * 2
    z, a = torch.randn(n, generator=gen, dtype=dt), torch.randn(n, generator=gen, dtype=dt)
    theta = torch.randn(p, generator=gen, dtype=dt)
    Jz, Jtheta = _jacobians(field, t, z, theta)
    z_leaf = z.clone().requires_grad_()
    (dg,) = torch.autograd.grad(g(z_leaf), z_leaf)  # dg/dz by autograd
    inputs = (t.clone(), z.clone(), a.clone(), theta.clone())
    dz, da, da_theta = unpack(fn(field, g, *inputs), 3, "(dz, da, da_theta)")
    dz, da = expect_tensor(dz, "dz", like=z), expect_tensor(da, "da", like=z)
    da_theta = expect_tensor(da_theta, "da_theta", like=theta)
    if not all(torch.equal(x, y) for x, y in zip(inputs, (t, z, a, theta), strict=True)):
        raise Mistake("your function changed its inputs in place; do not")

    def near(x, y):
        return torch.allclose(x, y, rtol=1e-9, atol=1e-10)

    if not near(dz, field(t, z, theta)):
        raise Mistake(f"dz must be f(t, z, theta) itself; it is not for {name}")
    aJ = Jz.T @ a  # a^T df/dz, as a column
    if not near(da, -aJ - dg):
        for wrong, why in (
            (-aJ + dg, "the sign of dg/dz: da/dt = -a^T df/dz - dg/dz. Then d/dt (a^T dz) = "
             "-dg/dz dz, so a(t)^T dz(t) is the cost still to come after t"),
            (-aJ, "dg/dz is missing: that is the adjoint of a loss read at t1 only; a cost "
             "read at every instant pulls on a at every instant"),
            (-Jz @ a - dg, f"for {name} your da uses (df/dz) a, a Jacobian-vector product; "
             "the adjoint needs the vector-Jacobian product a^T df/dz"),
            (aJ + dg, "both terms need a minus sign: da/dt = -a^T df/dz - dg/dz"),
            (aJ - dg, "a minus sign is missing: da/dt = -a^T df/dz - dg/dz"),
        ):  # fmt: skip
            if near(da, wrong) and not near(wrong, -aJ - dg):
                raise Mistake(why)
        raise Mistake(f"da is not -a^T df/dz - dg/dz for {name}")
    if not near(da_theta, -Jtheta.T @ a):
        if near(da_theta, Jtheta.T @ a):
            raise Mistake("a minus sign is missing: da_theta/dt = -a^T df/dtheta")
        raise Mistake(
            f"da_theta is not -a^T df/dtheta for {name} (g does not depend on theta, so the "
            "cost adds nothing here)"
        )


_RUN_STEPS = 32


def _run_running_cost(fn):
    """dL/dz0, dL/dtheta of L = int_0^1 g(z) dt for the MLP field: the answer's dynamics
    integrated backwards (RK4, a(1) = 0) against backprop through RK4 of [z, cost so far]."""
    dt, n, p = torch.float64, 2, 42
    gen = torch.Generator().manual_seed(44)
    z0 = torch.randn(n, generator=gen, dtype=dt)
    theta = 0.5 * torch.randn(p, generator=gen, dtype=dt)
    g, h = _g_logcosh, (_T1 - _T0) / _RUN_STEPS
    z0_, theta_ = z0.clone().requires_grad_(), theta.clone().requires_grad_()

    def forward(t, s):  # [z | cost accumulated so far]
        return torch.cat([_mlp(t, s[:n], theta_), g(s[:n]).reshape(1)])

    s0 = torch.cat([z0_, torch.zeros(1, dtype=dt)])
    grid = torch.tensor([_T0, _T1], dtype=dt)
    s1 = odeint(forward, s0, grid, method="rk4", step_size=h)[-1]
    bp_z0, bp_theta = torch.autograd.grad(s1[-1], (z0_, theta_))

    def backward(t, s):
        return torch.cat(fn(_mlp, g, t, s[:n], s[n : 2 * n], theta))

    start = torch.cat([s1[:n].detach(), torch.zeros(n + p, dtype=dt)])  # a(t1) = 0
    back = odeint(backward, start, grid.flip(0), method="rk4", step_size=h)[-1]
    g_z0, g_theta = back[n : 2 * n], back[2 * n :]
    gap = max(float((g_z0 - bp_z0).abs().max()), float((g_theta - bp_theta).abs().max()))
    if not gap < 1e-6:
        raise Mistake(
            "pointwise right, yet integrated backwards from a(t1) = 0 your dynamics give "
            f"gradients {gap:.1e} away from backprop's: is f called with the t it is given?"
        )
    return gap


# -- 04.adjoint_function: the adjoint as a torch.autograd.Function --------------------------


def _rk4(field, z0, theta, n_steps=_STEPS):
    """z(t1) by fixed-step RK4 through ne.odeint, recorded by autograd (backprop)."""
    grid = torch.tensor([_T0, _T1], dtype=z0.dtype)
    h = (_T1 - _T0) / n_steps
    return odeint(lambda t, z: field(t, z, theta), z0, grid, method="rk4", step_size=h)[-1]


def _graph_nodes(out):
    """Every node of the autograd graph behind ``out``."""
    seen, todo = [], [out.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or any(node is s for s in seen):
            continue
        seen.append(node)
        todo.extend(nxt for nxt, _ in node.next_functions)
    return seen


@exercise(
    "04.adjoint_function",
    solution=lesson04.adjoint_rk4,
    timeout=30.0,  # three cases, each solved four ways: a few seconds on a busy laptop
    hints=(
        "Inside adjoint_rk4 define class Adjoint(torch.autograd.Function) with two "
        "@staticmethods, forward(ctx, z0, theta) and backward(ctx, a1), and end with "
        "`return Adjoint.apply(z0, theta)`.",
        "forward: z1 = ne.odeint(lambda t, z: f(t, z, theta), z0, torch.tensor([t0, t1], "
        "dtype=z0.dtype), method='rk4', step_size=h)[-1]; ctx.save_for_backward(z1, theta); "
        "return z1. No graph is recorded inside forward.",
        "backward: with n = z1.numel(), g(t, s) = torch.cat(ne.solutions.lesson04."
        "aug_dynamics(f, t, s[:n], s[n:2*n], theta)) is the augmented field; solve it with "
        "ne.odeint from s1 = [z1 | a1 | 0] over torch.tensor([t1, t0]) (backwards, same rk4 "
        "step) and return (s0[n:2*n], s0[2*n:]): dL/dz0 and dL/dtheta, in forward's order.",
    ),
)
def adjoint_function(fn):
    """Lesson 04 exercise: ``fn(f, z0, theta, t0, t1, n_steps)`` returns z(t1) of
    dz/dt = f(t, z, theta) after ``n_steps`` RK4 steps, through a ``torch.autograd.Function``
    whose backward integrates the augmented system (z, a, a_theta) from t1 back to t0.

    Checked on three fields (an MLP, a non-symmetric linear field, a time-dependent one):
    z(t1) against ``ne.odeint(method="rk4")``; the graph holds the student's own Function
    (not autograd's record of the solver, not ``ne.odeint_adjoint``); the gradients
    against backprop through the same RK4 solver and central finite differences (both
    independent of any adjoint: they agree with it to O(h^4)), and against the RK4 adjoint
    on the same grid (``ne.odeint_adjoint``), which does the same arithmetic.
    """
    gen = torch.Generator().manual_seed(40)
    for field, n, p, name in (_CASES[1], _CASES[0], _CASES[2]):  # linear first: it names slips
        _check_function_case(fn, field, n, p, name, gen)
    return passed(
        "your torch.autograd.Function gives z(t1) of RK4 and, from its backward alone, the "
        "gradients of backprop and of finite differences (to RK4's O(h^4)), and those of "
        "ne.odeint_adjoint on the same grid to round-off."
    )


def _check_function_case(fn, field, n, p, name, gen):
    dt = torch.float64
    z0 = torch.randn(n, generator=gen, dtype=dt)
    theta = 0.5 * torch.randn(p, generator=gen, dtype=dt)
    a1 = torch.randn(n, generator=gen, dtype=dt)
    z0_, theta_ = z0.clone().requires_grad_(), theta.clone().requires_grad_()
    out = fn(field, z0_, theta_, _T0, _T1, _STEPS)
    z1 = expect_tensor(out, "z(t1)", like=z0)
    with torch.no_grad():
        expected = _rk4(field, z0, theta)
    if not torch.allclose(z1, expected, rtol=1e-10, atol=1e-12):
        raise Mistake(
            f"for {name}, z(t1) is not {_STEPS} RK4 steps from t0 to t1: forward must return "
            "ne.odeint(..., method='rk4', step_size=(t1 - t0) / n_steps)[-1]"
        )
    if out.grad_fn is None:
        raise Mistake(
            "z(t1) carries no graph, so no gradient can flow: return Adjoint.apply(z0, theta), "
            "the output of your torch.autograd.Function"
        )
    nodes = _graph_nodes(out)
    functions = [
        node for node in nodes if isinstance(node, torch.autograd.function.BackwardCFunction)
    ]
    if not functions:
        raise Mistake(
            f"the graph of z(t1) is autograd's record of every solver step ({len(nodes)} "
            "nodes): that is backprop through ne.odeint. Write a torch.autograd.Function whose "
            "backward solves the adjoint"
        )
    if all(node.name() == "_OdeintAdjointBackward" for node in functions):
        raise Mistake("that is the library's ne.odeint_adjoint; write your own Function")
    grads = _backward(out, (z0_, theta_), a1)
    g_z0 = expect_tensor(grads[0], "dL/dz0", like=z0)
    g_theta = expect_tensor(grads[1], "dL/dtheta", like=theta)
    _judge(field, name, z0, theta, a1, g_z0, g_theta)


def _backward(out, inputs, a1):
    """The student's backward, run by autograd; its failures become results."""
    try:  # StudentCode turns NotImplementedError and other exceptions into results
        grads = StudentCode(torch.autograd.grad)(out, inputs, a1, allow_unused=True)
    except (Mistake, NotAttempted) as why:
        raise type(why)(f"{why} (while autograd ran your backward)") from None
    for g, what in zip(grads, ("dL/dz0", "dL/dtheta"), strict=True):
        if g is None:
            raise Mistake(
                f"{what} is None: backward must return one gradient per input of forward, "
                "in forward's order: (dL/dz0, dL/dtheta)"
            )
    return grads


def _judge(field, name, z0, theta, a1, g_z0, g_theta):
    """Compare the student's gradients with the oracles; name the usual slips."""
    z0_, theta_ = z0.clone().requires_grad_(), theta.clone().requires_grad_()
    bp_z0, bp_theta = torch.autograd.grad(_rk4(field, z0_, theta_), (z0_, theta_), a1)
    grid = torch.tensor([_T0, _T1], dtype=z0.dtype)
    z_lib = odeint_adjoint(lambda t, z: field(t, z, theta_), z0_, grid, params=[theta_],
                           method="rk4", step_size=(_T1 - _T0) / _STEPS)[-1]  # fmt: skip
    adj_z0, adj_theta = torch.autograd.grad(z_lib, (z0_, theta_), a1)

    def near(x, y, tol=1e-5):
        return torch.allclose(x, y, rtol=tol, atol=tol)

    if near(g_z0, a1, 1e-10) and not near(adj_z0, a1, 1e-10):
        raise Mistake(
            "dL/dz0 equals the incoming a(t1): the adjoint must be integrated from t1 back "
            "to t0 (da/dt = -a^T df/dz) before it is returned"
        )
    if near(g_z0, -bp_z0) or near(g_theta, -bp_theta):
        raise Mistake(
            "a sign is flipped: a(t1) = +dL/dz(t1), a_theta(t1) = 0, and the augmented "
            "dynamics da/dt = -a^T df/dz, da_theta/dt = -a^T df/dtheta run from t1 to t0"
        )
    if near(g_theta, torch.zeros_like(g_theta), 1e-12):
        raise Mistake(
            "dL/dtheta is zero: a_theta must be integrated along with z and a (it starts "
            "at 0 at t1 and ends at dL/dtheta at t0)"
        )
    if field is _linear:
        A, T = theta.view(3, 3), _T1 - _T0
        if near(g_z0, torch.linalg.matrix_exp(A * T) @ a1, 1e-4):
            raise Mistake(
                "dL/dz0 is e^{A T} a: the backward used J a (a Jacobian-vector product); "
                "the adjoint needs the vector-Jacobian product a^T J"
            )
        if near(g_z0, torch.linalg.matrix_exp(-A.T * T) @ a1, 1e-4):
            raise Mistake(
                "dL/dz0 is e^{-A^T T} a, not e^{A^T T} a: either the sign of da/dt is "
                "flipped (it is -a^T df/dz) or the augmented system ran forward in time "
                "(integrate it from t1 back to t0: times torch.tensor([t1, t0]))"
            )
    # Finite differences of the RK4 map, one random direction for z0 and one for theta.
    gen = torch.Generator().manual_seed(41)
    v, u = (
        torch.randn(z0.shape, generator=gen, dtype=z0.dtype),
        torch.randn(theta.shape, generator=gen, dtype=z0.dtype),
    )
    eps = 1e-6
    with torch.no_grad():
        fd_z0 = (
            a1 @ (_rk4(field, z0 + eps * v, theta) - _rk4(field, z0 - eps * v, theta)) / (2 * eps)
        )
        fd_th = (
            a1 @ (_rk4(field, z0, theta + eps * u) - _rk4(field, z0, theta - eps * u)) / (2 * eps)
        )
    agrees = near(g_z0, bp_z0) and near(g_theta, bp_theta)
    agrees = agrees and near(g_z0 @ v, fd_z0) and near(g_theta @ u, fd_th)
    if not agrees:
        raise Mistake(
            f"for {name} your gradients differ from backprop through the same RK4 solver "
            f"(dL/dz0 {g_z0.tolist()} against {bp_z0.tolist()}), more than RK4's O(h^4)"
        )
    if not (near(g_z0, adj_z0, 1e-9) and near(g_theta, adj_theta, 1e-9)):
        raise Mistake(
            f"for {name} your gradients are close to backprop's but are not the RK4 adjoint on "
            "the same grid: integrate the augmented system with method='rk4' and "
            "step_size=(t1 - t0) / n_steps, from t1 to t0"
        )
