"""Checkers for lesson 10 (an ODE-Net on the digits): matching a ResNet's size to the
ODE-Net's, and predicting the memory autograd keeps.

* ``resnet_width(fn)``: the width of each residual block that gives the ResNet as many
  parameters as one ODE field; the oracle counts the parameters of real modules.
* ``predicted_bytes(fn)``: the bytes autograd keeps for a ResNet's blocks, backprop through
  RK4 and the adjoint; the oracle measures them (``saved_tensor_bytes``).
"""

import torch

from node_edu.adjoint import odeint_adjoint
from node_edu.adjoint.memory import saved_tensor_bytes
from node_edu.checks.base import Mistake, exercise, expect_number, passed
from node_edu.solutions import lesson10
from node_edu.solvers import odeint

SLACK = 40  # bytes: RK4's ten tableau coefficients, which ne.odeint keeps as small tensors


def _field(dim, hidden):
    return torch.nn.Sequential(
        torch.nn.Linear(dim, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, dim)
    )


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _expect_int(x, name):
    value = expect_number(x, name)
    if value != int(value):
        raise Mistake(f"{name} must be a whole number, got {value}")
    return int(value)


def _closest_width(dim, hidden, blocks):
    """The oracle: count the parameters of real modules for every width, keep the closest."""
    target = _count(_field(dim, hidden))
    best = None
    for w in range(1, 4 * hidden + 2):
        gap = abs(blocks * _count(_field(dim, w)) - target)
        if best is None or gap < best[0]:
            best = (gap, w)
    return best[1]


@exercise("10.resnet_width", solution=lesson10.resnet_width, hints=(
    "Count one field W2 tanh(W1 z + b1) + b2 with z of size dim and hidden width h: W1 is"
    " h x dim, b1 has h numbers, W2 is dim x h, b2 has dim numbers.",
    "Set blocks * (count of one block of width w) equal to the count of the ODE field of"
    " width hidden, and solve for w. Every block has its own b2 (dim numbers).",
    "w = (2 dim hidden + hidden + dim - blocks dim) / (blocks (2 dim + 1)); the count grows"
    " linearly in w, so the closest whole width is round(w), not int(w).",
))  # fmt: skip
def resnet_width(fn):
    """Lesson 10 exercise: ``fn(dim, hidden, blocks)`` is the hidden width of each residual
    block so that ``blocks`` of them hold as many parameters as one field of width
    ``hidden``. Oracle: the parameters of real ``torch.nn`` modules, counted for every width.
    Forgetting the biases, the blocks' own b2, and rounding down are named."""
    cases = [(32, 64, 4), (10, 50, 3), (32, 64, 5), (3, 9, 2)]
    given = [_expect_int(fn(*case), "the width") for case in cases]
    wanted = [_closest_width(*case) for case in cases]
    if given == wanted:
        return passed("your widths give the ResNet the ODE field's parameter count (real modules)")

    def exact(dim, hidden, blocks):
        return (2 * dim * hidden + hidden + dim - blocks * dim) / (blocks * (2 * dim + 1))

    slips = [  # each judged on all the cases together, so one slip is not taken for another
        (lambda d, h, n: round(h / n), "that leaves out the biases: b1 (hidden numbers) and"
         " b2 (dim numbers) are parameters too"),
        (lambda d, h, n: round((2 * d * h + h + d) / (n * (2 * d + 1))), "each residual block"
         " has its own b2 (dim numbers): subtract blocks * dim before dividing"),
        (lambda d, h, n: int(exact(d, h, n)), "the count grows linearly with the width, so the"
         " closest whole width is the nearest integer (round), not the one below it (int)"),
    ]  # fmt: skip
    for slip, why in slips:
        if given == [slip(*case) for case in cases]:
            raise Mistake(why)
    (dim, hidden, blocks), w = next(
        (case, g) for case, g, want in zip(cases, given, wanted, strict=True) if g != want
    )
    raise Mistake(
        f"for dim {dim}, hidden {hidden}, {blocks} blocks the closest width is not {w}:"
        f" {blocks} blocks of width {w} hold {blocks * _count(_field(dim, w))} parameters,"
        f" the ODE field {_count(_field(dim, hidden))}"
    )


def _measure(mode, batch, dim, hidden, steps):
    """The oracle: what autograd keeps, measured by saved_tensor_bytes on real modules."""
    gen = torch.Generator().manual_seed(10)
    z0 = torch.randn(batch, dim, generator=gen).requires_grad_()
    t = torch.tensor([0.0, 1.0])
    if mode == "resnet":
        blocks = [_field(dim, hidden) for _ in range(steps)]

        def run():
            z = z0
            for f in blocks:
                z = z + (1.0 / steps) * f(z)
            return z
    else:
        f = _field(dim, hidden)
        solve = odeint if mode == "backprop" else odeint_adjoint

        def run():
            return solve(lambda t, z: f(z), z0, t, method="rk4", step_size=1.0 / steps)[-1]

    return saved_tensor_bytes(run)[1]


