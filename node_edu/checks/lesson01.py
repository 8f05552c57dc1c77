"""Checkers for lesson 01: a central difference, a reverse sweep by hand, a new primitive."""

import math

import torch

from node_edu.checks.base import Mistake, exercise, expect_number, expect_tensor, passed, unpack
from node_edu.solutions import lesson01


@exercise(
    "01.central_difference",
    solution=lesson01.central_difference,
    hints=(
        "Take one step forward, f(x + h), and one step back, f(x - h).",
        "The two points are 2 h apart: divide their difference by 2 h.",
    ),
)
def central_difference(fn):
    """Lesson 01 exercise: ``fn(f, x, h)`` returns (f(x + h) - f(x - h)) / (2 h).

    Checked on exp, sin and log against their exact derivatives: the error must shrink
    like h^2 (a hundred times for h ten times smaller), which a forward difference (like h)
    or a missing factor 2 does not.
    """
    cases = [(math.exp, math.exp, 0.5), (math.sin, math.cos, 1.2), (math.log, lambda x: 1 / x, 2.0)]
    for f, dfdx, x in cases:
        exact = dfdx(x)
        approx = [expect_number(fn(f, x, h), f"your result for h = {h:g}") for h in (1e-2, 1e-3)]
        errors = [abs(a - exact) for a in approx]
        name = f.__name__
        if abs(approx[1] / exact - 2) < 1e-2:
            raise Mistake(f"for {name} you get twice the derivative: divide by 2h")
        if abs(approx[1] / exact - 0.5) < 1e-2:
            raise Mistake(f"for {name} you get half the derivative: check the 2h")
        if errors[1] > 1e-2 * max(1.0, abs(exact)):
            raise Mistake(
                f"for {name} at x = {x}, h = 1e-3 you return {approx[1]:.6g}, but the "
                f"derivative is {exact:.6g}"
            )
        ratio = errors[0] / max(errors[1], 1e-300)
        if ratio < 50:
            raise Mistake(
                f"for {name} the error fell only {ratio:.0f}x when h fell 10x; a central "
                "difference gains 100x (error ~ h^2). Did you use f(x) instead of f(x - h)?"
            )
    return passed("your central difference is second-order accurate (error ~ h^2).")


_OPS = {"input": None, "log": torch.log, "mul": torch.mul, "add": torch.add}
_OPS.update(sin=torch.sin, sub=torch.sub, cos=torch.cos, exp=torch.exp, tanh=torch.tanh)


def _baydin_graph():
    import node_edu.autodiff as ad

    return ad.trace(lambda x1, x2: ad.log(x1) + x1 * x2 - ad.sin(x2), 2.0, 5.0)


def _torch_adjoints(graph, x1, x2):
    """Replay the graph of f = ln x1 + x1 x2 - sin x2 in torch at (x1, x2) and let autograd
    compute every node's adjoint (the oracle: it shares no derivative code with the engine)."""
    tensors = {}
    inputs = iter((x1, x2))
    for node in graph.nodes:
        if node.prim is None:
            t = torch.tensor(next(inputs), dtype=torch.float64, requires_grad=True)
        else:
            t = _OPS[node.op](*(tensors[id(a)] for a in node.inputs))
            t.retain_grad()
        tensors[id(node)] = t
    tensors[id(graph.output)].backward()
    return {n.label: float(tensors[id(n)].grad) for n in graph.nodes}


@exercise(
    "01.reverse_sweep",
    solution=lesson01.reverse_sweep,
    hints=(
        "Start at the output: the adjoint of v5 is 1. v5 = v3 - v4 sends +1 to v3 and -1 "
        "to v4; v3 = v1 + v2 sends its adjoint to both.",
        "A node's adjoint is the sum over its children c of (adjoint of c) times "
        "dc/d(node): v4 = sin(x2) sends a['v4'] * cos(x2) to x2.",
        "x1 feeds two nodes (ln x1 and x1 x2), and so does x2 (x1 x2 and sin x2): add one "
        "term per use.",
    ),
)
def reverse_sweep(fn):
    """Lesson 01 exercise: ``fn(x1, x2)`` returns a dict mapping every node label of the
    graph of f = ln x1 + x1 x2 - sin x2 ("x1", "x2", "v1" ... "v5", as ``ad.trace`` names
    them) to its adjoint d f / d node at (x1, x2), worked out by hand. Checked at (2, 5)
    and two other points against torch autograd replaying the same graph."""
    graph = _baydin_graph()
    for x1, x2 in ((2.0, 5.0), (0.7, -1.3), (3.1, 0.4)):
        truth = _torch_adjoints(graph, x1, x2)
        adjoints = fn(x1, x2)
        if not isinstance(adjoints, dict):
            raise Mistake(f"return a dict {{label: adjoint}}, got {type(adjoints).__name__}")
        missing = [label for label in truth if label not in adjoints]
        if missing:
            raise Mistake(f"give an adjoint for every node; missing: {missing}")
        # Walk in reverse order, as the sweep does: the first wrong node is the one to fix.
        for node in reversed(graph.nodes):
            mine = expect_number(adjoints[node.label], f"the adjoint of {node.label}")
            if not math.isclose(mine, truth[node.label], rel_tol=1e-9, abs_tol=1e-12):
                users = [c.label for c in graph.nodes if any(p is node for p in c.parents)]
                hint = (
                    f"; {node.label} feeds {', '.join(users)}: add one term per use"
                    if len(users) > 1
                    else ""
                )
                raise Mistake(
                    f"at (x1, x2) = ({x1}, {x2}) the adjoint of {node.label} ({node.op}) "
                    f"is not {mine:.6g}{hint}"
                )
    return passed("every adjoint matches the reverse sweep, at three points.")


