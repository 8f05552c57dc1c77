"""Exercise checkers: one function per exercise, each returning a ``CheckResult``.

A checker runs the student's function on cases whose answer comes from an independent
oracle (the exact derivative, ``torch.func``), and says what is right or, when it is
wrong, what the symptom suggests. ``print(result)`` shows the message; ``result.ok`` (or
``bool(result)``) is what an ``assert`` or a test reads.

One module per lesson (``lesson04.py`` checks lesson 04's exercises); every checker is
re-exported here, so lessons call ``ne.checks.central_difference(...)``. ``hint(id)`` and
``solution(id)`` help a student who is stuck; ``base.py`` says how a checker runs an answer
safely.
"""

from node_edu.checks.base import CheckResult, assert_all_passed, hint, solution
from node_edu.checks.lesson01 import central_difference, pow_rules, reverse_sweep
from node_edu.checks.lesson02 import group_mean_vjp, tanh_layer_vjp
from node_edu.checks.lesson03 import (
    error_ratio_prediction,
    midpoint_step,
    runge_kutta_step,
    step_size_control,
)
from node_edu.checks.lesson04 import adjoint_function, augmented_dynamics
from node_edu.checks.lesson05 import adjoint_between, adjoint_sweep, jumps
from node_edu.checks.lesson06 import kinetic_training_step, training_step
from node_edu.checks.lesson07 import linear_dlogp, planar_dynamics, reverse_kl_loss
from node_edu.checks.lesson08 import regularised_dynamics, resnet_forward
from node_edu.checks.lesson09 import decode_at, elbo

__all__ = [
    "CheckResult",
    "assert_all_passed",
    "hint",
    "solution",
    "adjoint_between",
    "adjoint_function",
    "adjoint_sweep",
    "augmented_dynamics",
    "central_difference",
    "decode_at",
    "elbo",
    "error_ratio_prediction",
    "group_mean_vjp",
    "jumps",
    "kinetic_training_step",
    "linear_dlogp",
    "midpoint_step",
    "planar_dynamics",
    "pow_rules",
    "regularised_dynamics",
    "resnet_forward",
    "reverse_kl_loss",
    "reverse_sweep",
    "runge_kutta_step",
    "step_size_control",
    "tanh_layer_vjp",
    "training_step",
]
