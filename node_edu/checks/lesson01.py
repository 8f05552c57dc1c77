"""Checkers for lesson 01: the bottom of the central difference's V, a reverse sweep by hand,
a new primitive."""

import math

import numpy as np
import torch

from node_edu.checks.base import Mistake, exercise, expect_number, expect_tensor, passed, unpack
from node_edu.solutions import lesson01

# The functions the V is measured on: (name, g, g', x, |g(x)|, |g'''(x)|). Each g keeps a
# float32 input in float32 (numpy ufuncs, Python floats). Their |g| / |g'''| span 1/27 to
# 1100, so a prediction without that ratio misses at least one of them.
_V_CASES = (
    ("ln x + 5x - sin 5", lambda x: np.log(x) + x * 5.0 - math.sin(5.0),
     lambda x: 1 / x + 5.0, 2.0, math.log(2.0) + 10.0 - math.sin(5.0), 2 / 2.0**3),
    ("exp(3x)", lambda x: np.exp(3.0 * x), lambda x: 3 * np.exp(3 * x), 1.0,
     math.exp(3.0), 27 * math.exp(3.0)),
    ("1000 + sin x", lambda x: 1000.0 + np.sin(x), np.cos, 0.5, 1000 + math.sin(0.5),
     math.cos(0.5)),
    ("sin x", np.sin, np.cos, 1.0, math.sin(1.0), math.cos(1.0)),
    ("x^4 / 100", lambda x: x**4 / 100.0, lambda x: 4 * x**3 / 100, 3.0, 0.81, 0.72),
)  # fmt: skip
DTYPES = ("float64", "float32")
H_FACTOR = 4.0  # the predicted best step must be within this factor of the measured one
ERROR_RANGE = (0.5, 20.0)  # predicted / measured error at the bottom (the model: 2 to 7)


def measured_v_bottoms():
    """{(function name, dtype name): (h_best, error_best)} of the central difference on
    every case, measured with ``ad.finite_difference_optimum`` (RMS over 64 points)."""
    from node_edu.autodiff import finite_difference_optimum

    return {
        (name, dtype): finite_difference_optimum(g, dg, x, np.dtype(dtype), "central")
        for name, g, dg, x, _, _ in _V_CASES
        for dtype in DTYPES
    }


@exercise(
    "01.central_best_step",
    solution=lesson01.central_best_step,
    hints=(
        "Truncation: write g(x + h) and g(x - h) by Taylor's theorem up to h^3. In their "
        "difference the even powers cancel; divided by 2h, what is left beside g'(x) is "
        "h^2 / 6 * g'''(x).",
        "Round-off: g(x + h) and g(x - h) are each off by about eps |g(x)|; in the worst "
        "case the two errors add up, and the difference is divided by 2h: eps |g| / h.",
        "E(h) = h^2 / 6 * g3 + eps * g0 / h. Solve dE/dh = h g3 / 3 - eps g0 / h^2 = 0 for "
        "h; the error there is E at that h.",
    ),
)
def central_best_step(fn):
    """Lesson 01 exercise: ``fn(g0, g3, eps)`` predicts the bottom of the central
    difference's V, ``(h_best, error_best)``, from |g(x)|, |g'''(x)| and the machine epsilon.

    Checked against the V measured on five functions in float64 and float32
    (``measured_v_bottoms``): the step must be within a factor 4 of the measured best step
    and the error within 0.5 to 20 times the measured one (the round-off model is a worst
    case: the reference prediction lies 2 to 7 times above the measurement).
    """
    predicted = {}
    for name, _, _, _, g0, g3 in _V_CASES:
        for dtype in DTYPES:
            eps = float(np.finfo(dtype).eps)
            out = unpack(fn(g0, g3, eps), 2, "(h_best, error_best)")
            h = expect_number(out[0], f"h_best for {name} in {dtype}")
            error = expect_number(out[1], f"error_best for {name} in {dtype}")
            if h <= 0 or error <= 0:
                raise Mistake(
                    f"for {name} in {dtype} you predict h = {h:g} and an error of {error:g}; "
                    "both must be > 0"
                )
            predicted[name, dtype] = (h, error)
    measured = measured_v_bottoms()
    _diagnose_step(predicted, measured)
    low, high = ERROR_RANGE
    for (name, dtype), (h, error) in predicted.items():
        h_meas, error_meas = measured[name, dtype]
        if not 1 / H_FACTOR <= h / h_meas <= H_FACTOR:
            raise Mistake(
                f"{name} in {dtype}: you predict the best step {h:.2g}; the measured V "
                f"bottoms out at h = {h_meas:.2g}"
            )
        if not low <= error / error_meas <= high:
            raise Mistake(
                f"{name} in {dtype}: your best step is right, but you predict an error of "
                f"{error:.2g} there and the V's bottom is {error_meas:.2g}: evaluate your "
                "E(h), truncation plus round-off, at your best h"
            )
    ratios = [h / measured[key][0] for key, (h, _) in predicted.items()]
    spread = max(max(ratios), 1 / min(ratios))
    return passed(
        f"your error model finds the bottom of all ten Vs (each best step within a factor "
        f"{spread:.1f} of the measured one)."
    )


def _diagnose_step(predicted, measured):
    """Name the typical slips: the forward difference's sqrt(eps), a missing |g| / |g'''|."""
    eps_ratio = math.log(np.finfo("float64").eps / np.finfo("float32").eps)
    for name, *_ in _V_CASES:
        (h64, _), (h32, _) = predicted[name, "float64"], predicted[name, "float32"]
        power = math.log(h64 / h32) / eps_ratio
        if abs(power - 0.5) < 0.05:
            raise Mistake(
                f"for {name} your step grows like eps^{power:.2f}: that is the forward "
                "difference's sqrt(eps). The central difference's truncation error falls "
                "like h^2, not h: balance h^2 against eps / h"
            )
        if abs(power - 1 / 3) > 0.05:
            raise Mistake(
                f"for {name} your step grows like eps^{power:.2f} from float32 to float64; "
                "balancing a truncation error ~ h^2 against a round-off error ~ eps / h "
                "gives h ~ eps^(1/3)"
            )
    by_scale = sorted(_V_CASES, key=lambda case: case[4] / case[5])  # |g| / |g'''|
    small, large = by_scale[0][0], by_scale[-1][0]
    seen = predicted[large, "float64"][0] / predicted[small, "float64"][0]
    real = measured[large, "float64"][0] / measured[small, "float64"][0]
    if not real / H_FACTOR**2 <= seen <= real * H_FACTOR**2:
        raise Mistake(
            f"your best step for {large} is {seen:.2g} times the one for {small}; the "
            f"measured Vs say {real:.2g} times. Round-off grows with |g(x)| and truncation "
            "with |g'''(x)|: the best step depends on their ratio"
        )


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
