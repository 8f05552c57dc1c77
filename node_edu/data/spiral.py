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
"""

from dataclasses import dataclass

import torch

from node_edu.solvers import odeint

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


def spiral(n_times=100, t1=25.0, *, z0=(2.0, 0.0), A=A_TRUE, dtype=torch.float32, device=None):
    """The spiral dz/dt = A z^3 observed at ``n_times`` times ``linspace(0, t1, n_times)``.

    Solved in float64 with ``dopri5`` at rtol 1e-10, atol 1e-12 (far below any error a
    model makes), then cast to ``dtype`` on ``device``. Returns a ``Trajectory``.
    """
    if isinstance(n_times, bool) or not isinstance(n_times, int) or n_times < 2:
        raise ValueError(f"n_times must be an integer >= 2, got {n_times!r}")
    if isinstance(t1, bool) or not isinstance(t1, (int, float)) or not t1 > 0:
        raise ValueError(f"t1 must be a positive number, got {t1!r}")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    A = torch.as_tensor(A, dtype=torch.float64)
    z0 = torch.as_tensor(z0, dtype=torch.float64)
    if A.dim() != 2 or A.shape[0] != A.shape[1] or z0.shape != A.shape[:1]:
        raise ValueError(
            f"A must be a square matrix [n, n] and z0 a vector [n]; got A of shape "
            f"{tuple(A.shape)} and z0 of shape {tuple(z0.shape)}"
        )
    t = torch.linspace(0.0, float(t1), n_times, dtype=torch.float64)
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
    if not isinstance(data, Trajectory):
        raise TypeError(
            f"data must be a node_edu.data.spiral.Trajectory, got {type(data).__name__}"
        )
    for name, value in (("batch_size", batch_size), ("batch_time", batch_time)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 2 <= batch_time <= len(data):
        raise ValueError(
            f"batch_time must be between 2 and the number of observations ({len(data)}), "
            f"got {batch_time}"
        )
    s = torch.randint(0, len(data) - batch_time + 1, (batch_size,), generator=generator)
    index = s.to(data.z.device) + torch.arange(batch_time, device=data.z.device)[:, None]
    return data.z[s], data.t[:batch_time] - data.t[0], data.z[index]
