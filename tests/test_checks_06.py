"""Lesson 06's checker: right answers pass; each common slip fails with its own message."""

import torch

import node_edu as ne
import node_edu.checks.lesson06 as checks06


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
        (_step(item=False), "as a Python float (.item())"),
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


# --- 06.kinetic_training_step: the step with the kinetic-energy regulariser -------------


def _kinetic(solve=ne.odeint_adjoint, zero=True, step=True, lam_used=None, backward="total",
             energy="sq", reduce="mean", at="last"):  # fmt: skip
    """The reference step with one thing changed (each a typical mistake)."""

    def kinetic_train_step(func, optimizer, z0, t, z_true, solver, lam):
        def augmented(tt, s):
            dz = func(tt, s[..., :-1])
            e = dz.pow(2).sum(-1, keepdim=True)
            if energy == "norm":
                e = e.sqrt()
            elif energy == "half_mean":
                e = 0.5 * dz.pow(2).mean(-1, keepdim=True)
            return torch.cat([dz, e], dim=-1)

        if zero:
            optimizer.zero_grad()
        s0 = torch.cat([z0, torch.zeros_like(z0[..., :1])], dim=-1)
        extra = {} if solve is ne.odeint else {"params": list(func.parameters())}
        s = solve(augmented, s0, t, **extra, **solver)
        fit = (s[..., :-1] - z_true).pow(2).mean()
        E = s[-1, ..., -1] if at == "last" else s[..., -1].mean(0)
        kinetic = getattr(E, reduce)()
        weight = lam if lam_used is None else lam_used
        (fit + weight * kinetic if backward == "total" else fit).backward()
        if step:
            optimizer.step()
        return fit.item(), kinetic.item()

    return kinetic_train_step


def test_kinetic_reference_answers_pass():
    result = checks06.kinetic_training_step(_kinetic())
    assert result.ok and "Simpson" in str(result), result

    def with_the_library_module(func, optimizer, z0, t, z_true, solver, lam):
        from node_edu.models.training import WithKineticEnergy

        optimizer.zero_grad()
        s0 = torch.cat([z0, z0.new_zeros(z0.shape[0], 1)], dim=1)
        s = ne.odeint_adjoint(WithKineticEnergy(func), s0, t, **solver)
        fit = torch.nn.functional.mse_loss(s[..., :2], z_true)
        kinetic = s[-1, :, 2].mean()
        (fit + lam * kinetic).backward()
        optimizer.step()
        return fit.item(), kinetic.item()

    assert checks06.kinetic_training_step(with_the_library_module).ok


def test_kinetic_typical_mistakes_are_named():
    cases = [
        (_kinetic(backward="fit"), "regulariser did not reach the gradient"),
        (_kinetic(lam_used=1.0), "multiply the kinetic energy by lam"),
        (_kinetic(reduce="sum"), "a sum over the batch"),
        (_kinetic(energy="norm"), "the integral of |f|"),
        (_kinetic(energy="half_mean"), "authors' code"),
        (_kinetic(at="every"), "averaged over every observation time"),
        (_kinetic(zero=False), "call optimizer.zero_grad()"),
        (_kinetic(step=False), "call optimizer.step() once"),
        (_kinetic(solve=ne.odeint), "backprop through the solver"),
    ]
    for fn, words in cases:
        result = checks06.kinetic_training_step(fn)
        assert not result.ok and words in result.message, (words, result.message)


def test_kinetic_bad_returns_are_not_yet():
    def fit_only(func, optimizer, z0, t, z_true, solver, lam):
        return _kinetic()(func, optimizer, z0, t, z_true, solver, lam)[0]

    assert "a tuple of 2" in checks06.kinetic_training_step(fit_only).message

    def tensors(func, optimizer, z0, t, z_true, solver, lam):
        fit, kinetic = _kinetic()(func, optimizer, z0, t, z_true, solver, lam)
        return torch.tensor(fit), kinetic

    assert "Python float" in checks06.kinetic_training_step(tensors).message

    def nan_energy(func, optimizer, z0, t, z_true, solver, lam):
        fit, _ = _kinetic()(func, optimizer, z0, t, z_true, solver, lam)
        return fit, float("nan")

    assert "finite number" in checks06.kinetic_training_step(nan_energy).message
