"""Checkers for lesson 02: the rules of a sum over an axis, the VJP of a per-class mean."""

import torch

from node_edu.checks.base import Mistake, exercise, expect_tensor, passed, unpack
from node_edu.solutions import lesson02

_SUM_CASES = (  # (shape of x, axis): a square first, where a wrongly aligned y_bar still fits
    ((4, 4), 1),
    ((3, 5), 0),
    ((2, 3, 4), -2),
    ((2, 3, 4), (0, 2)),
    ((2, 3, 4), (2, 0)),
    ((3, 4), None),
)


def _sum_oracle(x, axis, y_bar, x_dot):
    """torch.sum's own rules, through torch.func: the reference the answer is held to."""
    dims = tuple(range(x.ndim)) if axis is None else axis

    def total(x):
        return torch.sum(x, dim=dims)

    y, pullback = torch.func.vjp(total, x)
    (x_bar,) = pullback(y_bar)
    _, y_dot = torch.func.jvp(total, (x,), (x_dot,))
    return y, x_bar, y_dot


@exercise(
    "02.sum_rules",
    solution=lesson02.sum_rules,
    hints=(
        "y[i] = sum over j of x[i, j] (for axis = 1): each x[i, j] enters exactly one output, "
        "y[i], with weight 1. So x_bar[i, j] = y_bar[i]: every entry gets the adjoint of "
        "the sum it went into.",
        "y_bar has y's shape, without the summed axes. Put each summed axis back with size 1 "
        "(y_bar.unsqueeze(a), lowest axis first), then broadcast to x's shape "
        "(.expand(x.shape)). Broadcasting y_bar against x directly lines it up with x's "
        "last axes, which is wrong unless the summed axes are the first ones.",
        "The sum is linear, so its forward rule is the sum itself: y_dot = x_dot summed over "
        "the same axes. Turn a negative axis a into a % x.ndim, and None into every axis.",
    ),
)
def sum_rules(fn):
    """Lesson 02 exercise: ``fn(x, axis, y_bar, x_dot)`` returns ``(y, x_bar, y_dot)`` for the
    primitive y = x summed over ``axis`` (an int, a tuple of ints, negative ones too, or
    None for every axis): the sum, its reverse rule (x_bar, x's shape) and its forward rule
    (y_dot, y's shape). Checked against ``torch.func.vjp`` and ``torch.func.jvp`` of
    ``torch.sum`` on six shapes and axes, a square matrix first."""
    gen = torch.Generator().manual_seed(7)
    for shape, axis in _SUM_CASES:
        x, x_dot = (torch.randn(shape, generator=gen, dtype=torch.float64) for _ in "ab")
        y_shape = torch.sum(x, dim=tuple(range(x.ndim)) if axis is None else axis).shape
        y_bar = torch.randn(y_shape, generator=gen, dtype=torch.float64)
        y_true, x_bar_true, y_dot_true = _sum_oracle(x, axis, y_bar, x_dot)
        where = f"x of shape {list(shape)}, axis={axis!r}"
        try:
            out = fn(x.clone(), axis, y_bar.clone(), x_dot.clone())
        except Mistake as mistake:  # an exception in the student's code: say for which case
            raise Mistake(f"{mistake} (for {where})") from None
        y, x_bar, y_dot = unpack(out, 3, "(y, x_bar, y_dot)")
        y = expect_tensor(y, f"y ({where})", like=y_true)
        if not torch.allclose(y, y_true, rtol=1e-12, atol=1e-12):
            raise Mistake(f"y is not x summed over axis {axis!r} ({where})")
        _diagnose_sum(x, y_bar, x_bar, y_dot, y_true, x_bar_true, where)
        x_bar = expect_tensor(x_bar, f"x_bar ({where})", like=x_bar_true)
        if not torch.allclose(x_bar, x_bar_true, rtol=1e-12, atol=1e-12):
            raise Mistake(f"x_bar disagrees with torch.func.vjp of torch.sum ({where})")
        y_dot = expect_tensor(y_dot, f"y_dot ({where})", like=y_dot_true)
        if not torch.allclose(y_dot, y_dot_true, rtol=1e-12, atol=1e-12):
            raise Mistake(f"y_dot disagrees with torch.func.jvp of torch.sum ({where})")
    return passed(
        "your sum over an axis broadcasts its adjoint back and sums its tangent, as "
        "torch.func.vjp and jvp do, for every axis tried."
    )


