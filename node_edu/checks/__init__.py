"""Exercise checkers: one function per exercise, each returning a ``CheckResult``.

A checker runs the student's function on cases whose answer comes from an independent
oracle (the exact derivative, ``torch.func``), and says what is right or, when it is
wrong, what the symptom suggests. ``print(result)`` shows the message; ``result.ok`` (or
``bool(result)``) is what an ``assert`` or a test reads.

One module per lesson (``lesson04.py`` checks lesson 04's exercises); every checker is
re-exported here, so lessons call ``ne.checks.central_best_step(...)``. ``hint(id)`` and
``solution(id)`` help a student who is stuck; ``base.py`` says how a checker runs an answer
safely.
"""

from node_edu.checks.base import CheckResult, assert_all_passed, hint, solution
from node_edu.checks.lesson01 import central_best_step, pow_rules, reverse_sweep
from node_edu.checks.lesson02 import group_mean_vjp, sum_rules
from node_edu.checks.lesson03 import (
    euler_stable_step,
    order_and_error,
    runge_kutta_step,
    step_size_control,
)
from node_edu.checks.lesson04 import adjoint_function, running_cost
from node_edu.checks.lesson05 import adjoint_sweep, constant_adjoint, euler_adjoint
from node_edu.checks.lesson06 import kinetic_training_step, training_step
from node_edu.checks.lesson07 import planar_dynamics, probe_variance, reverse_kl_loss
from node_edu.checks.lesson08 import regularised_dynamics, resnet_forward
from node_edu.checks.lesson09 import decode_at, elbo
from node_edu.checks.lesson10 import predicted_bytes, resnet_width

__all__ = [
    "CheckResult",
    "assert_all_passed",
    "hint",
    "solution",
    "adjoint_function",
    "adjoint_sweep",
    "central_best_step",
    "constant_adjoint",
    "decode_at",
    "elbo",
    "euler_adjoint",
    "euler_stable_step",
    "group_mean_vjp",
    "kinetic_training_step",
    "order_and_error",
    "planar_dynamics",
    "predicted_bytes",
    "pow_rules",
    "probe_variance",
    "regularised_dynamics",
    "resnet_forward",
    "resnet_width",
    "reverse_kl_loss",
    "reverse_sweep",
    "running_cost",
    "runge_kutta_step",
    "step_size_control",
    "sum_rules",
    "training_step",
]

# Checkers of exercises an earlier version of a lesson had. A student's saved copy of that
# lesson still calls them; it gets a result that says what to do, not an AttributeError.
RETIRED = {
    "central_difference": "01",
    "tanh_layer_vjp": "02",
    "midpoint_step": "03",
    "error_ratio_prediction": "03",
    "augmented_dynamics": "04",
    "adjoint_between": "05",
    "jumps": "05",
    "linear_dlogp": "07",
}


def __getattr__(name):
    if name not in RETIRED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    lesson = RETIRED[name]

    def retired(answer=None, **kwargs):
        return CheckResult(
            False,
            f"this exercise is no longer in lesson {lesson}: your copy of the lesson is older "
            f"than the course. `make reset LESSON={lesson}` gives you the current lesson and "
            "keeps your copy in workspace/backups/.",
            attempted=False,
        )

    retired.__name__ = name
    return retired
