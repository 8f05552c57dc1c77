"""Lesson 10's checkers: the reference answers pass; each typical slip gets its own message."""

import math

import node_edu.checks.lesson10 as checks10
from node_edu.solutions import lesson10


def _width(kind):
    """resnet_width with one slip."""

    def resnet_width(dim, hidden, blocks):
        if kind == "no biases":
            return round(hidden / blocks)
        if kind == "shared b2":
            return round((2 * dim * hidden + hidden + dim) / (blocks * (2 * dim + 1)))
        w = (2 * dim * hidden + hidden + dim - blocks * dim) / (blocks * (2 * dim + 1))
        if kind == "floor":
            return int(w)
        if kind == "float":
            return w
        return round(w) + 3  # "off"

    return resnet_width


def test_width_reference_passes():
    result = checks10.resnet_width(lesson10.resnet_width)
    assert result.ok, result.message
    assert lesson10.resnet_width(32, 64, 4) == 16  # the lesson's ResNet


def test_width_slips_are_named():
    cases = [
        ("no biases", "leaves out the biases"),
        ("shared b2", "has its own b2"),
        ("floor", "nearest integer (round)"),
        ("float", "must be a whole number"),
        ("off", "the closest width is not"),
    ]
    for kind, words in cases:
        result = checks10.resnet_width(_width(kind))
        assert not result.ok and words in result.message, (kind, result.message)


def test_width_hostile_answers_fail():
    for bad in (math.nan, math.inf, "16", None, [16]):
        result = checks10.resnet_width(lambda dim, hidden, blocks, v=bad: v)
        assert not result.ok, (bad, result.message)


def _bytes(kind):
    """predicted_bytes with one slip."""

    def predicted_bytes(mode, batch, dim, hidden, steps):
        per, weights, bias = batch * (dim + hidden), 2 * dim * hidden, dim + hidden
        right = lesson10.predicted_bytes(mode, batch, dim, hidden, steps)
        if kind == "numbers":
            return right // 4
        if kind == "float64":
            return 2 * right
        if mode == "resnet":
            return {
                "shared weights": 4 * (steps * per + weights),
                "no weights": 4 * steps * per,
                "biases": 4 * steps * (per + weights + bias),
                "no tanh": 4 * steps * (batch * dim + weights),
            }.get(kind, right)
        if mode == "backprop":
            return {
                "per step": 4 * (steps * per + weights),
                "weights per call": 4 * 4 * steps * (per + weights),
            }.get(kind, right)
        return {
            "adjoint like backprop": lesson10.predicted_bytes(
                "backprop", batch, dim, hidden, steps
            ),
            "adjoint grows": 4 * (steps * 2 * batch * dim + 2),
            "adjoint weights": 4 * (2 * batch * dim + 2 + weights),
            "adjoint end only": 4 * (batch * dim + 1),
        }.get(kind, right)

    return predicted_bytes


def test_bytes_reference_passes():
    result = checks10.predicted_bytes(lesson10.predicted_bytes)
    assert result.ok, result.message
    assert "all three modes" in str(result)


def test_bytes_slips_are_named():
    cases = [
        ("numbers", "each takes 4 bytes"),
        ("float64", "4 bytes a number, not 8"),
        ("shared weights", "its own W1 and W2"),
        ("no weights", "the weights are kept too"),
        ("biases", "the biases are not kept"),
        ("no tanh", "tanh keeps its output"),
        ("per step", "four times per step"),
        ("weights per call", "kept once"),
        ("adjoint like backprop", "that is backprop through the solver"),
        ("adjoint grows", "does not grow with the steps"),
        ("adjoint weights", "f's weights are not kept"),
        ("adjoint end only", "keeps its whole output"),
    ]
    for kind, words in cases:
        result = checks10.predicted_bytes(_bytes(kind))
        assert not result.ok and words in result.message, (kind, result.message)


def test_bytes_unnamed_errors_say_what_autograd_keeps():
    result = checks10.predicted_bytes(lambda mode, batch, dim, hidden, steps: 1000)
    assert not result.ok and "autograd keeps" in result.message
    result = checks10.predicted_bytes(lambda *args: lesson10.predicted_bytes(*args) + 41)
    assert not result.ok  # 41 bytes off is outside the 40 bytes of slack
    result = checks10.predicted_bytes(lambda *args: lesson10.predicted_bytes(*args) + 40)
    assert result.ok  # within the tableau's 40 bytes


def test_bytes_hostile_answers_fail():
    for bad in (math.nan, -math.inf, "100", 1.5):
        result = checks10.predicted_bytes(lambda mode, batch, dim, hidden, steps, v=bad: v)
        assert not result.ok, (bad, result.message)
