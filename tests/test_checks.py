"""Exercise checkers accept the reference answers and reject typical wrong ones."""

import math

import torch

from node_edu import checks


def central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_central_difference_accepts_the_reference_answer():
    result = checks.central_difference(central)
    assert result.ok and bool(result)
    assert str(result).startswith("\u2714 correct")


def test_central_difference_rejects_typical_mistakes_with_a_hint():
    forward = checks.central_difference(lambda f, x, h: (f(x + h) - f(x)) / h)
    assert not forward.ok and "h^2" in forward.message and str(forward).startswith("\u2718")
    double = checks.central_difference(lambda f, x, h: (f(x + h) - f(x - h)) / h)
    assert not double.ok and "twice" in double.message
    wrong = checks.central_difference(lambda f, x, h: (f(x + h) - f(x - h)) / (3 * h))
    assert not wrong.ok and "derivative is" in wrong.message
    raising = checks.central_difference(lambda f, x, h: 1 / 0)
    assert not raising.ok and "ZeroDivisionError" in raising.message
    not_a_number = checks.central_difference(lambda f, x, h: "slope")
    assert not not_a_number.ok and "one number" in not_a_number.message


def layer_vjp(W, x, v):
    y = torch.tanh(W @ x)
    g = v * (1 - y**2)
    return W.T @ g, torch.outer(g, x)


def test_tanh_layer_vjp_accepts_the_reference_answer():
    result = checks.tanh_layer_vjp(layer_vjp)
    assert result.ok, result.message


def test_tanh_layer_vjp_accepts_an_answer_via_autograd():
    """An independent correct answer (autograd) passes too: the checker is not tied to one
    way of writing it."""

    def by_autograd(W, x, v):
        W, x = W.clone().requires_grad_(), x.clone().requires_grad_()
        torch.tanh(W @ x).backward(v)
        return x.grad, W.grad

    assert checks.tanh_layer_vjp(by_autograd).ok


def test_tanh_layer_vjp_rejects_typical_mistakes():
    no_slope = checks.tanh_layer_vjp(lambda W, x, v: (W.T @ v, torch.outer(v, x)))
    assert not no_slope.ok and "1 - y^2" in no_slope.message
    swapped = checks.tanh_layer_vjp(lambda W, x, v: layer_vjp(W, x, v)[::-1])
    assert not swapped.ok and "shapes must be" in swapped.message
    single = checks.tanh_layer_vjp(lambda W, x, v: layer_vjp(W, x, v)[0])
    assert not single.ok and "pair" in single.message

    def wrong_x(W, x, v):
        gx, gW = layer_vjp(W, x, v)
        return 2 * gx, gW

    bad_x = checks.tanh_layer_vjp(wrong_x)
    assert not bad_x.ok and "dy/dx is wrong" in bad_x.message


def _baydin_graph():
    import node_edu.autodiff as ad

    return ad.trace(lambda x1, x2: ad.log(x1) + x1 * x2 - ad.sin(x2), 2.0, 5.0)


def _by_hand():  # the reverse sweep of f = ln x1 + x1 x2 - sin x2 at (2, 5), derived by hand
    return {"v5": 1.0, "v4": -1.0, "v3": 1.0, "v2": 1.0, "v1": 1.0}, 1 / 2 + 5, 2 - math.cos(5)


def test_reverse_sweep_adjoints_accepts_the_hand_derivation():
    graph = _baydin_graph()
    adjoints, d1, d2 = _by_hand()
    result = checks.reverse_sweep_adjoints(graph, {**adjoints, "x1": d1, "x2": d2})
    assert result.ok, result.message


def test_reverse_sweep_adjoints_rejects_a_missing_path_a_missing_node_and_text():
    graph = _baydin_graph()
    adjoints, d1, d2 = _by_hand()
    one_path = checks.reverse_sweep_adjoints(graph, {**adjoints, "x1": 1 / 2, "x2": d2})
    assert not one_path.ok and "x1 feeds" in one_path.message
    missing = checks.reverse_sweep_adjoints(graph, {**adjoints, "x2": d2})
    assert not missing.ok and "missing: ['x1']" in missing.message
    text = checks.reverse_sweep_adjoints(graph, {**adjoints, "x1": "5.5", "x2": d2})
    assert not text.ok and "must be a number" in text.message
    wrong_sign = checks.reverse_sweep_adjoints(graph, {**adjoints, "v4": 1.0, "x1": d1, "x2": d2})
    assert not wrong_sign.ok and "adjoint of v4 (sin)" in wrong_sign.message
