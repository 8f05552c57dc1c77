"""Reference answers for lesson 07, continuous normalizing flows."""

import torch

import node_edu as ne
import node_edu.solutions  # noqa: F401  (ne.solutions.lesson07, as the lesson spells it)
from node_edu.cnf import standard_normal_log_prob


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


def reverse_kl_loss(hyper, energy, z0):
    """mean over base samples z0 [batch, 2] of log q(x) + U(x): the reverse KL up to log Z."""
    dynamics = ne.solutions.lesson07.planar_dynamics  # the library's, not the exercise cell's

    def augmented(t, state):  # state = (z, log p): [batch, 3]
        dz, dlogp = dynamics(t, state[:, :2], hyper)
        return torch.cat([dz, dlogp[:, None]], dim=1)

    start = torch.cat([z0, standard_normal_log_prob(z0)[:, None]], dim=1)  # log p(t0) = log N(z0)
    t = torch.tensor([0.0, 1.0], dtype=z0.dtype, device=z0.device)  # sampling: base t0 -> data t1
    end = ne.odeint(augmented, start, t, method="rk4", step_size=0.25)[-1]
    x, logq = end[:, :2], end[:, 2]
    return (logq + energy(x)).mean()
