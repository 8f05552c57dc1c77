"""Lesson 02's checkers accept the reference answers and name the typical mistakes."""

import torch

from node_edu import checks
from node_edu.solutions import lesson02


def _sum_answer(**slips):
    """The reference rules with some outputs replaced by a typical slip."""

    def answer(x, axis, y_bar, x_dot):
        right = dict(
            zip(("y", "x_bar", "y_dot"), lesson02.sum_rules(x, axis, y_bar, x_dot), strict=True)
        )
        right.update({k: slip(x, axis, y_bar, x_dot) for k, slip in slips.items()})
        return right["y"], right["x_bar"], right["y_dot"]

    return answer


def test_sum_rules_accepts_the_reference_and_autograd():
    assert checks.sum_rules(lesson02.sum_rules).ok

    def by_autograd(x, axis, y_bar, x_dot):  # an independent right answer
        dims = tuple(range(x.ndim)) if axis is None else axis
        x = x.clone().requires_grad_()
        y = x.sum(dim=dims)
        y.backward(y_bar)
        return y.detach(), x.grad, x_dot.sum(dim=dims)

    assert checks.sum_rules(by_autograd).ok

    def by_numpy_engine(x, axis, y_bar, x_dot):  # the course's engine: ad.sum's own rules
        import node_edu.autodiff as ad

        def total(x):
            return ad.sum(x, axis=axis)

        y, pullback = ad.vjp(total, x.numpy())
        (x_bar,) = pullback(y_bar.numpy())
        _, y_dot = ad.jvp(total, (x.numpy(),), (x_dot.numpy(),))
        return tuple(torch.as_tensor(a, dtype=x.dtype) for a in (y, x_bar, y_dot))

    assert checks.sum_rules(by_numpy_engine).ok


def test_sum_rules_names_typical_mistakes():
    cases = {
        "lines y_bar up with x's last axis": _sum_answer(
            x_bar=lambda x, axis, yb, xd: yb.expand(x.shape)
        ),
        "x_bar has y's shape": _sum_answer(x_bar=lambda x, axis, yb, xd: yb),
        "y_dot has x's shape": _sum_answer(y_dot=lambda x, axis, yb, xd: xd),
        "over every axis": _sum_answer(y_dot=lambda x, axis, yb, xd: xd.sum()),
        "y is not x summed": _sum_answer(y=lambda x, axis, yb, xd: x.sum() + 0 * yb),
        "x_bar disagrees": _sum_answer(
            x_bar=lambda x, axis, yb, xd: 2 * lesson02.sum_rules(x, axis, yb, xd)[1]
        ),
        "y_dot disagrees": _sum_answer(
            y_dot=lambda x, axis, yb, xd: 2 * lesson02.sum_rules(x, axis, yb, xd)[2]
        ),
        "a tuple of 3": lambda x, axis, yb, xd: lesson02.sum_rules(x, axis, yb, xd)[:2],
    }
    for words, answer in cases.items():
        result = checks.sum_rules(answer)
        assert not result.ok and words in result.message, (words, result.message)

    def in_the_given_order(x, axis, y_bar, x_dot):  # unsqueezed in the order given: (2, 0)
        axes = range(x.ndim) if axis is None else [axis] if isinstance(axis, int) else axis
        axes = [a % x.ndim for a in axes]
        x_bar = y_bar
        for a in axes:
            x_bar = x_bar.unsqueeze(a)
        return x.sum(dim=axes), x_bar.expand(x.shape), x_dot.sum(dim=axes)

    result = checks.sum_rules(in_the_given_order)
    assert not result.ok and "axis=(2, 0)" in result.message


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
