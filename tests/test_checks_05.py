"""The lesson 05 checkers: reference answers pass, each typical mistake is named."""

import torch

from node_edu.checks.lesson05 import adjoint_between, adjoint_sweep, jumps


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
    assert "must be a torch.Tensor, got str" in jumps(lambda z, y: "nope").message
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


# --- 05.adjoint_sweep: the backward sweep over several observation times -----------------

E = torch.linalg.matrix_exp


def _sweep(carry=True, transpose=True, jumps_at="every", dt_from="jump", scale=True, sign=1.0):
    """The reference sweep with one thing changed (each a typical mistake)."""

    def adjoint_sweep(A, z0, t0, times, y):
        m = len(times)
        z = torch.stack([E(A * (ti - t0)) @ z0 for ti in times])
        g = sign * 2 * (z - y) / (m if scale else 1)
        M = A.T if transpose else A
        a, later, totals = torch.zeros_like(z0), times[-1], []
        for i in reversed(range(m)):
            if carry:
                a = E(M * (later - times[i])) @ a
            if jumps_at == "every" or i == m - 1:
                a = a + g[i]
            totals.insert(0, a)
            later = times[i]
        a = E(M * (later - t0)) @ a if carry else a
        read = torch.stack(totals) if dt_from == "total" else g
        dt = (read * (z @ A.T)).sum(dim=1)
        return a, dt

    return adjoint_sweep


def sweep_by_autograd(A, z0, t0, times, y):  # another route: autograd through matrix_exp
    z0 = z0.clone().requires_grad_(True)
    times = times.clone().requires_grad_(True)
    z = torch.stack([E(A * (ti - t0)) @ z0 for ti in times])
    loss = (z - y).pow(2).sum(dim=1).mean()
    return torch.autograd.grad(loss, (z0, times))


def test_adjoint_sweep_reference_answers_pass():
    assert adjoint_sweep(_sweep()).ok
    result = adjoint_sweep(sweep_by_autograd)
    assert result.ok and "exactly as SymPy" in str(result), result


def test_adjoint_sweep_typical_mistakes_are_named():
    cases = {
        "only the last observation": _sweep(jumps_at="last"),
        "never carried back": _sweep(carry=False),
        "transpose A": _sweep(transpose=False),
        "1/m of the mean loss is missing": _sweep(scale=False),
        "sign is flipped": _sweep(sign=-1.0),
        "uses the total adjoint": _sweep(dt_from="total"),
    }
    for words, answer in cases.items():
        result = adjoint_sweep(answer)
        assert not result.ok and words in result.message, (words, result)


def test_adjoint_sweep_wrong_dt_alone_is_named():
    def sign_of_dt(A, z0, t0, times, y):
        dz0, dt = _sweep()(A, z0, t0, times, y)
        return dz0, -dt

    def z_at_A(A, z0, t0, times, y):
        dz0, _ = _sweep()(A, z0, t0, times, y)
        z = torch.stack([E(A * (ti - t0)) @ z0 for ti in times])
        return dz0, (2 * (z - y) / len(times) * (z @ A)).sum(1)

    assert "the sign of dL/dt_i" in adjoint_sweep(sign_of_dt).message
    assert "z @ A.T" in adjoint_sweep(z_at_A).message


def test_adjoint_sweep_bad_returns():
    assert "a tuple of 2" in adjoint_sweep(lambda A, z0, t0, times, y: z0).message
    result = adjoint_sweep(lambda A, z0, t0, times, y: (z0[:1], times))
    assert "dz0 must have shape" in result.message
    result = adjoint_sweep(lambda A, z0, t0, times, y: (z0 * float("nan"), times))
    assert "NaN or inf" in result.message

    def in_place(A, z0, t0, times, y):
        out = _sweep()(A, z0, t0, times, y)
        y.zero_()
        return out

    assert "in place" in adjoint_sweep(in_place).message
    other = adjoint_sweep(lambda A, z0, t0, times, y: (3 * z0, 0 * times))
    assert not other.ok and "exact dL/dz0" in other.message
