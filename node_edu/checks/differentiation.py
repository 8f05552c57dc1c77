"""Checkers for lessons 01 and 02."""

import math

import torch

from .base import CheckResult, _call


def central_difference(fn):
    """Lesson 01 exercise: ``fn(f, x, h)`` must return (f(x + h) - f(x - h)) / (2 h).

    Checked on exp, sin and log against their exact derivatives: the error must shrink
    like h^2 (a hundred times for h ten times smaller), which a forward difference (like h)
    or a missing factor 2 does not.
    """
    cases = [(math.exp, math.exp, 0.5), (math.sin, math.cos, 1.2), (math.log, lambda x: 1 / x, 2.0)]
    for f, dfdx, x in cases:
        exact = dfdx(x)
        approx = []
        for h in (1e-2, 1e-3):
            value, failure = _call(fn, f, x, h)
            if failure is not None:
                return failure
            try:
                approx.append(float(value))
            except (TypeError, ValueError):
                return CheckResult(False, f"return one number, got {type(value).__name__}")
        errors = [abs(a - exact) for a in approx]
        name = f.__name__
        if abs(approx[1] / exact - 2) < 1e-2:
            return CheckResult(False, f"for {name} you get twice the derivative: divide by 2h")
        if abs(approx[1] / exact - 0.5) < 1e-2:
            return CheckResult(False, f"for {name} you get half the derivative: check the 2h")
        if errors[1] > 1e-2 * max(1.0, abs(exact)):
            return CheckResult(
                False,
                f"for {name} at x = {x}, h = 1e-3 you return {approx[1]:.6g}, but the "
                f"derivative is {exact:.6g}",
            )
        ratio = errors[0] / max(errors[1], 1e-300)
        if ratio < 50:
            return CheckResult(
                False,
                f"for {name} the error fell only {ratio:.0f}x when h fell 10x; a central "
                "difference gains 100x (error ~ h^2). Did you use f(x) instead of f(x - h)?",
            )
    return CheckResult(True, "your central difference is second-order accurate (error ~ h^2).")


def tanh_layer_vjp(fn):
    """Lesson 02 exercise: for y = tanh(W @ x) (W: [m, n], x: [n]) and a cotangent v: [m],
    ``fn(W, x, v)`` returns ``(v^T dy/dx, v^T dy/dW)`` with shapes [n] and [m, n], without
    building a Jacobian. Checked against ``torch.func.vjp``."""
    gen = torch.Generator().manual_seed(1)
    for m, n in ((3, 5), (4, 2), (1, 1)):
        W = torch.randn(m, n, generator=gen, dtype=torch.float64)
        x = torch.randn(n, generator=gen, dtype=torch.float64)
        v = torch.randn(m, generator=gen, dtype=torch.float64)
        _, pullback = torch.func.vjp(lambda W, x: torch.tanh(W @ x), W, x)
        gW, gx = pullback(v)
        out, failure = _call(fn, W, x, v)
        if failure is not None:
            return failure
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return CheckResult(False, "return a pair (gradient for x, gradient for W)")
        mine_x, mine_W = (torch.as_tensor(a, dtype=torch.float64) for a in out)
        if mine_x.shape != gx.shape or mine_W.shape != gW.shape:
            return CheckResult(
                False,
                f"for m={m}, n={n} the shapes must be {tuple(gx.shape)} and "
                f"{tuple(gW.shape)} (like x and W), got {tuple(mine_x.shape)} and "
                f"{tuple(mine_W.shape)}",
            )
        if not torch.allclose(mine_W, gW, atol=1e-10):
            if torch.allclose(mine_W, torch.outer(v, x), atol=1e-10):
                return CheckResult(False, "v^T dy/dW is off: multiply v by tanh's slope 1 - y^2")
            return CheckResult(False, f"v^T dy/dW is wrong for m={m}, n={n}")
        if not torch.allclose(mine_x, gx, atol=1e-10):
            return CheckResult(False, f"v^T dy/dx is wrong for m={m}, n={n} (think W^T (...))")
    return CheckResult(True, "both pullbacks match torch.func.vjp, and no Jacobian was needed.")


_TORCH_OPS = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
    "neg": torch.neg,
    "matmul": torch.matmul,
    "sin": torch.sin,
    "cos": torch.cos,
    "exp": torch.exp,
    "log": torch.log,
    "tanh": torch.tanh,
    "power": lambda x, p: torch.pow(x, p),
    "sum": lambda x, axis=None, keepdims=False: (
        x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)
    ),
    "getitem": lambda x, index=None: x[index],
}


def _torch_adjoints(graph):
    """Replay an ``autodiff.Graph`` in torch and let autograd compute every node's adjoint
    (the oracle: it shares no derivative code with the engine)."""
    tensors = {}
    for node in graph.nodes:
        if node.prim is None:
            t = torch.tensor(node.value, dtype=torch.float64, requires_grad=True)
        else:
            args = [
                tensors[id(a)] if id(a) in tensors else torch.as_tensor(a, dtype=torch.float64)
                for a in node.inputs
            ]
            t = _TORCH_OPS[node.op](*args, **node.params)
            t.retain_grad()
        tensors[id(node)] = t
    tensors[id(graph.output)].backward(torch.ones_like(tensors[id(graph.output)]))
    return {n.label: tensors[id(n)].grad for n in graph.nodes}


def reverse_sweep_adjoints(graph, adjoints):
    """Lesson 01 exercise: ``adjoints`` maps every node label of ``graph`` (from
    ``ad.trace``, scalar output) to d output / d node, worked out by hand. Checked against
    torch autograd replaying the same graph."""
    truth = _torch_adjoints(graph)
    missing = [label for label in truth if label not in adjoints]
    if missing:
        return CheckResult(False, f"give an adjoint for every node; missing: {missing}")
    # Walk in reverse order, as the sweep does: the first wrong node is the one to fix.
    for node in reversed(graph.nodes):
        mine, right = adjoints[node.label], truth[node.label]
        try:
            ok = torch.allclose(torch.as_tensor(mine, dtype=torch.float64), right, atol=1e-10)
        except (TypeError, RuntimeError, ValueError):
            return CheckResult(False, f"the adjoint of {node.label} must be a number")
        if not ok:
            users = [c.label for c in graph.nodes if any(p is node for p in c.parents)]
            hint = (
                f"; {node.label} feeds {', '.join(users)}: add one term per use"
                if len(users) > 1
                else ""
            )
            return CheckResult(
                False, f"the adjoint of {node.label} ({node.op}) is not {mine!r}{hint}"
            )
    return CheckResult(True, "every adjoint matches the reverse sweep.")