def _slips(mode, batch, dim, hidden, steps):
    """(wrong answer, why) for the typical slips in one mode."""
    per, weights, bias = batch * (dim + hidden), 2 * dim * hidden, dim + hidden
    right = lesson10.predicted_bytes(mode, batch, dim, hidden, steps)
    common = [
        (right // 4, "that is the number of float32 numbers; each takes 4 bytes"),
        (2 * right, "the tensors here are float32: 4 bytes a number, not 8"),
    ]
    if mode == "resnet":
        return common + [
            (4 * (steps * per + weights), "each residual block has its own W1 and W2: the"
             " weights are kept once per block"),
            (4 * steps * per, "the weights are kept too: Linear keeps W to pass the gradient"
             " back to its input"),
            (4 * steps * (per + weights + bias), "the biases are not kept: a sum's gradient"
             " needs neither of its terms"),
            (4 * steps * (batch * dim + weights), "tanh keeps its output (batch x hidden"
             " numbers), which is also the second Linear's input"),
        ]  # fmt: skip
    if mode == "backprop":
        return common + [
            (4 * (steps * per + weights), "RK4 calls f four times per step, and autograd"
             " keeps what every call needs"),
            (4 * 4 * steps * (per + weights), "there is one field: its weights are the same"
             " tensors at every call, kept once"),
            (4 * 4 * steps * per, "the weights are kept too (once): Linear keeps W to pass"
             " the gradient back to its input"),
            (4 * (4 * steps * per + weights + bias), "the biases are not kept: a sum's"
             " gradient needs neither of its terms"),
            (4 * (4 * steps * batch * dim + weights), "tanh keeps its output (batch x hidden"
             " numbers), which is also the second Linear's input"),
        ]  # fmt: skip
    return common + [
        (lesson10.predicted_bytes("backprop", batch, dim, hidden, steps), "that is backprop"
         " through the solver; the adjoint's forward solve runs without a graph and keeps"
         " only its output (z at both times of t) and t"),
        (4 * (steps * 2 * batch * dim + 2), "the adjoint's memory does not grow with the"
         " steps: it keeps its output (z at the two times of t) and t"),
        (4 * (2 * batch * dim + 2 + weights), "the adjoint's forward solve runs without a"
         " graph: f's weights are not kept"),
        (4 * (batch * dim + 1), "ne.odeint_adjoint keeps its whole output, z at both times"
         " of t, [2, batch, dim], and t itself"),
    ]  # fmt: skip


@exercise("10.predicted_bytes", solution=lesson10.predicted_bytes, hints=(
    "Per call of f = W2 tanh(W1 z + b1) + b2: the first Linear keeps its input z (batch x"
    " dim numbers) and W1; tanh keeps its output (batch x hidden), which is also the second"
    " Linear's input; the second Linear keeps W2. Biases, sums and products by a number keep"
    " nothing.",
    "A weight is one tensor however often it is used: count it once per field. A ResNet of"
    " `steps` blocks has `steps` fields called once each; RK4 calls its one field 4 times per"
    " step.",
    "The adjoint runs its forward solve without a graph and keeps only its output z(t)"
    " [2, batch, dim] and t (2 numbers). Every number here is float32: 4 bytes.",
))  # fmt: skip
def predicted_bytes(fn):
    """Lesson 10 exercise: ``fn(mode, batch, dim, hidden, steps)`` predicts the bytes autograd
    keeps for a forward pass ("resnet", "backprop" through RK4, "adjoint"). Oracle:
    ``saved_tensor_bytes`` on real modules and solves, to within 40 bytes (RK4's tableau
    coefficients). Bytes against numbers, weights once or per call, biases, tanh's output,
    RK4's four calls and the adjoint's constant memory are named."""
    cases = [(16, 5, 7, 3), (8, 3, 12, 2)]
    for batch, dim, hidden, steps in cases:
        for mode in ("resnet", "backprop", "adjoint"):
            guess = _expect_int(
                fn(mode, batch, dim, hidden, steps), f"your prediction for {mode!r}"
            )
            measured = _measure(mode, batch, dim, hidden, steps)
            if abs(guess - measured) <= SLACK:
                continue
            for wrong, why in _slips(mode, batch, dim, hidden, steps):
                if abs(guess - wrong) <= SLACK:
                    raise Mistake(f"{mode!r}: {why}")
            raise Mistake(
                f"{mode!r} with batch {batch}, dim {dim}, hidden {hidden}, steps {steps}: you"
                f" predict {guess} bytes, autograd keeps {measured}"
            )
    return passed(
        "your predictions match what autograd keeps (saved_tensor_bytes), in all three modes"
    )
