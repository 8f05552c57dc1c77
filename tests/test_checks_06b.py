"""Lesson 06b's checker: the reference diagnosis passes; each wrong diagnosis or fix fails
with its own message."""

import node_edu.checks.lesson06b as checks06b
from node_edu.models import practice
from node_edu.solutions.lesson06b import diagnose


def _with(cause, answer):
    """The reference diagnosis, except for the run whose cause is ``cause``."""

    def fn(symptoms):
        named, changes = diagnose(symptoms)
        return answer if named == cause else (named, changes)

    return fn


def test_reference_answer_passes():
    result = checks06b.diagnosis(diagnose)
    assert result.ok, result.message
    assert "four failing runs diagnosed" in str(result)


def test_the_checkers_runs_fail_the_way_they_say():
    """Each run the checker uses shows its cause's symptom (so the reference rule can read it),
    and is not one of the four runs the lesson shows."""
    for cause, settings in checks06b.RUNS.items():
        assert settings != practice.FAILING[cause]
        assert diagnose(practice.run(**settings))[0] == cause


def test_wrong_causes_are_named():
    def always(cause, changes):
        return lambda symptoms: (cause, changes)

    result = checks06b.diagnosis(always("learning rate", {"lr": 0.01}))
    assert (
        not result.ok
        and "fails by 'tolerance', and you called it 'learning rate'" in result.message
    )
    assert "re-solved at rtol 1e-7" in result.message  # the symptoms are shown
    result = checks06b.diagnosis(_with("scaling", ("tolerance", {"rtol": 1e-6})))
    assert "fails by 'scaling', and you called it 'tolerance'" in result.message


def test_fixes_that_do_not_repair_are_named():
    cases = [
        ("tolerance", ("tolerance", {"rtol": 1e-2}), "does not repair it"),
        (
            "tolerance",
            ("tolerance", {"stages": ((3, 20),)}),
            "the training solve is still too loose",
        ),
        ("learning rate", ("learning rate", {"lr": 0.4}), "evaluations still grow"),
        ("scaling", ("scaling", {"lr": 0.5}), "still sees numbers far from 1"),
        ("unstable start", ("unstable start", {"rtol": 1e-6}), "stopped on a SolverError"),
    ]
    for cause, answer, words in cases:
        result = checks06b.diagnosis(_with(cause, answer))
        assert not result.ok and words in result.message, (cause, result.message)


def test_bad_answers_are_named():
    cases = [
        (lambda s: ("overfitting", {}), "cause must be one of"),
        (lambda s: ("tolerance", [("rtol", 1e-6)]), "changes must be a dict"),
        (lambda s: ("tolerance", {}), "changed nothing"),
        (lambda s: ("tolerance", {"units": 1.0}), "may not change"),
        (lambda s: ("tolerance", {"model": "mlp"}), "may not change"),
        (lambda s: ("tolerance", {"rtol": float("nan")}), "not valid settings"),
        (lambda s: ("tolerance", {"rtol": "1e-6"}), "not valid settings"),
        (lambda s: ("tolerance", {"speed": 2}), "not valid settings"),
        (lambda s: "tolerance", "a tuple of 2"),
    ]
    for fn, words in cases:
        result = checks06b.diagnosis(fn)
        assert not result.ok and result.attempted and words in result.message, result.message


def test_the_judge_of_a_repaired_run_reads_each_symptom():
    """still_broken on made-up symptoms: healthy runs pass, each sick one is named, and NaN
    or inf in a run is never healthy."""
    from node_edu.models.practice import Symptoms

    def s(loss=(1.0, 0.1), nfe=(10, 12), loss_tight=0.1, error=0.01, saturated=0.0, err=None):
        return Symptoms(loss, nfe, loss_tight, 2.0, error, error, saturated, err, 1.0)

    broken = s(error=0.5)
    judge = checks06b.still_broken
    for cause in practice.CAUSES:
        assert judge(cause, broken, s()) is None, cause
    assert "still too loose" in judge("tolerance", broken, s(loss_tight=0.3))
    assert "not a tenth" in judge("tolerance", broken, s(error=0.2))
    assert "still grow from 10 to 40" in judge("learning rate", broken, s(nfe=(10, 40)))
    assert "did not go down" in judge("learning rate", broken, s(loss=(1.0, 1.0), loss_tight=1.0))
    assert "50% of the hidden units" in judge("scaling", broken, s(saturated=0.5))
    assert "error is 0.200" in judge("unstable start", broken, s(error=0.2))
    assert "SolverError" in judge("tolerance", broken, s(err="step size underflow at t=1. x"))
    for bad in (float("nan"), float("inf")):
        assert "not a finite number" in judge("scaling", broken, s(loss=(1.0, bad)))
        assert "not a finite number" in judge("scaling", broken, s(error=bad))
    assert "not a finite number" in judge("scaling", broken, s(loss=()))
