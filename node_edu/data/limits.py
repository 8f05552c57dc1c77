"""Lesson 08's data sets, made locally: the 1-D reflection and Dupont's concentric circles.

* ``reflection(n)``: x on a symmetric grid of [-1, 1], target g(x) = -x. No 1-D flow can
  produce it: a flow keeps the order of points (trajectories cannot cross).
* ``circles(n)``: the 2-D problem of Dupont, Doucet & Teh (2019, "Augmented Neural ODEs"):
  label -1 inside a disk, +1 on an annulus around it; by default the disk |x| <= 0.5 and
  the annulus 1 <= |x| <= 1.5.
  A 2-D flow followed by a linear readout cannot separate them (lesson 08 says why).
* ``ring(n, r)``: n equally spaced points on the circle |x| = r, a dense test curve.
"""

import math

import torch

from node_edu.solvers.validation import check_positive


def reflection(n=64, *, dtype=torch.float32, device=None):
    """``(x, y)``: x = linspace(-1, 1, n) as ``[n, 1]`` and y = -x ``[n, 1]``."""
    n = check_positive("n", n, integer=True)
    x = torch.linspace(-1.0, 1.0, n, dtype=dtype, device=device)[:, None]
    return x, -x


def circles(n=128, *, r_inner=0.5, r_annulus=(1.0, 1.5), generator=None, dtype=torch.float32,
            device=None):  # fmt: skip
    """``(x [n, 2], y [n])``: a third of the points uniform in the disk |x| <= r_inner
    (y = -1), the rest uniform in the annulus r_annulus[0] <= |x| <= r_annulus[1] (y = +1).

    Uniform in area: the radius of a disk point is r_inner sqrt(u); that of an annulus
    point solves r^2 = a^2 + u (b^2 - a^2). ``generator`` seeds the draw (reproducible).
    """
    n = check_positive("n", n, integer=True)
    a, b = (check_positive("r_annulus", r) for r in r_annulus)
    r_inner = check_positive("r_inner", r_inner)
    if not r_inner < a < b:
        raise ValueError(
            f"radii must satisfy r_inner < r_annulus[0] < r_annulus[1], got {r_inner}, {a}, {b}"
        )
    n_in = n // 3
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    r = torch.cat([r_inner * u[:n_in].sqrt(), (a**2 + u[n_in:] * (b**2 - a**2)).sqrt()])
    theta = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    x = torch.stack([r * theta.cos(), r * theta.sin()], dim=1)
    y = torch.cat(
        [-torch.ones(n_in, dtype=torch.float64), torch.ones(n - n_in, dtype=torch.float64)]
    )
    return x.to(dtype=dtype, device=device), y.to(dtype=dtype, device=device)


def ring(n=512, r=1.25, *, dtype=torch.float32, device=None):
    """``[n, 2]``: n equally spaced points on the circle of radius r (angle 0 first)."""
    n = check_positive("n", n, integer=True)
    r = check_positive("r", r)
    theta = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    return torch.stack([r * theta.cos(), r * theta.sin()], dim=1).to(dtype=dtype, device=device)
