"""Exercise checkers: one function per exercise, each returning a ``CheckResult``.

A checker runs the student's function on cases whose answer comes from an independent
oracle (the exact derivative, ``torch.func``), and says what is right or, when it is
wrong, what the symptom suggests. ``print(result)`` shows the message; ``result.ok`` (or
``bool(result)``) is what an ``assert`` or a test reads.

One module per lesson (or pair of lessons); every checker is re-exported here, so lessons
call ``ne.checks.central_difference(...)``. ``hint(id)`` and ``solution(id)`` help a student
who is stuck; ``base.py`` says how a checker runs an answer safely.
"""

from .adjoint import adjoint_function, augmented_dynamics
from .adjoint_start import adjoint_between, adjoint_sweep, jumps
from .base import CheckResult, assert_all_passed, hint, solution
from .cnf import linear_dlogp, planar_dynamics, reverse_kl_loss
from .differentiation import central_difference, pow_rules, reverse_sweep
from .digits import predicted_bytes, resnet_width
from .jacobians import group_mean_vjp, tanh_layer_vjp
from .latent import decode_at, elbo
from .limits import regularised_dynamics, resnet_forward
from .solvers import error_ratio_prediction, midpoint_step, runge_kutta_step, step_size_control
from .training import kinetic_training_step, training_step

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
    "predicted_bytes",
    "pow_rules",
    "regularised_dynamics",
    "resnet_forward",
    "resnet_width",
    "reverse_kl_loss",
    "reverse_sweep",
    "runge_kutta_step",
    "step_size_control",
    "tanh_layer_vjp",
    "training_step",
]
