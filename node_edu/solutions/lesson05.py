"""Reference answers for lesson 05, the adjoint's initial condition and its jumps."""

import torch


def adjoint_between(A, a1, t, t1):
    """a(t) = exp(A^T (t1 - t)) a(t1) for dz/dt = A z, no observation in (t, t1); [n]."""
    return torch.linalg.matrix_exp(A.T * (t1 - t)) @ a1


def jumps(z, y):
    """The jump dL/dz(t_i) of the mean loss (1/m) sum_i |z_i - y_i|^2 at each t_i; [m, n]."""
    return 2 * (z - y) / z.shape[0]


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
