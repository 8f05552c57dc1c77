"""Two moons: a 2-D sample set for fitting a CNF to samples (``node_edu.cnf.fit_samples``;
its tests use it, no lesson does yet)."""

import numpy as np
import torch


def two_moons(n=256, noise=0.1, seed=0):
    """Two interleaving half circles in 2-D, made locally with numpy: ``[n, 2]`` float64,
    centred and scaled to unit standard deviation per coordinate (seeded, reproducible)."""
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
