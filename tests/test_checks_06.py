"""Lesson 06's checker: right answers pass; each common slip fails with its own message."""

import torch

import node_edu as ne
import node_edu.checks.training as checks06


def _step(solve=ne.odeint_adjoint, zero=True, step=True, last_only=False, reduce="mean",
          item=True, touch=False):  # fmt: skip
    def train_step(func, optimizer, z0, t, z_true, solver):
        if zero:
            optimizer.zero_grad()
        z_pred = solve(func, z0, t, **solver)
        if touch:
            z0.mul_(2)
        err = (z_pred[-1] - z_true[-1]) if last_only else (z_pred - z_true)
        loss = getattr(err.pow(2), reduce)()
        loss.backward()
        if step:
            optimizer.step()
        return loss.item() if item else loss

    return train_step


def test_reference_answer_passes():
    result = checks06.training_step(_step())
    assert result.ok, result.message
    assert "matches backprop through a tight solve" in str(result)


def test_checkpoint_adjoint_and_mse_loss_pass_too():
    def train_step(func, optimizer, z0, t, z_true, solver):
        optimizer.zero_grad(set_to_none=True)
        z_pred = ne.odeint_adjoint(func, z0, t, adjoint="checkpoint", **solver)
        loss = torch.nn.functional.mse_loss(z_pred, z_true)
        loss.backward()
        optimizer.step()
        return loss.item()

    assert checks06.training_step(train_step).ok


def test_common_slips_fail_with_their_own_message():
    cases = [
        (_step(zero=False), "call optimizer.zero_grad()"),
        (_step(step=False), "call optimizer.step()"),
        (_step(last_only=True), "the loss at the last time only"),
        (_step(reduce="sum"), "it looks like a sum"),
        (_step(item=False), "return loss.item()"),
        (_step(solve=ne.odeint), "backprop through the solver"),
        (_step(touch=True), "changed z0, t or z_true in place"),
    ]
    for fn, words in cases:
        result = checks06.training_step(fn)
        assert not result.ok and words in result.message, (words, result.message)


def test_other_wrong_answers_fail():
    def raises(*args):
        raise RuntimeError("boom")

    result = checks06.training_step(raises)
    assert not result.ok and "RuntimeError: boom" in result.message
    assert not checks06.training_step(lambda *a: float("nan")).ok
    result = checks06.training_step(lambda *a: 0.0)  # no solve at all: the loss is wrong
    assert not result.ok and "your loss is 0, expected" in result.message

    def wrong_scale(func, optimizer, z0, t, z_true, solver):  # loss right, update doubled
        optimizer.zero_grad()
        loss = (ne.odeint_adjoint(func, z0, t, **solver) - z_true).pow(2).mean()
        (2 * loss).backward()
        optimizer.step()
        return loss.item()

    result = checks06.training_step(wrong_scale)
    assert not result.ok and "not one SGD step" in result.message


def test_checker_leaves_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks06.training_step(_step())
    assert torch.equal(torch.rand(3), expected)
