"""Reference answers for lesson 02, VJP, JVP and Jacobians."""

import torch


def sum_rules(x, axis, y_bar, x_dot):
    """y = x summed over ``axis``, its reverse rule (x_bar) and its forward rule (y_dot)."""
    if axis is None:  # None: every axis
        axis = tuple(range(x.ndim))
    axes = sorted(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis))
    y = x.sum(dim=axes)
    x_bar = y_bar
    for a in axes:  # put each summed axis back with size 1, lowest first ...
        x_bar = x_bar.unsqueeze(a)
    x_bar = x_bar.expand(x.shape)  # ... then broadcast: x[i] gets the adjoint of its sum
    y_dot = x_dot.sum(dim=axes)  # the sum is linear: the tangent is summed the same way
    return y, x_bar, y_dot


def group_mean_vjp(x, labels, n_classes, g):
    """Per-class means m [C, D] of x [N, D] and the VJP g^T dm/dx [N, D], no Jacobian."""
    ones = torch.ones(len(labels), dtype=x.dtype, device=x.device)
    counts = torch.zeros(n_classes, dtype=x.dtype, device=x.device).index_add_(0, labels, ones)
    counts = counts.clamp(min=1)  # an empty class: mean 0, not 0 / 0
    sums = torch.zeros(n_classes, x.shape[1], dtype=x.dtype, device=x.device)
    m = sums.index_add_(0, labels, x) / counts[:, None]
    x_bar = (g / counts[:, None])[labels]  # sample i gets its class's g / count: a gather
    return m, x_bar
