"""The lesson 07 checker: the reference answer passes, each typical mistake is named."""

import torch

from node_edu.checks.cnf import linear_dlogp


def reference(A, z):
    return -torch.trace(A) * torch.ones(z.shape[0], dtype=z.dtype)


def test_reference_answers_pass():
    for answer in (reference, lambda A, z: -torch.trace(A)):  # a scalar is broadcast
        result = linear_dlogp(answer)
        assert result.ok, result
        assert "correct" in str(result)


def test_float32_answer_passes():
    assert linear_dlogp(lambda A, z: reference(A.float(), z.float())).ok


def test_flipped_sign_is_named():
    result = linear_dlogp(lambda A, z: -reference(A, z))
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
    assert not result.ok and "one rate per sample" in result.message
    result = linear_dlogp(lambda A, z: [0.0] * len(z))
    assert not result.ok and "return a tensor" in result.message
    result = linear_dlogp(lambda A, z: 1 / 0)
    assert not result.ok and "ZeroDivisionError" in result.message
