"""The lesson 07 checkers: the reference answers pass, each typical mistake is named."""

import torch

from node_edu.checks.cnf import linear_dlogp, planar_dynamics
from node_edu.solutions.lesson07 import dlogp_dt
from node_edu.solutions.lesson07 import planar_dynamics as reference_planar


def test_reference_answers_pass():
    for answer in (dlogp_dt, lambda A, z: -torch.trace(A)):  # one number is broadcast
        result = linear_dlogp(answer)
        assert result.ok, result
        assert "correct" in str(result)


def test_float32_answer_is_not_yet():
    result = linear_dlogp(lambda A, z: dlogp_dt(A.float(), z.float()))
    assert not result.ok and "dtype" in result.message


def test_flipped_sign_is_named():
    result = linear_dlogp(lambda A, z: -dlogp_dt(A, z))
    assert not result.ok and "sign" in result.message


def test_sum_of_all_entries_is_named():
    result = linear_dlogp(lambda A, z: -A.sum() * torch.ones(len(z), dtype=z.dtype))
    assert not result.ok and "diagonal" in result.message


def test_determinant_is_named():
    result = linear_dlogp(lambda A, z: -torch.linalg.det(A) * torch.ones(len(z), dtype=z.dtype))
    assert not result.ok and "det" in result.message


def test_other_wrong_rate_is_judged_by_the_density():
    # Depends on z: not one of the named mistakes, caught by the exact Gaussian density.
    result = linear_dlogp(lambda A, z: -torch.trace(A) * (1 + 0.1 * z[:, 0]))
    assert not result.ok and "exact Gaussian density" in result.message


def test_wrong_shape_non_tensor_and_exceptions():
    result = linear_dlogp(lambda A, z: torch.zeros(len(z), 2, dtype=z.dtype))
    assert not result.ok and "shape" in result.message
    result = linear_dlogp(lambda A, z: [0.0] * len(z))
    assert not result.ok and "torch.Tensor" in result.message
    result = linear_dlogp(lambda A, z: 1 / 0)
    assert not result.ok and "ZeroDivisionError" in result.message


# -- the gated planar dynamics --------------------------------------------------------------


def planar_variant(gate="sigmoid", trace_gate=True, dtanh="square", sign=-1, reduce="sum"):
    """The reference answer with one thing changed."""

    def answer(t, z, hyper):
        w, b, uhat, g = hyper.raw(t)
        u = {"sigmoid": uhat * torch.sigmoid(g), "none": uhat, "raw": uhat * g}[gate]
        h = torch.tanh(z @ w.T + b)
        scale = 1 / hyper.width if reduce == "mean" else 1.0
        slope = {"square": 1 - h**2, "linear": 1 - h, "none": torch.ones_like(h)}[dtanh]
        u_tr = u if trace_gate else uhat
        return scale * (h @ u), sign * scale * (slope @ (u_tr * w).sum(dim=1))

    return answer


def test_planar_reference_passes():
    result = planar_dynamics(reference_planar)
    assert result.ok, result
    assert planar_dynamics(planar_variant()).ok  # the variant builder is right by default


def test_planar_mistakes_are_named():
    cases = {
        "gate is missing": planar_variant(gate="none"),
        "sigmoid(g), not by g": planar_variant(gate="raw"),
        "mean over the units": planar_variant(reduce="mean"),
        "wrong sign": planar_variant(sign=+1),
        "1 - tanh(a)^2 is missing": planar_variant(dtanh="none"),
        "not 1 - tanh(a)": planar_variant(dtanh="linear"),
        "gated u": planar_variant(trace_gate=False),
    }
    for words, answer in cases.items():
        result = planar_dynamics(answer)
        assert not result.ok and words in result.message, (words, result.message)


def test_planar_autograd_is_named():
    def with_autograd(t, z, hyper):
        dz, _ = reference_planar(t, z, hyper)
        (row,) = torch.autograd.grad(dz[:, 0].sum(), z)
        return dz, row[:, 0]

    result = planar_dynamics(with_autograd)
    assert not result.ok and "autograd" in result.message


def test_planar_other_wrong_answers():
    def wrong_velocity(t, z, hyper):
        dz, dlogp = reference_planar(t, z, hyper)
        return dz + 0.1, dlogp

    def wrong_rate(t, z, hyper):
        dz, dlogp = reference_planar(t, z, hyper)
        return dz, dlogp * (1 + 0.1 * z[:, 0])

    result = planar_dynamics(wrong_velocity)
    assert not result.ok and "compared with PlanarCNF" in result.message
    result = planar_dynamics(wrong_rate)
    assert not result.ok and "jacrev" in result.message
    result = planar_dynamics(lambda t, z, hyper: reference_planar(t, z, hyper)[0])
    assert not result.ok and "tuple of 2" in result.message
