"""Lesson 10's data: the 8 x 8 handwritten digits that scikit-learn ships.

``sklearn.datasets.load_digits`` returns 1797 grey-scale images of the digits 0-9, 8 x 8
pixels with values 0..16, bundled with scikit-learn (nothing is downloaded). ``digits``
scales the pixels to [0, 1], flattens each image to 64 numbers and splits the set once,
by a seeded permutation, into a training and a held-out test part.
"""

from dataclasses import dataclass

import torch

PIXELS, CLASSES = 64, 10  # 8 x 8 images, digits 0-9


@dataclass
class Digits:
    """A split of the digits: ``x_*`` ``[n, 64]`` pixels in [0, 1] (row-major 8 x 8),
    ``y_*`` ``[n]`` int64 labels 0-9."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def digits(test_fraction=0.25, *, seed=0, dtype=torch.float32, device=None):
    """The digits, split into ``round(test_fraction * 1797)`` test images and the rest.

    ``seed`` seeds the permutation (``torch.Generator``), so the split is the same on every
    machine. Returns a ``Digits``.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)):
        raise TypeError(f"test_fraction must be a number, got {type(test_fraction).__name__}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    from sklearn.datasets import load_digits  # imported here: only lesson 10 needs it

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float64) / 16.0  # pixel values are 0..16
    y = torch.tensor(data.target, dtype=torch.int64)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = round(test_fraction * len(x))
    test, train = order[:n_test], order[n_test:]
    return Digits(
        *(t.to(device=device, dtype=dtype if t.is_floating_point() else None)
          for t in (x[train], y[train], x[test], y[test]))
    )  # fmt: skip
