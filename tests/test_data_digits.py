"""Lesson 10's data: scikit-learn's 8 x 8 digits, split once by a seeded permutation."""

import pytest
import torch

from node_edu.data.digits import PIXELS, digits


@pytest.fixture(scope="module")
def data():
    return digits()


def test_the_split_partitions_scikit_learns_images(data):
    from sklearn.datasets import load_digits

    raw = load_digits()
    assert len(data.x_train) + len(data.x_test) == 1797 and len(data.x_test) == 449
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    assert data.x_train.shape[1] == PIXELS and 0 <= data.x_train.min() <= data.x_train.max() <= 1
    every = torch.cat([data.x_train, data.x_test]).double() * 16
    assert sorted(map(tuple, every.tolist())) == sorted(map(tuple, raw.data.tolist()))
    labels = sorted(torch.cat([data.y_train, data.y_test]).tolist())
    assert labels == sorted(raw.target.tolist())


def test_the_split_is_seeded(data):
    again, other = digits(), digits(seed=1)
    assert torch.equal(again.x_test, data.x_test) and torch.equal(again.y_test, data.y_test)
    assert not torch.equal(other.y_test, data.y_test)
    assert len(digits(test_fraction=0.5).x_test) == 898  # round(0.5 * 1797), half to even


def test_digits_rejects_bad_arguments():
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        digits(test_fraction=1.0)
    with pytest.raises(TypeError, match="test_fraction must be a number, got str"):
        digits(test_fraction="0.2")
    with pytest.raises(TypeError, match="seed must be an int, got float"):
        digits(seed=0.5)
