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
from .adjoint_start import adjoint_between, jumps
from .base import CheckResult, assert_all_passed, hint, solution
from .cnf import linear_dlogp
from .differentiation import central_difference, reverse_sweep_adjoints, tanh_layer_vjp
from .solvers import error_ratio_prediction, midpoint_step, runge_kutta_step, step_size_control
from .training import training_step

__all__ = [
    "CheckResult",
    "assert_all_passed",
    "hint",
    "solution",
    "adjoint_between",
    "adjoint_function",
    "augmented_dynamics",
    "central_difference",
    "error_ratio_prediction",
    "jumps",
    "linear_dlogp",
    "midpoint_step",
    "reverse_sweep_adjoints",
    "runge_kutta_step",
    "step_size_control",
    "tanh_layer_vjp",
    "training_step",
]
