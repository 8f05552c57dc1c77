"""Checkers for lesson 02: the pullback of a tanh layer, the VJP of a per-class mean."""

import torch

from node_edu.checks.base import Mistake, exercise, expect_tensor, passed, unpack
from node_edu.solutions import lesson02


@exercise(
    "02.tanh_layer_vjp",
    solution=lesson02.tanh_layer_vjp,
    hints=(
        "tanh' = 1 - tanh^2 acts elementwise: first form g = v * (1 - y**2) with y = tanh(W x).",
        "y_i depends on x through sum_j W_ij x_j, so v^T dy/dx = W^T g; and on W_ij through "
        "W_ij x_j, so v^T dy/dW = outer(g, x).",
    ),
)
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
        gW, gx = pullback(v)  # the oracle
        mine_x, mine_W = unpack(fn(W.clone(), x.clone(), v.clone()), 2, "(v^T dy/dx, v^T dy/dW)")
        if isinstance(mine_x, torch.Tensor) and tuple(mine_x.shape) == (m, n) != (n,):
            raise Mistake("the pair is swapped: return (v^T dy/dx, v^T dy/dW), shapes [n], [m, n]")
        mine_x = expect_tensor(mine_x, "v^T dy/dx", like=x)
        mine_W = expect_tensor(mine_W, "v^T dy/dW", like=W)
        if not torch.allclose(mine_W, gW, atol=1e-10):
            if torch.allclose(mine_W, torch.outer(v, x), atol=1e-10):
                raise Mistake("v^T dy/dW is off: multiply v by tanh's slope 1 - y^2")
            raise Mistake(f"v^T dy/dW is wrong for m={m}, n={n}")
        if not torch.allclose(mine_x, gx, atol=1e-10):
            raise Mistake(f"v^T dy/dx is wrong for m={m}, n={n} (think W^T (...))")
    return passed("both pullbacks match torch.func.vjp, and no Jacobian was needed.")


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
