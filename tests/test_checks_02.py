"""Lesson 02's checkers accept the reference answers and name the typical mistakes."""

import torch

from node_edu import checks
from node_edu.solutions import lesson02


def test_tanh_layer_vjp_accepts_the_reference_and_autograd():
    assert checks.tanh_layer_vjp(lesson02.tanh_layer_vjp).ok

    def by_autograd(W, x, v):  # an independent right answer
        W, x = W.clone().requires_grad_(), x.clone().requires_grad_()
        torch.tanh(W @ x).backward(v)
        return x.grad, W.grad

    assert checks.tanh_layer_vjp(by_autograd).ok


def test_tanh_layer_vjp_names_typical_mistakes():
    no_slope = checks.tanh_layer_vjp(lambda W, x, v: (W.T @ v, torch.outer(v, x)))
    assert not no_slope.ok and "1 - y^2" in no_slope.message
    swapped = checks.tanh_layer_vjp(lambda W, x, v: lesson02.tanh_layer_vjp(W, x, v)[::-1])
    assert not swapped.ok and "swapped" in swapped.message
    single = checks.tanh_layer_vjp(lambda W, x, v: lesson02.tanh_layer_vjp(W, x, v)[0])
    assert not single.ok and "a tuple of 2" in single.message

    def wrong_x(W, x, v):
        gx, gW = lesson02.tanh_layer_vjp(W, x, v)
        return 2 * gx, gW

    bad_x = checks.tanh_layer_vjp(wrong_x)
    assert not bad_x.ok and "dy/dx is wrong" in bad_x.message


def test_group_mean_vjp_accepts_the_reference_and_autograd_through_scatter_reduce():
    assert checks.group_mean_vjp(lesson02.group_mean_vjp).ok

    def by_scatter_reduce(x, labels, n_classes, g):  # an independent right answer
        x = x.clone().requires_grad_()
        index = labels[:, None].expand_as(x)
        zeros = x.new_zeros(n_classes, x.shape[1])
        m = zeros.scatter_reduce(0, index, x, reduce="mean", include_self=False)
        (x_bar,) = torch.autograd.grad(m, x, g)
        return m.detach(), x_bar

    assert checks.group_mean_vjp(by_scatter_reduce).ok


def test_group_mean_vjp_names_typical_mistakes():
    def means(x, labels, n_classes, g):
        return lesson02.group_mean_vjp(x, labels, n_classes, g)[0]

    as_sum = checks.group_mean_vjp(lambda x, l, C, g: (means(x, l, C, g), g[l]))
    assert not as_sum.ok and "per-class SUM" in as_sum.message
    by_n = checks.group_mean_vjp(lambda x, l, C, g: (means(x, l, C, g), g[l] / len(l)))
    assert not by_n.ok and "not by the number of samples" in by_n.message

    def zero_over_zero(x, labels, n_classes, g):
        ones = torch.ones(len(labels), dtype=x.dtype)
        counts = torch.zeros(n_classes, dtype=x.dtype).index_add_(0, labels, ones)
        m = torch.zeros(n_classes, x.shape[1], dtype=x.dtype).index_add_(0, labels, x)
        return m / counts[:, None], (g / counts[:, None])[labels]

    nan = checks.group_mean_vjp(zero_over_zero)
    assert not nan.ok and "no sample" in nan.message and "clamp" in nan.message
    wrong_m = checks.group_mean_vjp(lambda x, l, C, g: (2 * means(x, l, C, g), g[l]))
    assert not wrong_m.ok and "means m are wrong" in wrong_m.message
    wrong = checks.group_mean_vjp(lambda x, l, C, g: (means(x, l, C, g), x))
    assert not wrong.ok and "disagrees with torch.func.jacrev" in wrong.message
