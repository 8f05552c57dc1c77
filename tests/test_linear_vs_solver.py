"""node_edu.odeint_adjoint against the exact gradients of node_edu.linear.

dopri5 at rtol = atol = 1e-10 in float64 must give dL/dz0, dL/dA, dL/dt_i and dL/dt0 to
1e-7 relative, on systems with every kind of spectrum, with several observation times,
for both ways of recovering z(t) on the way back.
"""

import pytest
import sympy as sp
import torch

import node_edu as ne
from node_edu.linear import LinearODE

SYSTEMS = {
    "rotation": [[0, -1], [1, 0]],
    "jordan": [[1, 1], [0, 1]],
    "distinct": [[1, 2], [3, -1]],
    "singular": [[1, 2], [2, 4]],
    "spiral": [[-0.1, 2], [-2, -0.1]],
    "jordan3": [[-1, 1, 0], [0, -1, 1], [0, 0, -1]],
    "rotation3": [[0, -2, 0], [2, 0, 0], [0, 0, 0.5]],
}
TIMES = [sp.Rational(1, 4), sp.Rational(1, 2), sp.Rational(9, 10), sp.Integer(1)]


@pytest.mark.parametrize("adjoint", ["backsolve", "checkpoint"])
@pytest.mark.parametrize("name", SYSTEMS)
def test_odeint_adjoint_matches_exact_gradients(name, adjoint, device):
    A_list = SYSTEMS[name]
    n = len(A_list)
    z0_list = [1, 0.5, -2][:n]  # not in the null space of "singular"
    ys = [[(i + j) % 3 - 1 for j in range(n)] for i in range(len(TIMES))]
    exact = LinearODE(A_list, z0_list, t0=0, t1=1, timeout=30).gradients(ys, times=TIMES)

    options = dict(dtype=torch.float64, device=device)
    A = torch.tensor(A_list, **options, requires_grad=True)
    z0 = torch.tensor(z0_list, **options, requires_grad=True)
    t = torch.tensor([0.0] + [float(ti) for ti in TIMES], **options, requires_grad=True)
    z = ne.odeint_adjoint(
        lambda t, z: A @ z, z0, t, params=[A], adjoint=adjoint, rtol=1e-10, atol=1e-10
    )
    y = torch.tensor(ys, **options)
    loss = ((z[1:] - y) ** 2).sum(dim=1).mean()  # the "mean" loss: 1/m sum_i |z(t_i) - y_i|^2
    loss.backward()

    report = exact.compare(loss=loss, dz0=z0.grad, dA=A.grad, dt=t.grad[1:], dt0=t.grad[0])
    report.assert_close(1e-7)
