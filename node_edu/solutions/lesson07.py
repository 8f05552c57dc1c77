"""Reference answers for lesson 07, continuous normalizing flows."""

import torch


def dlogp_dt(A, z):
    """d log p/dt [batch] for dz/dt = A z: the Jacobian of z -> A z is A everywhere."""
    return -torch.trace(A) * torch.ones(z.shape[0], dtype=z.dtype, device=z.device)


def planar_dynamics(t, z, hyper):
    """(dz/dt [batch, dim], d log p/dt [batch]) of the gated planar CNF, trace in closed form."""
    w, b, uhat, g = hyper.raw(t)  # [M, dim], [M], [M, dim], [M, dim]
    u = uhat * torch.sigmoid(g)  # the gate: each unit's scale times a factor in (0, 1)
    h = torch.tanh(z @ w.T + b)  # [batch, M]: every unit's activation
    dz = h @ u  # the units' velocities add: sum_m u_m h_m
    # Unit m's Jacobian is u_m tanh'(.) w_m^T (rank one): its trace is tanh'(.) u_m^T w_m.
    trace = (1 - h**2) @ (u * w).sum(dim=1)
    return dz, -trace
