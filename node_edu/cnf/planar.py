"""The planar CNF of Chen et al. (2018), Section 4, with a gated hypernetwork of t.

    f(z, t) = sum_{m=1}^{M} u_m(t) tanh(w_m(t)^T z + b_m(t))          (Chen et al., eq. 10)

Its Jacobian is a sum of M rank-one matrices, so its trace is known in closed form,

    tr(df/dz) = sum_m (1 - tanh^2(w_m^T z + b_m)) u_m^T w_m,

which ``PlanarCNF.divergence`` returns: an oracle for the autograd trace estimators.

The weights come from a hypernetwork: a one-hidden-layer MLP of t that outputs every
w_m, b_m and u_m. Chen et al. (2018, Section 4, "Time-dependent dynamics") add a gate
sigma_m(t) in (0, 1) per unit, dz/dt = sum_m sigma_m(t) f_m(z), "a neural network that
learns when the dynamic f_m(z) should be applied"; the paper does not say how that
network is built. R. T. Q. Chen's answer on torchdiffeq issue #37, and torchdiffeq's
examples/cnf.py (``U = U * torch.sigmoid(G)``), build it from the same hypernetwork:
u_m = uhat_m * sigmoid(g_m), a regular output uhat_m times a sigmoid output g_m. Here, as
there, g_m has one entry per coordinate of u_m (so the gate is a vector in (0, 1)^dim
rather than the paper's one scalar per unit; a scalar gate is the case of equal entries).
torchdiffeq's example averages the M units; we sum them, as eq. 10 does (the two differ
by a factor M the training absorbs).
"""

import torch
from torch import nn

from node_edu.validation import check_int


class GatedHyperNet(nn.Module):
    """t (0-dim tensor) -> (w [M, dim], b [M], u [M, dim]) with u = uhat * sigmoid(g)."""

    def __init__(self, dim=2, width=8, hidden=32):
        super().__init__()
        dim, width = check_int("dim", dim, minimum=1), check_int("width", width, minimum=1)
        hidden = check_int("hidden", hidden, minimum=1)
        self.dim, self.width = dim, width
        # Per unit: w (dim), uhat (dim), gate (dim), b (1).
        self.net = nn.Sequential(
            nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, width * (3 * dim + 1))
        )

    def raw(self, t):
        """The hypernetwork's outputs before the gate: ``(w, b, uhat, g)``, shapes
        [M, dim], [M], [M, dim], [M, dim]; ``g`` is the gate's logit."""
        out = self.net(t.reshape(1, 1)).reshape(self.width, 3 * self.dim + 1)
        d = self.dim
        return out[:, :d], out[:, -1], out[:, d : 2 * d], out[:, 2 * d : 3 * d]

    def forward(self, t):
        w, b, uhat, g = self.raw(t)
        return w, b, uhat * torch.sigmoid(g)  # the gate: a factor in (0, 1)


class PlanarCNF(nn.Module):
    """The velocity f(t, z) = sum_m u_m(t) tanh(w_m(t)^T z + b_m(t)) for ``z`` ``[batch, dim]``.

    ``width`` = M planar units, ``hidden`` the hypernetwork's hidden size. Pass it to
    ``CNF(PlanarCNF(...))``; its parameters are the hypernetwork's.
    """

    def __init__(self, dim=2, width=8, hidden=32):
        super().__init__()
        self.hyper = GatedHyperNet(dim, width, hidden)

    def forward(self, t, z):
        w, b, u = self.hyper(t)
        return torch.tanh(z @ w.T + b) @ u  # [batch, M] @ [M, dim]

    def divergence(self, t, z):
        """tr(df/dz) in closed form, ``[batch]`` (an oracle for the trace estimators)."""
        w, b, u = self.hyper(t)
        h = torch.tanh(z @ w.T + b)
        return (1 - h**2) @ (u * w).sum(dim=1)
