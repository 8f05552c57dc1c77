"""The flow of dz/dt = A z in floating point, for plots and dashboards.

``LinearODE`` gives exp(A t) z0 exactly (SymPy); drawing a curve needs hundreds of points
and no exactness, so ``linear_flow`` evaluates the same flow with
``torch.linalg.matrix_exp``, correct to rounding (the tests hold it against SciPy's
``expm``).
"""

import torch


def linear_flow(A, z0, ts):
    """z(t) = exp(A (t - ts[0])) z0 at every t in ``ts``: ``[len(ts), n]``.

    A: ``[n, n]`` tensor; z0: ``[n]`` tensor, the state at ts[0]; ts: 1-D times (a list or a
    tensor), converted to A's dtype. The result follows A's dtype and device.
    """
    ts = torch.as_tensor(ts, dtype=A.dtype, device=A.device)
    return torch.linalg.matrix_exp((ts - ts[0])[:, None, None] * A) @ z0