def _close(a, b):
    return torch.allclose(a, b, rtol=1e-9, atol=1e-12)


@exercise(
    "01.pow_rules",
    solution=lesson01.pow_rules,
    hints=(
        "Two partial derivatives do all the work: dy/dx = p x^(p-1) and dy/dp = x^p ln x "
        "(write x^p = exp(p ln x) and differentiate in p).",
        "The reverse rule multiplies the output's adjoint y_bar by each partial derivative: "
        "x_bar = y_bar dy/dx, p_bar = y_bar dy/dp.",
        "The forward rule adds the contributions of both input tangents: "
        "y_dot = dy/dx x_dot + dy/dp p_dot.",
    ),
)
def pow_rules(fn):
    """Lesson 01 exercise: ``fn(x, p, y_bar, x_dot, p_dot)`` (five float64 tensors of one
    shape, x > 0) returns ``(y, x_bar, p_bar, y_dot)``: the primitive y = x ** p with a
    traced exponent, its reverse rule (the adjoints of x and p for the output adjoint
    y_bar) and its forward rule (the output tangent for the input tangents x_dot, p_dot).
    Checked on random inputs against ``torch.func.vjp`` and ``torch.func.jvp`` of
    ``torch.pow``.
    """
    gen = torch.Generator().manual_seed(101)
    for shape in ((6,), (2, 3), ()):
        x = 0.3 + 2.5 * torch.rand(shape, generator=gen, dtype=torch.float64)
        p = 4 * torch.rand(shape, generator=gen, dtype=torch.float64) - 1.5
        y_bar, x_dot, p_dot = (
            torch.randn(shape, generator=gen, dtype=torch.float64) for _ in "abc"
        )
        y_true, pullback = torch.func.vjp(torch.pow, x, p)
        x_true, p_true = pullback(y_bar)  # the oracle for the reverse rule
        _, dot_true = torch.func.jvp(torch.pow, (x, p), (x_dot, p_dot))  # ... the forward rule
        inputs = [t.clone() for t in (x, p, y_bar, x_dot, p_dot)]
        out = unpack(fn(*inputs), 4, "(y, x_bar, p_bar, y_dot)")
        names = ("y", "x_bar", "p_bar", "y_dot")
        y, x_bar, p_bar, y_dot = (
            expect_tensor(t, name, like=x) for t, name in zip(out, names, strict=True)
        )
        _diagnose(x, p, y_bar, x_dot, p_dot, y, x_bar, p_bar, y_dot)
        if not _close(y, y_true):
            raise Mistake("y is not x ** p")
        if not (_close(x_bar, x_true) and _close(p_bar, p_true)):
            raise Mistake(f"the reverse rule disagrees with torch.func.vjp (shape {list(shape)})")
        if not _close(y_dot, dot_true):
            raise Mistake(f"the forward rule disagrees with torch.func.jvp (shape {list(shape)})")
    return passed("your primitive's reverse and forward rules match torch.func.vjp and jvp.")


def _diagnose(x, p, y_bar, x_dot, p_dot, y, x_bar, p_bar, y_dot):
    """Name the typical slips, each compared with what the slip would give."""
    dy_dx, dy_dp = p * x ** (p - 1), x**p * torch.log(x)
    if _close(x_bar, y_bar * p * x**p):
        raise Mistake("x_bar: the power drops by one, dy/dx = p x^(p-1), not p x^p")
    if _close(x_bar, y_bar * dy_dp) and _close(p_bar, y_bar * dy_dx):
        raise Mistake("x_bar and p_bar are swapped")
    if _close(x_bar, dy_dx) or _close(p_bar, dy_dp):
        raise Mistake("the reverse rule must multiply by the output's adjoint y_bar")
    if _close(p_bar, torch.zeros_like(p)):
        raise Mistake("p_bar is zero, but p is traced too: dy/dp = x^p ln x")
    if _close(y_dot, dy_dx * x_dot) or _close(y_dot, dy_dp * p_dot):
        raise Mistake("y_dot: the forward rule adds the tangents of BOTH inputs")
    if _close(y_dot, y_bar * dy_dx + y_bar * dy_dp) or _close(y_dot, x_bar + p_bar):
        raise Mistake("y_dot uses y_bar; the forward rule uses the tangents x_dot and p_dot")
