"""Reference answers for lesson 03, ODE solvers."""

import torch


def midpoint_step(f, t, z, h):
    """One explicit midpoint step: z + h f(t + h/2, z + h/2 f(t, z)). t: 0-dim, z: [n]."""
    k1 = f(t, z)
    return z + h * f(t + h / 2, z + h / 2 * k1)


def rk_step(f, t, z, h, tableau):
    """One explicit Runge-Kutta step of ``tableau`` (fields c, a, b) from (t, z).

    k_i = f(t + c_i h, z + h sum_{j<i} a_ij k_j), z_new = z + h sum_i b_i k_i.
    t: a 0-dim tensor, z: [n], h: a float. Returns z_new, [n].
    """
    ks = []
    for c_i, a_i in zip(tableau.c, tableau.a, strict=True):
        z_i = z
        for a_ij, k_j in zip(a_i, ks, strict=True):
            z_i = z_i + h * a_ij * k_j
        ks.append(f(t + c_i * h, z_i))
    z_new = z
    for b_i, k_i in zip(tableau.b, ks, strict=True):
        z_new = z_new + h * b_i * k_i
    return z_new


def error_ratio(order):
    """By what factor the error at t1 of a method of this order shrinks when h is halved."""
    return 2.0**order


def step_control(z, z_new, err, h, rtol, atol):
    """Accept or reject one adaptive step, and the step size to try next.

    z, z_new: the state before and after the step, [n]; err: the step's error estimate
    h sum_i (b_i - b_hat_i) k_i, [n]; h: the step size; rtol, atol: the tolerances.
    Returns (accept, h_next): a bool and a float.
    """
    scale = atol + rtol * torch.maximum(z.abs(), z_new.abs())
    ratio = float(torch.sqrt(torch.mean((err / scale) ** 2)))  # RMS, in units of tolerance
    accept = ratio <= 1.0
    if ratio == 0.0:
        return accept, 10.0 * h
    factor = 0.9 * ratio ** (-1 / 5)  # the estimate is O(h^5): aim at ratio 0.9^5
    return accept, h * min(10.0, max(0.2, factor))
