"""Target densities and a data set for the CNF lesson.

The four 2-D energies U1..U4 of Rezende & Mohamed (2015), "Variational Inference with
Normalizing Flows", Table 1; the unnormalised target density is exp(-U(z)). Each takes
``z`` ``[..., 2]`` and returns ``[...]``; written with ``logsumexp`` so that the
-log(exp(a) + exp(b)) terms never overflow.
"""

import math

import torch

from node_edu.validation import check_choice, check_int, check_number


def _w1(z):
    return torch.sin(2 * math.pi * z[..., 0] / 4)


def _w2(z):
    return 3 * torch.exp(-0.5 * ((z[..., 0] - 1) / 0.6) ** 2)


def _w3(z):
    return 3 * torch.sigmoid((z[..., 0] - 1) / 0.3)


def _neg_log_sum_exp(a, b):
    return -torch.logsumexp(torch.stack([a, b]), dim=0)


def U1(z):
    """A ring of radius 2 cut in two: 1/2 ((|z| - 2)/0.4)^2 - log(e^{-1/2((z1-2)/0.6)^2}
    + e^{-1/2((z1+2)/0.6)^2})."""
    ring = 0.5 * ((torch.linalg.vector_norm(z, dim=-1) - 2) / 0.4) ** 2
    a = -0.5 * ((z[..., 0] - 2) / 0.6) ** 2
    b = -0.5 * ((z[..., 0] + 2) / 0.6) ** 2
    return ring + _neg_log_sum_exp(a, b)


def U2(z):
    """A sine wave: 1/2 ((z2 - w1(z))/0.4)^2, w1 = sin(2 pi z1 / 4)."""
    return 0.5 * ((z[..., 1] - _w1(z)) / 0.4) ** 2


def U3(z):
    """Two sine waves that split apart near z1 = 1 (w2 a bump there)."""
    a = -0.5 * ((z[..., 1] - _w1(z)) / 0.35) ** 2
    b = -0.5 * ((z[..., 1] - _w1(z) + _w2(z)) / 0.35) ** 2
    return _neg_log_sum_exp(a, b)


def U4(z):
    """Two sine waves that split past z1 = 1 (w3 a sigmoid step)."""
    a = -0.5 * ((z[..., 1] - _w1(z)) / 0.4) ** 2
    b = -0.5 * ((z[..., 1] - _w1(z) + _w3(z)) / 0.35) ** 2
    return _neg_log_sum_exp(a, b)


ENERGIES = {"U1": U1, "U2": U2, "U3": U3, "U4": U4}


def grid(lim=4.0, n=60, dtype=torch.float64, device="cpu"):
    """A square n x n grid over [-lim, lim]^2 for plots and Riemann sums.

    Returns ``(xs [n], points [n*n, 2], cell_area)``; ``points`` is row-major with z2 the
    slow index, so ``values.reshape(n, n)`` is a plotly heatmap's ``z`` (rows = y).
    """
    n, lim = check_int("n", n, minimum=2), check_number("lim", lim, above=0)
    xs = torch.linspace(-lim, lim, n, dtype=dtype, device=device)
    z2, z1 = torch.meshgrid(xs, xs, indexing="ij")
    points = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)
    return xs, points, float(xs[1] - xs[0]) ** 2


def target_density(energy, lim=4.0, n=60):
    """exp(-U) normalised on ``grid(lim, n)`` (a Riemann sum): ``(xs, density [n, n])``."""
    if not callable(energy):
        energy = ENERGIES[check_choice("energy", energy, ENERGIES, also="a callable energy(z)")]
    xs, points, area = grid(lim, n)
    logp = -energy(points)
    density = torch.exp(logp - torch.logsumexp(logp, 0) - math.log(area))
    return xs, density.reshape(n, n)
