"""Where z(t) comes from on the way back: the two strategies of ``odeint_adjoint``.

The augmented dynamics need z(t) at every time the backward solve visits.

* ``Backsolve`` (Chen et al. 2018): z is part of the backward state and is integrated
  backwards together with a. Errors make it drift from the forward solution (much for
  contracting dynamics, which expand backwards); at each observation time the drift is
  measured and z is reset to its forward value (as torchdiffeq does), so drift never
  carries over to the next interval.
* ``Checkpoint``: the forward solve kept the state at the start of every step (a
  checkpoint, not a graph); the backward solve recomputes the step it needs from its
  checkpoint and reads z(t) off that step's interpolant (the scheme of CVODES, Hindmarsh
  et al. 2005). No drift; memory grows with the number of steps.
"""

from bisect import bisect_right

import torch

from node_edu.solvers.odeint import FlatFunc
from node_edu.solvers.rk import Clock, coefficients, interpolate, needs_end_slope, rk_step


class Backsolve:
    """z(t) integrated backwards with a: it is the first block of the backward state."""

    carries_z = True

    def __init__(self, ys):
        self.ys = ys  # [T, N]: the forward solution at the output times

    def z(self, t, state):
        return state.z

    def observe(self, i, state):
        """At t_i: the drift of the recomputed z, which is then reset to the forward z."""
        drift = (state.z - self.ys[i]).abs().max().item()
        state.z.copy_(self.ys[i])
        return drift


class Checkpoint:
    """z(t) recomputed forward from the per-step checkpoints of the forward solve."""

    carries_z = False

    def __init__(self, setup, t, ys, stats):
        self.t, self.ys = t, ys
        self.trajectory = Trajectory(setup, t, stats)

    def z(self, t, state):
        return self.trajectory(t)

    def observe(self, i, state):
        """At t_i: how far the recomputed z is from the forward solution (rounding only)."""
        return (self.trajectory(self.t[i]) - self.ys[i]).abs().max().item()


class Trajectory:
    """z(t) of the forward solve, rebuilt one step at a time from its checkpoints.

    Called with a 0-dim time tensor; finds the forward step containing it, recomputes
    that step from its checkpoint (cached, since the backward solve visits the steps in
    order) and evaluates its interpolant (``rk.interpolate``).
    """

    def __init__(self, setup, t, stats):
        self.setup = setup
        self.tab = setup.opts.tab
        self.f = FlatFunc(setup.func, setup.shape, stats)
        self.clock = Clock(t[0].detach(), setup.times[0])
        self.sign = 1.0 if setup.times[-1] > setup.times[0] else -1.0
        self.keys = [self.sign * start for start, _, _ in setup.checkpoints]
        self.cached = None

    def step(self, index):
        """The forward step ``index`` recomputed: (index, t_n, h, y, y1, K_T, k1, k_end)."""
        if self.cached is None or self.cached[0] != index:
            t_n, h, y = self.setup.checkpoints[index]
            coef = coefficients(self.tab, y.dtype, y.device)
            dt = t_n - self.clock.t_start
            with torch.no_grad():
                k1 = self.f(self.clock(dt), y)
                y1, K_T = rk_step(self.f, self.tab, coef, self.clock, dt, y, h, k1)
                if not needs_end_slope(self.tab):
                    k_end = None
                elif self.tab.fsal:  # the last stage is f at the step's end already
                    k_end = K_T[:, -1]
                else:
                    k_end = self.f(self.clock(dt + h), y1)
            self.cached = (index, t_n, h, y, y1, K_T, k1, k_end)
        return self.cached

    def __call__(self, t):
        t_float = float(t)
        index = max(0, min(len(self.keys) - 1, bisect_right(self.keys, self.sign * t_float) - 1))
        _, t_n, h, y, y1, K_T, k1, k_end = self.step(index)
        theta = (t_float - t_n) / h
        coef = coefficients(self.tab, y.dtype, y.device)
        if not needs_end_slope(self.tab):  # the tableau's dense output, theta as a tensor
            theta = torch.tensor(theta, dtype=y.dtype, device=y.device)
        with torch.no_grad():
            return interpolate(coef, self.tab, y, y1, K_T, h, theta, k1, k_end)
