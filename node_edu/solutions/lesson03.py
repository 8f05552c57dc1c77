"""Reference answers for lesson 03, ODE solvers."""

import math

import torch


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


def order_and_error(solve, n):
    """The order p of an unknown method, and the error of its finest solve, without the
    exact solution: from solve(n), solve(2n), solve(4n), each z(t1) [d] after that many
    equal steps. Returns (p, error): two floats, error estimating |solve(4n) - z(t1)|.
    """
    z1, z2, z4 = solve(n), solve(2 * n), solve(4 * n)
    d1 = float(torch.linalg.vector_norm(z1 - z2))  # e(h) - e(h/2), about e(h/4) (2^p - 1) 2^p
    d2 = float(torch.linalg.vector_norm(z2 - z4))  # e(h/2) - e(h/4), about e(h/4) (2^p - 1)
    p = math.log2(d1 / d2)  # each halving divides the differences by 2^p, as the errors
    return p, d2 / (2**p - 1)


def euler_stable_step(A):
    """The largest h for which Euler's steps on dz/dt = A z do not grow: |1 + h lam| <= 1
    for every eigenvalue lam of A (A: [n, n]). 0.0 when no h > 0 will do, math.inf when
    no eigenvalue sets a limit. Returns a float.
    """
    lam = torch.linalg.eigvals(A)
    tiny = 1e-12 * float(torch.linalg.matrix_norm(A))  # round-off: an exact 0 comes out ~1e-16
    lam = lam[lam.abs() > tiny]  # lam = 0: |1 + h * 0| = 1 for every h, no bound
    if (lam.real > -tiny).any():  # |1 + h lam|^2 = 1 + 2 h Re(lam) + h^2 |lam|^2 > 1
        return 0.0
    # |1 + h lam|^2 <= 1  <=>  h <= -2 Re(lam) / |lam|^2, for every eigenvalue at once
    return float((-2 * lam.real / lam.abs() ** 2).min()) if len(lam) else math.inf


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
