"""``odeint``: solve dz/dt = func(t, z) and report z at every t[i]."""

import torch

from node_edu.solvers.integrate import Options, solve
from node_edu.solvers.stats import SolverStats
from node_edu.solvers.validation import check_func, check_options, check_t, check_z0


class FlatFunc:
    """func(t, z) seen by the integrators as f(t, y) on a flat state y [N].

    Also counts evaluations into ``stats.nfe`` and checks what func returns.
    """

    def __init__(self, func, shape, stats):
        self.func, self.shape, self.stats = func, shape, stats
        # y.view(2, 3) is several times faster than y.view(torch.Size([2, 3])).
        self.view_args = tuple(shape) if len(shape) > 0 else ((),)
        # A 1-D z is already flat: no view in, no reshape out (each costs ~1 us a call).
        self.flat = len(shape) == 1
        self.dtype_checked = False

    def __call__(self, t, y):
        dz = self.func(t, y if self.flat else y.view(*self.view_args))
        self.stats.nfe += 1
        if not isinstance(dz, torch.Tensor):
            raise TypeError(f"func must return a torch.Tensor, got {type(dz).__name__}")
        if dz.shape != self.shape:
            raise ValueError(
                f"func returned a tensor of shape {tuple(dz.shape)}; expected z's shape "
                f"{tuple(self.shape)} (dz/dt has the shape of z)"
            )
        if not self.dtype_checked:  # once: func's dtype does not change from call to call
            if dz.dtype != y.dtype:
                raise TypeError(
                    f"func returned dtype {dz.dtype} for a state z of dtype {y.dtype}; "
                    "func must return z's dtype (convert z0, or the model, e.g. "
                    "model.to(z0.dtype))"
                )
            self.dtype_checked = True
        return dz if self.flat else dz.reshape(-1)


def check_stats(stats):
    if stats is None:
        return SolverStats()
    if not isinstance(stats, SolverStats):
        raise TypeError(f"stats must be a node_edu.SolverStats or None, got {type(stats).__name__}")
    stats.reset()
    return stats


def prepare(func, z0, t, method, rtol, atol, step_size, max_num_steps, stats):
    """Validate odeint's arguments; return (t in z0's dtype, t as floats, Options, stats)."""
    check_func(func)
    check_z0(z0)
    t, times, _ = check_t(t, z0)
    opts = Options(*check_options(method, rtol, atol, step_size, max_num_steps))
    return t, times, opts, check_stats(stats)


def stops_for(opts, times):
    """Where steps must end: only at t[-1], except a fixed grid without step_size, whose
    grid is t itself (one step per output interval, as in torchdiffeq)."""
    if not opts.tab.adaptive and opts.step_size is None:
        return times[1:]
    return [times[-1]]


def odeint(
    func, z0, t, *, method="dopri5", rtol=1e-7, atol=1e-9, step_size=None, max_num_steps=None,
    stats=None,
):  # fmt: skip
    """Solve dz/dt = func(t, z), z(t[0]) = z0, and return z at every t[i].

    Args:
        func: ``func(t, z) -> dz/dt``, ``t`` a 0-dim tensor of z0's dtype and device, ``z``
            and the result of z0's shape (torchdiffeq's convention).
        z0: initial state, any shape (e.g. ``[batch, dim]``), float32 or float64 (half
            precision and complex states are refused); func must return z0's dtype.
        t: 1-D tensor of at least 2 times, strictly increasing or strictly decreasing
            (backwards in time), on z0's device; converted to z0's dtype.
        method: adaptive ``"dopri5"`` (Dormand-Prince 5(4), default), ``"tsit5"``
            (Tsitouras 5(4)), ``"bosh3"`` (Bogacki-Shampine 3(2)); fixed-grid ``"euler"``,
            ``"midpoint"``, ``"rk4"``; implicit fixed-grid ``"implicit_euler"`` (order 1)
            and ``"trapezoid"`` (order 2), for stiff problems (each step a Newton solve
            with the N x N Jacobian of func, N = z0.numel(): see
            ``node_edu.solvers.implicit``); or a ``ButcherTableau`` of one's own.
        rtol, atol: the adaptive methods' tolerances: a step is accepted when the RMS of
            local error / (atol + rtol * |z|) is at most 1. Ignored by fixed-grid methods.
        step_size: fixed-grid methods: the grid spacing (steps start at t[0]; the last one
            is shortened to end on t[-1]); ``None`` uses t itself as the grid, one step per
            interval. Adaptive methods: the first step to try (``None``: automatic).
        max_num_steps: raise ``SolverError`` past this many steps (accepted + rejected);
            ``None``: no limit on a fixed grid, 100000 for the adaptive methods.
        stats: optional ``node_edu.SolverStats``, reset and then filled with the number of
            function evaluations and accepted/rejected steps (and, with
            ``SolverStats(record_steps=True)``, every accepted step: ``stats.steps``).

    Returns:
        Tensor ``[len(t), *z0.shape]``; ``[i]`` is z(t[i]) (``[0]`` is z0 itself).

    Output times never force a step: they are read off the step that contains them with
    the tableau's dense output (dopri5, tsit5) or cubic Hermite interpolation (bosh3 and
    the fixed-grid methods; it keeps their order). The solve is differentiable by ordinary autograd
    (backprop through the solver); step sizes count as constants there, so gradients
    with respect to t are those of the solver's map with its steps frozen (equal to the
    exact derivative up to the tolerance). For O(1)-memory gradients use
    ``odeint_adjoint``.

    Raises:
        TypeError / ValueError: bad arguments (each names the argument).
        SolverError: step-size underflow, more than max_num_steps, non-finite state, a
            Newton solve that does not converge (implicit methods).
    """
    t, times, opts, stats = prepare(
        func, z0, t, method, rtol, atol, step_size, max_num_steps, stats
    )
    f = FlatFunc(func, z0.shape, stats)
    ys, _ = solve(
        f, z0.reshape(-1), t[0], times[0], stops_for(opts, times), opts, stats,
        outputs=(times, t), on_step=stats.record_step if stats.record_steps else None,
    )  # fmt: skip
    return torch.stack(ys).view(len(times), *z0.shape)