def _diagnose_sum(x, y_bar, x_bar, y_dot, y_true, x_bar_true, where):
    """Name the typical slips before the general comparison (answers on x's device only)."""
    x_bar, y_dot = (
        t if isinstance(t, torch.Tensor) and t.device == x.device else None for t in (x_bar, y_dot)
    )
    if x_bar is not None and x_bar.shape == x.shape and y_bar.dim() > 0:
        try:
            misaligned = y_bar.expand(x.shape)  # y_bar broadcast against x's last axes
        except RuntimeError:  # the shapes do not broadcast: no such slip possible here
            misaligned = x_bar_true
        wrong = not torch.allclose(misaligned, x_bar_true)  # right when the first axes summed
        if wrong and torch.allclose(x_bar.detach().double(), misaligned):
            raise Mistake(
                f"x_bar lines y_bar up with x's last axis ({where}): x_bar[i, j] must be "
                "the adjoint of the sum that x[i, j] went into. Put the summed axis back "
                "first (y_bar.unsqueeze(axis)), then broadcast"
            )
    if x_bar is not None and x_bar.shape == y_true.shape != x.shape:
        raise Mistake(
            f"x_bar has y's shape {list(y_true.shape)} ({where}); the reverse rule returns "
            f"one adjoint per entry of x, shape {list(x.shape)}: broadcast y_bar back"
        )
    if y_dot is not None and y_dot.shape == x.shape != y_true.shape:
        raise Mistake(
            f"y_dot has x's shape ({where}); the output's tangent has y's shape "
            f"{list(y_true.shape)}: the sum is linear, so sum x_dot over the same axes"
        )
    if y_dot is not None and y_dot.dim() == 0 and y_true.dim() > 0:
        raise Mistake(f"y_dot sums x_dot over every axis ({where}); sum over the given axes only")


def _means_by_mask(x, labels, n_classes):
    """The oracle's per-class means: one boolean mask per class (no index_add_), 0 if empty."""
    rows = [
        x[labels == c].mean(0) if (labels == c).any() else x.new_zeros(x.shape[1])
        for c in range(n_classes)
    ]
    return torch.stack(rows)


_GROUP_CASES = (  # (N samples, D features, C classes, classes left empty)
    (7, 3, 3, ()),
    (9, 2, 5, (1, 4)),
    (1, 4, 2, (0,)),
)


@exercise(
    "02.group_mean_vjp",
    solution=lesson02.group_mean_vjp,
    hints=(
        "Count each class with index_add_ (add a 1 at labels[i]) and sum each class's rows "
        "of x the same way; the means are sums / counts. Clamp the counts to at least 1 so "
        "an empty class has mean 0, not 0 / 0.",
        "Each m[c] = sum_{i in c} x[i] / n_c, so dm[c]/dx[i] is 1 / n_c for the samples of "
        "class c and 0 for the others: g^T dm/dx sends g[c] / n_c to every sample of class c.",
        "Sending row c of a [C, D] tensor to every sample of class c is indexing (a gather): "
        "(g / counts[:, None])[labels].",
    ),
)
def group_mean_vjp(fn):
    """Lesson 02 exercise: ``fn(x, labels, n_classes, g)`` with x: [N, D] float64, labels:
    [N] int64 in [0, C), n_classes = C and an adjoint g: [C, D] returns ``(m, x_bar)``: the
    per-class means m: [C, D] (0 for a class without samples) and the VJP
    x_bar = g^T dm/dx: [N, D], computed without forming the [C, D, N, D] Jacobian. Checked
    against ``torch.func.jacrev`` of a mean built from boolean masks, on cases with empty
    classes and a single sample."""
    gen = torch.Generator().manual_seed(2)
    for N, D, C, empty in _GROUP_CASES:
        full = [c for c in range(C) if c not in empty]
        labels = torch.tensor(full)[torch.randint(0, len(full), (N,), generator=gen)]
        labels[: len(full)] = torch.tensor(full)[: min(N, len(full))]  # every other class used
        x = torch.randn(N, D, generator=gen, dtype=torch.float64)
        g = torch.randn(C, D, generator=gen, dtype=torch.float64)
        J = torch.func.jacrev(_means_by_mask)(x, labels, C)  # [C, D, N, D]
        m_true, x_bar_true = _means_by_mask(x, labels, C), torch.einsum("cd,cdne->ne", g, J)
        m, x_bar = unpack(fn(x.clone(), labels.clone(), C, g.clone()), 2, "(m, x_bar)")
        if isinstance(m, torch.Tensor) and m.shape == (C, D) and empty:
            if not torch.isfinite(m[list(empty)]).all():
                raise Mistake(
                    f"class {empty[0]} has no sample: its count is 0 and 0 / 0 is NaN. Give an "
                    "empty class the mean 0 (clamp the counts to at least 1)."
                )
        m = expect_tensor(m, "m", like=g)
        x_bar = expect_tensor(x_bar, "x_bar", like=x)
        if not torch.allclose(m, m_true, atol=1e-12):
            raise Mistake(f"the means m are wrong (N={N}, C={C})")
        _diagnose_group(x_bar, x_bar_true, g, labels, N)
    return passed("your per-class means and their VJP match torch.func.jacrev, with no Jacobian.")


def _diagnose_group(x_bar, x_bar_true, g, labels, N):
    if torch.allclose(x_bar, x_bar_true, atol=1e-12):
        return
    if torch.allclose(x_bar, g[labels], atol=1e-12):
        raise Mistake("x_bar is the VJP of the per-class SUM: divide each class's g by its count")
    if torch.allclose(x_bar, g[labels] / N, atol=1e-12):
        raise Mistake("divide by the size of the sample's class, not by the number of samples N")
    raise Mistake("x_bar disagrees with torch.func.jacrev")
