"""The spiral of lesson 06, made locally (no download).

The spiral is torchdiffeq's ``ode_demo`` problem, written in our notation (column vectors,
``z ** 3`` elementwise)::

    dz/dt = A_true z^3,   A_true = [[-0.1, -2.0], [2.0, -0.1]],   z(0) = (2, 0),

observed at ``n_times`` equally spaced times on [0, t1]. (torchdiffeq writes the same field
with row vectors, ``y**3 @ A`` with A = A_true^T.) The cube makes the field weak near the
origin and strong far from it, so the spiral slows down as it winds inwards.

Usage::

    data = spiral()                                   # data.t [T], data.z [T, 2]
    z0, t, z = batch(data, 16, 20, generator=gen)      # z0 [16, 2], t [20], z [20, 16, 2]
    z0, t, z = windows(data, 10)                       # all 91 windows: [91, 2], [10], [10, 91, 2]
    part = data.first(40)                              # the first 40 observations
"""

from dataclasses import dataclass

import torch

from node_edu.solvers import odeint
from node_edu.validation import check_float_dtype, check_instance, check_int, check_number

A_TRUE = ((-0.1, -2.0), (2.0, -0.1))


@dataclass
class Trajectory:
    """Observations of one trajectory: ``t`` [T], ``z`` [T, n] (z[i] = z(t[i])), and the
    ``A`` [n, n] of the true dynamics dz/dt = A z^3 (float64, for reference)."""

    t: torch.Tensor
    z: torch.Tensor
    A: torch.Tensor

    def __len__(self):
        return len(self.t)

    def first(self, n):
        """The first ``n`` observations (2 <= n <= len), as a ``Trajectory`` of their own."""
        n = check_int("n", n, minimum=2, maximum=len(self))
        return Trajectory(self.t[:n], self.z[:n], self.A)


def spiral(n_times=100, t1=25.0, *, z0=(2.0, 0.0), A=A_TRUE, dtype=torch.float32, device=None):
    """The spiral dz/dt = A z^3 observed at ``n_times`` times ``linspace(0, t1, n_times)``.

    Solved in float64 with ``dopri5`` at rtol 1e-10, atol 1e-12 (far below any error a
    model makes), then cast to ``dtype`` on ``device``. Returns a ``Trajectory``.
    """
    n_times = check_int("n_times", n_times, minimum=2)
    t1 = check_number("t1", t1, above=0)
    check_float_dtype("dtype", dtype)
    A = torch.as_tensor(A, dtype=torch.float64)
    z0 = torch.as_tensor(z0, dtype=torch.float64)
    if A.dim() != 2 or A.shape[0] != A.shape[1] or z0.shape != A.shape[:1]:
        raise ValueError(
            f"A must be a square matrix [n, n] and z0 a vector [n]; got A of shape "
            f"{tuple(A.shape)} and z0 of shape {tuple(z0.shape)}"
        )
    t = torch.linspace(0.0, t1, n_times, dtype=torch.float64)
    z = odeint(lambda t, z: A @ z**3, z0, t, rtol=1e-10, atol=1e-12)
    return Trajectory(t.to(device, dtype), z.to(device, dtype), A.to(device))


def batch(data, batch_size, batch_time, *, generator=None):
    """Random sub-trajectories of ``data``, each ``batch_time`` observations long.

    Start indices s_b are drawn uniformly (with ``generator``, a ``torch.Generator``, for
    reproducible draws). The true field does not depend on t, so every sub-trajectory may
    start at time 0: they share the time grid ``t = data.t[:batch_time] - data.t[0]``.

    Returns ``(z0, t, z)``: z0 [batch_size, n] = data.z[s_b], t [batch_time],
    z [batch_time, batch_size, n] with z[i, b] = data.z[s_b + i], the layout ``odeint``
    returns for a batch of initial states z0.
    """
    check_instance("data", data, Trajectory, what="a node_edu.data.spiral.Trajectory")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    batch_time = check_int("batch_time", batch_time, minimum=2, maximum=len(data))
    s = torch.randint(0, len(data) - batch_time + 1, (batch_size,), generator=generator)
    index = s.to(data.z.device) + torch.arange(batch_time, device=data.z.device)[:, None]
    return data.z[s], data.t[:batch_time] - data.t[0], data.z[index]


def windows(data, batch_time):
    """Every sub-trajectory of ``data`` that is ``batch_time`` observations long, at once.

    The W = T - batch_time + 1 windows start at s = 0, 1, ..., W - 1 and, as in ``batch``,
    share the time grid ``t = data.t[:batch_time] - data.t[0]`` (the field does not depend
    on t). The same batch at every call: the loss built on it is a deterministic function
    of the parameters, which a quasi-Newton optimiser such as L-BFGS needs.

    Returns ``(z0, t, z)``: z0 [W, n] = data.z[:W], t [batch_time], z [batch_time, W, n]
    with z[i, s] = data.z[s + i].
    """
    check_instance("data", data, Trajectory, what="a node_edu.data.Trajectory")
    batch_time = check_int("batch_time", batch_time, minimum=2, maximum=len(data))
    n_windows = len(data) - batch_time + 1
    index = (
        torch.arange(n_windows, device=data.z.device)
        + torch.arange(batch_time, device=data.z.device)[:, None]
    )
    return data.z[:n_windows], data.t[:batch_time] - data.t[0], data.z[index]
