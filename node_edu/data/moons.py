"""Two moons: a 2-D sample set. Lesson 00's neural ODE separates the two moons
(``labelled_moons``); ``node_edu.cnf.fit_samples``'s tests fit a CNF to the points."""

import numpy as np
import torch


def two_moons(n=256, noise=0.1, seed=0):
    """Two interleaving half circles in 2-D, made locally with numpy: ``[n, 2]`` float64,
    centred and scaled to unit standard deviation per coordinate (seeded, reproducible).
    The first ``n // 2`` rows are the upper moon, the others the lower one."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    half = n // 2
    angle = np.pi * rng.random(n)
    upper = np.stack([np.cos(angle[:half]), np.sin(angle[:half])], axis=1)
    lower = np.stack([1 - np.cos(angle[half:]), 0.5 - np.sin(angle[half:])], axis=1)
    points = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    points = (points - points.mean(0)) / points.std(0)
    return torch.from_numpy(points)


def labelled_moons(n=128, noise=0.1, seed=0):
    """``(x, y)``: the points of ``two_moons`` and their moon, y = 0. (upper) or 1. (lower),
    both float64, shapes ``[n, 2]`` and ``[n]``: a two-class problem in the plane."""
    x = two_moons(n, noise, seed)
    y = (torch.arange(n) >= n // 2).to(torch.float64)
    return x, y
