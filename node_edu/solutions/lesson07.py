"""Reference answers for lesson 07, continuous normalizing flows."""

import torch

import node_edu as ne
import node_edu.solutions  # noqa: F401  (ne.solutions.lesson07, as the lesson spells it)
from node_edu.cnf import standard_normal_log_prob


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


def probe_variance(J, noise):
    """Var(eps^T J eps) for one probe eps (``noise``: "rademacher" or "gaussian"), 0-dim."""
    S = (J + J.T) / 2  # eps^T J eps = eps^T S eps: only the symmetric part of J counts
    # eps^T S eps = sum_i S_ii eps_i^2 + 2 sum_{i<j} S_ij eps_i eps_j; the eps_i eps_j (i < j)
    # are uncorrelated with variance 1, so the cross terms add 4 sum_{i<j} S_ij^2.
    off_diagonal = 2 * ((S**2).sum() - (torch.diagonal(S) ** 2).sum())
    if noise == "rademacher":  # eps_i^2 = 1 exactly: the diagonal terms are not random
        return off_diagonal
    return off_diagonal + 2 * (torch.diagonal(S) ** 2).sum()  # Var(eps_i^2) = 3 - 1 = 2
