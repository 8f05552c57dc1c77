"""Lesson 08's checkers: the reference answers pass; each typical slip gets its own message."""

import math

import torch

import node_edu.checks.lesson08 as checks08
from node_edu.solutions import lesson08


def _resnet(h=None, steps=0, t_of=None, stack=False, inplace=False):
    """A ResNet forward pass with one slip: step h, extra blocks, block times, ..."""

    def resnet_forward(f, z0, depth, t1):
        step = t1 / depth if h is None else h(depth, t1)
        z, states = z0, [z0]
        for k in range(depth + steps):
            t = k * step if t_of is None else t_of(k, step)
            z = z + step * f(torch.tensor(t, dtype=z0.dtype), z)
            states.append(z)
        if inplace:
            z0.mul_(0)
        return torch.stack(states) if stack else z

    return resnet_forward


def test_resnet_reference_passes():
    result = checks08.resnet_forward(lesson08.resnet_forward)
    assert result.ok, result.message
    assert "Euler's method step for step" in str(result)


def test_resnet_slips_are_named():
    cases = [
        (_resnet(h=lambda n, t1: 1.0), "takes a step of 1"),
        (_resnet(h=lambda n, t1: 1.0 / n), "your step is 1/depth"),
        (_resnet(steps=1), "blocks; use exactly"),
        (_resnet(steps=-1), "blocks; use exactly"),
        (_resnet(t_of=lambda k, h: 0.0), "every block calls f at t = 0"),
        (_resnet(t_of=lambda k, h: float(k)), "block k calls f at t = k;"),
        (_resnet(t_of=lambda k, h: (k + 1) * h), "the end of its step"),
        (_resnet(stack=True), "return only the output of the last block"),
        (_resnet(inplace=True), "changed z0 in place"),
    ]
    for fn, words in cases:
        result = checks08.resnet_forward(fn)
        assert not result.ok and words in result.message, (words, result.message)


def test_resnet_exact_flow_and_other_wrong_answers_fail():
    import node_edu as ne

    def exact(f, z0, depth, t1):
        return ne.odeint(f, z0, torch.tensor([0.0, t1], dtype=z0.dtype), rtol=1e-10, atol=1e-12)[-1]

    result = checks08.resnet_forward(exact)
    assert not result.ok and "exact flow" in result.message
    result = checks08.resnet_forward(lambda f, z0, depth, t1: z0 + 0.1)
    assert not result.ok and "your output is off by" in result.message
    for bad in (math.nan, math.inf):
        result = checks08.resnet_forward(lambda f, z0, depth, t1, v=bad: torch.full_like(z0, v))
        assert not result.ok and "NaN or inf" in result.message


def _rnode(kind):
    """Regularised dynamics with one slip."""

    def regularised_dynamics(f, t, state, eps):
        z = state[:, :-2]
        dz = f(t, z)
        d = z.shape[1]
        (eJ,) = torch.autograd.grad(dz, z, eps, create_graph=kind != "no graph")
        kinetic = dz.pow(2).sum(1)
        jac = eJ.pow(2).sum(1)
        if kind == "swap":
            kinetic, jac = jac, kinetic
        elif kind == "norm":
            kinetic = kinetic.sqrt()
        elif kind == "mean":
            kinetic = kinetic / d
        elif kind == "trace":
            jac = (eJ * eps).sum(1)
        elif kind == "jvp":
            jac = torch.func.jvp(lambda zz: f(t, zz), (z.detach(),), (eps,))[1].pow(2).sum(1)
        elif kind == "exact":
            rows = [torch.autograd.grad(dz[:, i].sum(), z, create_graph=True)[0] for i in range(d)]
            jac = sum(r.pow(2).sum(1) for r in rows)
        elif kind == "jac norm":
            jac = jac.sqrt()
        elif kind == "jac mean":
            jac = jac / d
        elif kind == "dz of state":
            dz = dz + state[:, -1:]
        return torch.cat([dz, kinetic[:, None], jac[:, None]], dim=1)

    return regularised_dynamics


def test_regularised_reference_passes():
    result = checks08.regularised_dynamics(lesson08.regularised_dynamics)
    assert result.ok, result.message
    assert "match the closed-form Jacobian" in str(result)


def test_regularised_slips_are_named():
    cases = [
        ("swap", "the last two columns are swapped"),
        ("norm", "yours is ||f||"),
        ("mean", "yours is their mean"),
        ("trace", "Hutchinson's estimate of the trace"),
        ("jvp", "Jacobian-vector product"),
        ("exact", "the exact ||J||_F^2"),
        ("jac norm", "yours is ||eps^T J||"),
        ("jac mean", "sum the squares of eps^T J"),
        ("no graph", "create_graph=True"),
        ("dz of state", "must be dz/dt = f(t, z)"),
    ]
    for kind, words in cases:
        result = checks08.regularised_dynamics(_rnode(kind))
        assert not result.ok and words in result.message, (kind, result.message)


def test_regularised_wrong_kinds_fail():
    result = checks08.regularised_dynamics(lambda f, t, state, eps: state.detach().tolist())
    assert not result.ok and "must be a torch.Tensor" in result.message
    result = checks08.regularised_dynamics(lambda f, t, state, eps: f(t, state))
    assert not result.ok and "your function raised" in result.message  # f fed the accumulators
    result = checks08.regularised_dynamics(
        lambda f, t, state, eps: torch.full_like(state, math.nan)
    )
    assert not result.ok and "NaN or inf" in result.message
