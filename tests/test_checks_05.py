"""The lesson 05 checkers: reference answers pass, each typical mistake is named."""

import torch

from node_edu.checks.adjoint_start import adjoint_between, jumps


def jumps_reference(z, y):
    return 2 * (z - y) / z.shape[0]


def jumps_by_autograd(z, y):  # another route to the same answer
    z = z.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((z - y).pow(2).sum(dim=1).mean(), z)
    return g


def test_jumps_reference_answers_pass():
    for answer in (jumps_reference, jumps_by_autograd):
        result = jumps(answer)
        assert result.ok and "correct" in str(result), result


def test_jumps_typical_mistakes_are_named():
    cases = {
        "sign is flipped": lambda z, y: 2 * (y - z) / z.shape[0],
        "factor 2 is missing": lambda z, y: (z - y) / z.shape[0],
        "1/m of the mean": lambda z, y: 2 * (z - y),
        "mse_loss": lambda z, y: 2 * (z - y) / z.numel(),
        "own jump": lambda z, y: (2 * (z - y).sum(0, keepdim=True) / z.shape[0]).expand_as(z),
    }
    for words, answer in cases.items():
        result = jumps(answer)
        assert not result.ok and words in result.message, (words, result)


def test_jumps_mse_loss_gradient_is_recognised_by_autograd_of_mse_loss():
    def via_mse_loss(z, y):
        z = z.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(torch.nn.functional.mse_loss(z, y), z)
        return g

    result = jumps(via_mse_loss)
    assert not result.ok and "mse_loss" in result.message


def test_jumps_bad_returns_and_errors_are_reported():
    assert "shape" in jumps(lambda z, y: (z - y).sum(0)).message
    assert "raised ZeroDivisionError" in jumps(lambda z, y: 1 / 0).message
    assert "converting" in jumps(lambda z, y: "nope").message
    other = jumps(lambda z, y: 3 * (z - y))
    assert not other.ok and "differ from autograd" in other.message


def adjoint_reference(A, a1, t, t1):
    return torch.linalg.matrix_exp(A.T * (t1 - t)) @ a1


def adjoint_by_ode(A, a1, t, t1):  # integrate da/dt = -A^T a backwards with RK4
    a, n_steps = a1.clone(), 400
    h = (t1 - t) / n_steps
    f = lambda a: A.T @ a  # noqa: E731  (in reversed time s = t1 - t: da/ds = +A^T a)
    for _ in range(n_steps):
        k1 = f(a)
        k2 = f(a + h / 2 * k1)
        k3 = f(a + h / 2 * k2)
        k4 = f(a + h * k3)
        a = a + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return a


def test_adjoint_between_reference_answers_pass():
    assert adjoint_between(adjoint_reference).ok
    assert adjoint_between(adjoint_by_ode).ok  # an independent route agrees to 1e-10


def test_adjoint_between_typical_mistakes_are_named():
    E = torch.linalg.matrix_exp
    cases = {
        "A = 0": lambda A, a1, t, t1: a1.clone(),
        "transpose A": lambda A, a1, t, t1: E(A * (t1 - t)) @ a1,
        "sign of the exponent": lambda A, a1, t, t1: E(-A.T * (t1 - t)) @ a1,
        "differs from the VJP": lambda A, a1, t, t1: 2 * a1,
        "shape": lambda A, a1, t, t1: a1[:1],
        "raised": lambda A, a1, t, t1: A.missing,
    }
    for words, answer in cases.items():
        result = adjoint_between(answer)
        assert not result.ok and words in result.message, (words, result)
