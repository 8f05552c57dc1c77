"""Lesson 08: a neural ODE as a map x -> z(t1), plain or augmented (Dupont et al. 2019).

A neural ODE used as a layer maps an input x [batch, dim] to the end point of its
trajectory::

    z(0) = [x, 0, ..., 0]   (``extra`` zero dimensions: the augmentation)
    dz/dt = f(z, theta),    z(t1) = what the layer returns

With ``extra = 0`` this is a plain neural ODE: its map is a homeomorphism of R^dim, so it
keeps the order of points on a line and cannot pull a disk out of a surrounding ring.
Augmented neural ODEs (Dupont, Doucet & Teh 2019, "Augmented Neural ODEs") solve the same
kind of ODE in dim + extra dimensions, starting with the extra coordinates at 0, and read
the answer off the end state: the flow is still a homeomorphism, but of the larger space,
where trajectories can go around each other.

``ODEMap(dim, extra, hidden, readout)``: ``readout=False`` returns the first ``dim``
coordinates of z(t1) (no learned output layer, so nothing but the flow does the work);
``readout=True`` a linear layer of the whole z(t1) to one score (a classifier, as in
Dupont et al.).
"""

import torch

from node_edu.solvers import odeint
from node_edu.solvers.validation import check_positive


def augment(x, extra):
    """``[x, 0...0]``: x ``[batch, dim]`` with ``extra`` zero columns, ``[batch, dim + extra]``."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise ValueError(
            f"x must be a tensor of shape [batch, dim], got {getattr(x, 'shape', x)!r}"
        )
    if isinstance(extra, bool) or not isinstance(extra, int) or extra < 0:
        raise ValueError(f"extra must be an integer >= 0, got {extra!r}")
    return torch.cat([x, x.new_zeros(x.shape[0], extra)], dim=1)


class MLPField(torch.nn.Module):
    """f(t, z) = W2 tanh(W1 z + b1) + b2 for z [batch, dim] (autonomous: t is unused)."""

    def __init__(self, dim, hidden=16, *, dtype=None, device=None):
        super().__init__()
        dim = check_positive("dim", dim, integer=True)
        hidden = check_positive("hidden", hidden, integer=True)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(dim, hidden, dtype=dtype, device=device),
            torch.nn.Tanh(),
            torch.nn.Linear(hidden, dim, dtype=dtype, device=device),
        )

    def forward(self, t, z):
        return self.net(z)


class ODEMap(torch.nn.Module):
    """x [batch, dim] -> z(t1) of dz/dt = f(z), z(0) = augment(x, extra) (module docstring).

    Args:
        dim: the input's dimension. extra: zero dimensions added (0: a plain neural ODE).
        hidden: width of the field's hidden layer. t1: the end time (start 0).
        readout: False: return z(t1)[:, :dim]; True: a linear layer of z(t1) -> [batch, 1].
        solver: keyword arguments of ``ne.odeint`` (default: rk4, step 0.1, i.e. 10 steps).
    """

    def __init__(self, dim, extra=0, *, hidden=16, t1=1.0, readout=False, solver=None,
                 dtype=None, device=None):  # fmt: skip
        super().__init__()
        self.dim = check_positive("dim", dim, integer=True)
        if isinstance(extra, bool) or not isinstance(extra, int) or extra < 0:
            raise ValueError(f"extra must be an integer >= 0, got {extra!r}")
        self.extra, self.t1 = extra, check_positive("t1", t1)
        self.field = MLPField(dim + extra, hidden, dtype=dtype, device=device)
        self.readout = (
            torch.nn.Linear(dim + extra, 1, dtype=dtype, device=device) if readout else None
        )
        if solver is not None and not isinstance(solver, dict):
            raise TypeError(f"solver must be a dict of odeint options or None, got {solver!r}")
        self.solver = dict(method="rk4", step_size=0.1) if solver is None else dict(solver)

    def times(self, like, n=2):
        """``n`` equally spaced times on [0, t1] in ``like``'s dtype and device."""
        return torch.linspace(0.0, self.t1, n, dtype=like.dtype, device=like.device)

    def end(self, z1):
        """What the layer returns from the end state z(t1) ``[batch, dim + extra]``."""
        return self.readout(z1) if self.readout is not None else z1[:, : self.dim]

    def trajectories(self, x, n=41):
        """z(t) at ``n`` times on [0, t1]: ``[n, batch, dim + extra]`` (for plots)."""
        return odeint(self.field, augment(x, self.extra), self.times(x, n), **self.solver)

    def forward(self, x, stats=None):
        z1 = odeint(self.field, augment(x, self.extra), self.times(x), stats=stats, **self.solver)
        return self.end(z1[-1])


def winding_number(curve, points):
    """How many times the closed polygon ``curve`` ``[n, 2]`` (its last point joined back
    to its first) winds around each of ``points`` ``[m, 2]``: ``[m]`` integers, counted
    counter-clockwise (0: outside; +1 or -1: enclosed once).

    The sum of the angles the polygon's edges subtend at the point, each wrapped into
    (-pi, pi], divided by 2 pi. It is exact as long as no edge passes through a point;
    sample the curve densely enough that no edge jumps around a point.
    """
    if not (isinstance(curve, torch.Tensor) and curve.dim() == 2 and curve.shape[1] == 2):
        raise ValueError(
            f"curve must be a tensor of shape [n, 2], got {getattr(curve, 'shape', curve)!r}"
        )
    if not (isinstance(points, torch.Tensor) and points.dim() == 2 and points.shape[1] == 2):
        raise ValueError(
            f"points must be a tensor of shape [m, 2], got {getattr(points, 'shape', points)!r}"
        )
    rel = curve[None, :, :].double() - points[:, None, :].double()  # [m, n, 2]
    angle = torch.atan2(rel[..., 1], rel[..., 0])
    turn = angle.roll(-1, dims=1) - angle  # edge k -> k + 1, the last one closing the loop
    turn = torch.remainder(turn + torch.pi, 2 * torch.pi) - torch.pi  # into [-pi, pi)
    return torch.round(turn.sum(dim=1) / (2 * torch.pi)).to(torch.int64)
