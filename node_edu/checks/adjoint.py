"""Checker for lesson 04: the augmented dynamics of the adjoint method."""

import torch

from ..solutions import lesson04
from .base import Mistake, exercise, expect_tensor, passed, unpack


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


_CASES = (  # (field, n, p, name in messages)
    (_mlp, 2, 42, "the MLP field"),
    (_linear, 3, 9, "the linear field A z"),
    (_time_dependent, 2, 3, "the time-dependent field"),
)


@exercise(
    "04.augmented_dynamics",
    solution=lesson04.aug_dynamics,
    hints=(
        "dz is simply f(t, z, theta). The other two are vector-Jacobian products with the "
        "same vector a.",
        "torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta) returns f's value and a "
        "pullback; pullback(a) returns (a^T df/dz, a^T df/dtheta) in one go.",
        "Mind the signs: da/dt = -a^T df/dz and da_theta/dt = -a^T df/dtheta.",
    ),
)
def augmented_dynamics(fn):
    """Lesson 04 exercise: ``fn(f, t, z, a, theta)`` returns ``(dz, da, da_theta)``, the
    right-hand side of the augmented ODE of Chen et al. (2018), Algorithm 1::

        dz/dt = f(t, z, theta),   da/dt = -a^T df/dz,   da_theta/dt = -a^T df/dtheta

    with shapes [n], [n] and [p] (z: [n], a: [n], theta: [p], t a 0-dim tensor). ``f`` may
    be called once only: one evaluation of f and ONE vector-Jacobian product give all
    three. Checked against ``torch.func.vjp`` on three fields (an MLP, a non-symmetric
    linear field, a time-dependent one) at random inputs.
    """
    gen = torch.Generator().manual_seed(4)
    for field, n, p, name in _CASES:
        _check_case(fn, field, n, p, name, gen)
    return passed(
        "your augmented dynamics match torch.func.vjp: one evaluation of f, one VJP, no Jacobian."
    )


def _check_case(fn, field, n, p, name, gen):
    """One random case; raises a Mistake when the answer is wrong."""
    dt = torch.float64
    t = torch.rand((), generator=gen, dtype=dt) * 2
    z, a = torch.randn(n, generator=gen, dtype=dt), torch.randn(n, generator=gen, dtype=dt)
    theta = torch.randn(p, generator=gen, dtype=dt)
    fz, pullback = torch.func.vjp(lambda z, theta: field(t, z, theta), z, theta)
    aJz, aJtheta = pullback(a)  # the oracle: a^T df/dz, a^T df/dtheta
    _, Jz_a = torch.func.jvp(lambda z: field(t, z, theta), (z,), (a,))  # J a, a common slip
    calls = []

    def f(tt, zz, th):
        calls.append(1)
        return field(tt, zz, th)

    inputs = (t.clone(), z.clone(), a.clone(), theta.clone())
    dz, da, da_theta = unpack(fn(f, *inputs), 3, "(dz, da, da_theta)")
    dz, da = expect_tensor(dz, "dz", like=z), expect_tensor(da, "da", like=z)
    da_theta = expect_tensor(da_theta, "da_theta", like=theta)
    if not all(torch.equal(x, y) for x, y in zip(inputs, (t, z, a, theta), strict=True)):
        raise Mistake("your function changed its inputs in place; do not")
    if not torch.allclose(dz, fz, atol=1e-10):
        raise Mistake(f"dz must be f(t, z, theta) itself; it is not for {name}")
    if torch.allclose(da, aJz, atol=1e-10) or torch.allclose(da_theta, aJtheta, atol=1e-10):
        raise Mistake(
            "a minus sign is missing: da/dt = -a^T df/dz and da_theta/dt = -a^T df/dtheta "
            "(Chen et al.'s sign, with a = dL/dz)",
        )
    if torch.allclose(da, -Jz_a, atol=1e-10) and not torch.allclose(Jz_a, aJz, atol=1e-10):
        raise Mistake(
            f"for {name} your da is -(df/dz) a, a Jacobian-vector product; the adjoint "
            "needs the vector-Jacobian product -a^T df/dz (the transpose)",
        )
    if not torch.allclose(da, -aJz, atol=1e-10):
        raise Mistake(f"da is not -a^T df/dz for {name}")
    if not torch.allclose(da_theta, -aJtheta, atol=1e-10):
        raise Mistake(f"da_theta is not -a^T df/dtheta for {name}")
    if len(calls) > 1:
        raise Mistake(
            f"f was called {len(calls)} times; once is enough: torch.func.vjp (or "
            "torch.autograd.grad with grad_outputs=a) returns f's value and, from one "
            "graph, both a^T df/dz and a^T df/dtheta",
        )
