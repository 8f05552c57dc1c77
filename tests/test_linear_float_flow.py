"""linear.float_flow.linear_flow against SciPy's matrix exponential."""

import numpy as np
import scipy.linalg
import torch

from node_edu.linear import linear_flow

A_ROT = [[-0.1, -1.0], [1.0, -0.1]]


def test_linear_flow_against_scipy_expm(device):
    A = torch.tensor(A_ROT, dtype=torch.float64, device=device)
    z0 = torch.tensor([1.0, 0.0], dtype=torch.float64, device=device)
    ts = [0.5, 1.0, 3.0]  # the flow starts at ts[0]
    flow = linear_flow(A, z0, ts)
    assert flow.shape == (3, 2) and flow.device == A.device
    for t, z in zip(ts, flow.cpu(), strict=True):
        expected = scipy.linalg.expm((t - 0.5) * np.array(A_ROT)) @ np.array([1.0, 0.0])
        np.testing.assert_allclose(z.numpy(), expected, rtol=1e-13, atol=1e-15)
