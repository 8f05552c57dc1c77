"""Checker for lesson 06b: diagnose a failing training run from its symptoms, and fix it.

``diagnosis(fn)``: ``fn(symptoms) -> (cause, changes)``. The checker trains four small
models that fail in four different ways (``node_edu.models.practice``; not the four runs
the lesson shows), hands each run's ``Symptoms`` to ``fn``, compares the cause it names with
the cause the checker built into the run, then trains again with ``fn``'s changes applied
and judges the repaired run by what that cause had broken.
"""

import math

from node_edu.checks.base import Mistake, exercise, passed, unpack
from node_edu.models import practice
from node_edu.solutions import lesson06b

RUNS = {  # cause -> a run that fails that way (lesson 06b shows practice.FAILING instead)
    "tolerance": dict(model="cubic", init="zero", rtol=3e-3, stages=((3, 20),)),
    "learning rate": dict(optimizer="adam", lr=0.5, stages=((5, 10),)),
    "scaling": dict(units=0.02, stages=((2, 10),)),
    "unstable start": dict(model="cubic", init="random", seed=1, stages=((2, 20),)),
}
FROZEN = ("model", "units", "seed")  # the problem itself: a fix changes the training only
TIMEOUT = 20.0  # seconds for the student's function, all four calls together


def same_loss(s):
    """Does the last loss of run ``s`` stay put (within half, or 1e-9) when the model is
    solved at rtol 1e-7 instead of the training tolerance?"""
    return abs(s.loss_tight - s.loss[-1]) <= 0.5 * s.loss[-1] + 1e-9


def still_broken(cause, broken, fixed):
    """What is still wrong with the repaired run ``fixed`` of a ``cause`` failure (a
    sentence), or None when it is healthy."""
    if fixed.solver_error is not None:
        return f"its training stopped on a SolverError ({fixed.solver_error.split('. ')[0]})"
    numbers = (*fixed.loss, fixed.loss_tight, fixed.error_tight)
    if not fixed.loss or not all(math.isfinite(x) for x in numbers):
        return "its loss or its error is not a finite number"
    if cause == "tolerance":
        if not same_loss(fixed):
            return (f"solved at rtol 1e-7 its loss is {fixed.loss_tight:.3g}, not the "
                    f"{fixed.loss[-1]:.3g} it trained to: the training solve is still too "
                    "loose")  # fmt: skip
        if not fixed.error_tight < broken.error_tight / 10:
            return (f"its whole-trajectory error is {fixed.error_tight:.3f}, not a tenth of "
                    f"the broken run's {broken.error_tight:.3f}")  # fmt: skip
    if cause == "learning rate":
        if max(fixed.nfe) > 3 * fixed.nfe[0]:
            return (f"the solver's evaluations still grow from {fixed.nfe[0]} to "
                    f"{max(fixed.nfe)} per solve")  # fmt: skip
        if not fixed.loss[-1] < fixed.loss[0]:
            return "its loss did not go down"
    if cause == "scaling":
        if fixed.saturated > 0.1:
            return f"{fixed.saturated:.0%} of the hidden units still start saturated"
        if not fixed.loss[-1] < fixed.loss[0] / 3:
            return (f"its loss fell only from {fixed.loss[0]:.3g} to {fixed.loss[-1]:.3g}: "
                    "the model still sees numbers far from 1")  # fmt: skip
    if cause == "unstable start" and not fixed.error_tight < 0.05:
        return f"its whole-trajectory error is {fixed.error_tight:.3f} of predicting zero"
    return None


def _changes(out):
    cause, changes = unpack(out, 2, "(cause, changes)")
    if not isinstance(cause, str) or cause not in practice.CAUSES:
        raise Mistake(f"cause must be one of {list(practice.CAUSES)}, got {cause!r}")
    if not isinstance(changes, dict):
        raise Mistake(f"changes must be a dict of settings, got {type(changes).__name__}")
    if not changes:
        raise Mistake(f"you named a cause ({cause!r}) but changed nothing: give the fix too")
    frozen = sorted(k for k in changes if k in FROZEN)
    if frozen:
        raise Mistake(
            f"a fix changes the training, not the problem: {frozen} may not change (the model, "
            "the data's units and the seed stay as they are)"
        )
    return cause, changes


@exercise(
    "06b.diagnose",
    solution=lesson06b.diagnose,
    timeout=TIMEOUT,
    hints=(
        "Look at the four runs of section 1: which field of Symptoms is unusual in each? "
        "A SolverError; a loss that changes when re-solved tightly (loss_tight against "
        "loss[-1]); nfe that grows many fold; saturated units or a data_scale far from 1.",
        "Test the unmistakable symptoms first: a run that stopped on a SolverError has no "
        "losses at all, so look at solver_error before you index s.loss.",
        "The fixes are one setting each: 'init': 'zero' (a field at rest), 'normalise': "
        "True, a tighter 'rtol' (1e-6), a smaller 'lr' (0.01).",
    ),
)
def diagnosis(fn):
    """Lesson 06b exercise: ``fn(symptoms)`` returns ``(cause, changes)``: the cause of the
    failing run (one of ``practice.CAUSES``) and a dict of settings that repairs it.

    Checked on four runs the lesson does not show, one per cause: the named cause against
    the one built into the run, then the run trained again with the changes (which may not
    touch the model, the data's units or the seed) and judged by what the cause broke: a
    loss that no longer changes when re-solved tightly and a tenfold smaller error
    (tolerance); evaluations that stay within 3x of the first and a falling loss (learning
    rate); no saturated units and a loss that falls threefold (scaling); a training that
    runs and fits (unstable start).
    """
    for cause, run in RUNS.items():
        broken = practice.run(**run)
        named, changes = _changes(fn(broken))
        if named != cause:
            raise Mistake(
                f"one of the runs fails by {cause!r}, and you called it {named!r}. Its symptoms: "
                f"{broken.summary()}"
            )
        try:
            fixed = practice.run(**{**run, **changes})
        except (TypeError, ValueError) as err:
            raise Mistake(
                f"your changes for the {cause!r} run are not valid settings: {err}"
            ) from None
        what = still_broken(cause, broken, fixed)
        if what is not None:
            raise Mistake(
                f"you named the {cause!r} run right, but your fix does not repair it: {what}"
            )
    return passed(
        "four failing runs diagnosed from their symptoms alone, and each repaired: the "
        "retrained runs show none of the symptoms."
    )
