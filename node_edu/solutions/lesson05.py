"""Reference answers for lesson 05, the adjoint's initial condition, its jumps, and the
discrete adjoint of Euler's method."""

import torch


def constant_adjoint_starts(A):
    """Every start a(t1) for which the adjoint of dz/dt = A z stays constant: a basis of the
    null space of A^T, as the columns of an [n, k] tensor (k = 0: only a(t1) = 0 does).
    """
    U, S, Vh = torch.linalg.svd(A.T)  # A^T = U diag(S) Vh, the rows of Vh orthonormal
    tol = 1e-12 * S.max()  # a singular value below this is round-off of an exact 0
    rank = int((S > tol).sum())
    return Vh[rank:].T  # A^T v = 0 for the rows of Vh past the rank: da/dt = 0 there


def adjoint_sweep(A, z0, t0, times, y):
    """(dL/dz0 [n], dL/dt_i [m]) for dz/dt = A z, z(t0) = z0, L = (1/m) sum |z(t_i) - y_i|^2."""
    E = torch.linalg.matrix_exp
    m = len(times)
    z = torch.stack([E(A * (ti - t0)) @ z0 for ti in times])  # forward: z(t_i), [m, n]
    g = 2 * (z - y) / m  # the jump of a at each t_i: the direct dL/dz(t_i)
    dt = (g * (z @ A.T)).sum(dim=1)  # dL/dt_i = g_i . f(z(t_i)), the jump, not a(t_i)
    a = torch.zeros_like(z0)  # a(t_m^+) = 0: nothing after the last observation
    later = times[-1]
    for i in reversed(range(m)):
        a = E(A.T * (later - times[i])) @ a  # carry back: da/dt = -A^T a
        a = a + g[i]  # then jump: a(t_i^-) = a(t_i^+) + dL/dz(t_i)
        later = times[i]
    a = E(A.T * (later - t0)) @ a  # the last stretch, t_1 back to t0
    return a, dt


def euler_adjoint(A, z0, t0, times, y, n_steps):
    """dL/dz0 through n_steps explicit Euler steps of h = (t_m - t0) / n_steps on dz/dt = A z,
    for L = (1/m) sum_i |z(t_i) - y_i|^2 with every t_i on the grid t0 + k h.

    A: [n, n]; z0: [n]; t0: a float; times: [m], increasing, > t0; y: [m, n]. Returns [n].
    """
    h = (float(times[-1]) - t0) / n_steps
    B = torch.eye(len(z0), dtype=z0.dtype) + h * A  # one Euler step: z_{k+1} = B z_k
    zs = [z0]
    for _ in range(n_steps):
        zs.append(B @ zs[-1])
    at = {round((float(ti) - t0) / h): i for i, ti in enumerate(times)}  # step k -> i
    a = torch.zeros_like(z0)
    for k in range(n_steps, 0, -1):
        if k in at:  # L reads z_k directly: the jump, before stepping back past it
            a = a + 2 * (zs[k] - y[at[k]]) / len(times)
        a = B.T @ a  # z_k = B z_{k-1}, so dL/dz_{k-1} = B^T dL/dz_k
    return a
