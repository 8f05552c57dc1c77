"""The lesson 05 checkers: reference answers pass, each typical mistake is named."""

import functools

import pytest
import sympy as sp
import torch

import node_edu as ne
import node_edu.checks.lesson05 as checks05
from node_edu.checks.lesson05 import _adjoint_run, adjoint_sweep, constant_adjoint, euler_adjoint
from node_edu.linear import LinearODE
from node_edu.solutions import lesson05

DT = torch.float64


# --- 05.constant_adjoint_starts: when the adjoint of dz/dt = A z is constant -------------


def null_of_AT_by_sympy(A):  # another right answer: SymPy's exact null space, as floats
    basis = sp.Matrix(A.tolist()).T.nullspace()
    if not basis:
        return torch.zeros(A.shape[0], 0, dtype=A.dtype)
    return torch.tensor([[float(x) for x in v] for v in basis], dtype=A.dtype).T


def test_constant_adjoint_references_pass():
    for answer in (lesson05.constant_adjoint_starts, null_of_AT_by_sympy):
        result = constant_adjoint(answer)
        assert result.ok and "correct" in str(result), result


def test_constant_adjoint_oracle_the_run_stays_put_only_on_the_null_space():
    # The finding behind the exercise: with A = [[0, 1], [0, 0]] != 0 the adjoint started at
    # (0, 1) is constant, started at (1, 0) it moves (ne.odeint, not the formula).
    A = torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=DT)
    still = _adjoint_run(A, torch.tensor([0.0, 1.0], dtype=DT))
    moving = _adjoint_run(A, torch.tensor([1.0, 0.0], dtype=DT))
    assert (still - still[0]).abs().max() < 1e-14
    assert torch.allclose(moving[-1], torch.tensor([1.0, 1.0], dtype=DT), rtol=0, atol=1e-10)


def test_linear_oracle_agrees_a_nonzero_A_can_keep_the_adjoint_constant():
    # node_edu.linear's docstring: constant exactly when A^T a(t1) = 0, not only for A = 0
    system = LinearODE([[0, 1], [0, 0]], [1, 0], t0=0, t1=1)
    still, moving = system.adjoint(system.t, [0, 1]), system.adjoint(system.t, [1, 0])
    assert still.diff(system.t) == sp.zeros(2, 1)  # SymPy: exactly constant
    assert moving.diff(system.t) != sp.zeros(2, 1)


def _svd_null(of_transpose=True, tol=1e-12, keep=None):
    def answer(A):
        _, S, Vh = torch.linalg.svd(A.T if of_transpose else A)
        rank = int((S > tol * S.max()).sum())
        B = Vh[rank:].T
        return B if keep is None else keep(B, A)

    return answer


@pytest.mark.parametrize(
    "answer, words",
    [
        (_svd_null(of_transpose=False), "your columns solve A b = 0"),
        (_svd_null(tol=0.0), "compare with a tolerance"),
        (_svd_null(keep=lambda B, A: torch.zeros(len(A), 0, dtype=A.dtype)), "you give 0"),
        (_svd_null(keep=lambda B, A: torch.linalg.svd(A.T)[2][-1:].T), "A is invertible"),
        (_svd_null(keep=lambda B, A: torch.cat([B, B], 1)), "linearly dependent"),
        (_svd_null(keep=lambda B, A: torch.cat([B, 0 * A[:, :1]], 1)), "zero column"),
        (_svd_null(keep=lambda B, A: B.reshape(-1)), "columns of an [n, k] tensor"),
        (_svd_null(keep=lambda B, A: B if B.shape[1] < len(A) else B[:, :1]), "every start"),
        (_svd_null(keep=lambda B, A: B.float()), "dtype"),
        (lambda A: A.missing, "raised AttributeError"),
    ],
)
def test_constant_adjoint_slips_are_named(answer, words):
    result = constant_adjoint(answer)
    assert not result.ok and words in result.message, (words, result.message)


# --- 05.euler_adjoint: the discrete adjoint of Euler's method, repaired -------------------


def euler_adjoint_by_autograd(A, z0, t0, times, y, n_steps):  # another right answer
    z0 = z0.clone().requires_grad_(True)
    h = (float(times[-1]) - t0) / n_steps
    B, zs = torch.eye(len(z0), dtype=z0.dtype) + h * A, [z0]
    for _ in range(n_steps):
        zs.append(B @ zs[-1])
    k = [round((float(ti) - t0) / h) for ti in times]
    loss = (torch.stack([zs[i] for i in k]) - y).pow(2).sum(dim=1).mean()
    return torch.autograd.grad(loss, z0)[0]


def test_euler_adjoint_references_pass():
    for answer in (lesson05.euler_adjoint, euler_adjoint_by_autograd):
        result = euler_adjoint(answer)
        assert result.ok and "correct" in str(result), result


@pytest.mark.parametrize("k", range(len(checks05._EULER_CASES)))
def test_euler_adjoint_oracle_is_backprop_through_ne_odeint(k):
    # SymPy's exact rational backprop against autograd through ne.odeint(method="euler").
    A, z0, t0, times, y, n_steps = (torch.tensor(x, dtype=DT) if isinstance(x, tuple) else x
                                    for x in checks05._EULER_CASES[k])  # fmt: skip
    z0 = z0.clone().requires_grad_(True)
    t = torch.tensor([t0, *times.tolist()], dtype=DT)
    zs = ne.odeint(lambda t, z: A @ z, z0, t, method="euler",
                   step_size=(float(times[-1]) - t0) / n_steps)  # fmt: skip
    (zs[1:] - y).pow(2).sum(dim=1).mean().backward()
    assert torch.allclose(z0.grad, checks05._euler_oracle(k), rtol=1e-9, atol=1e-12)


def test_euler_adjoint_the_int_bug_is_live_in_case_2():
    # Without a time that int() misplaces, that bug could never be named.
    A, z0, t0, times, y, n_steps = checks05._EULER_CASES[1]
    h = (times[-1] - t0) / n_steps
    assert [int((ti - t0) / h) for ti in times] != [round((ti - t0) / h) for ti in times]


@pytest.mark.parametrize(
    "flags, words",
    [
        (dict(step="I - hA^T"), "already in it"),
        (dict(step="B"), "B^T, not B"),
        (dict(jump_first=False), "add it before stepping back"),
        (dict(index="int"), "int() truncates"),
        (dict(step="I - hA^T", jump_first=False, index="int"), "more than one bug"),
    ],
)
def test_euler_adjoint_bugs_are_named(flags, words):
    result = euler_adjoint(functools.partial(checks05._euler_variant, **flags))
    assert not result.ok and words in result.message, result.message


def test_euler_adjoint_bad_returns():
    base = lesson05.euler_adjoint
    assert "shape" in euler_adjoint(lambda *args: base(*args)[:1]).message
    assert "NaN or inf" in euler_adjoint(lambda *args: base(*args) * float("inf")).message

    def in_place(A, z0, t0, times, y, n_steps):
        out = base(A, z0, t0, times, y, n_steps)
        A.zero_()
        return out

    assert "in place" in euler_adjoint(in_place).message


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
