"""The two integration loops: adaptive (bosh3, dopri5, tsit5) and fixed grid (euler, ...).

Both march a flat state ``y`` [N] from ``t_start`` through a list of *stops*: times where
a step must end exactly. After each stop ``on_stop(i, t, y)`` may return a modified state
(the adjoint adds its jump dL/dz(t_i) there) and integration simply carries on - with the
step size it had, not a fresh initial-step search. *Outputs* are times at which the
solution is reported without forcing a step to end there: they are read off the step that
contains them (``rk.interpolate``).

The adaptive loop is the same for every way of taking a step: a *step strategy* attempts
a step and measures its error (``EagerStep``, the readable default; the opt-in compiled
step of ``compiled.py``), and the loop accepts or rejects it by the rules of
``control.py``. ``odeint`` uses a single stop (the last time) and outputs at every t[i];
the adjoint's backward pass uses a stop at every t[i]. Times are Python floats for the
control logic; the tensors handed to ``f`` come from a ``Clock`` (``t_ref + offset`` when
gradients must reach the given times).
"""

from dataclasses import dataclass

import torch

from node_edu.errors import SolverError
from node_edu.solvers.control import (
    DEFAULT_MAX_NUM_STEPS,
    after_accepted,
    error_ratio,
    initial_step_size,
    judge_step,
    step_to_try,
    too_many_steps,
)
from node_edu.solvers.implicit import theta_step
from node_edu.solvers.rk import (
    Clock,
    StageBuffer,
    coefficients,
    interpolate,
    needs_end_slope,
    rk_step,
)


@dataclass
class Options:
    """Validated solver options (see ``odeint``)."""

    tab: object
    rtol: float
    atol: float
    step_size: float | None
    max_num_steps: int | None


def solve(f, y0, t_ref, t_start, stops, opts, stats, **kwargs):
    """Integrate; dispatch to the adaptive or the fixed-grid loop. See ``adaptive``."""
    loop = adaptive if opts.tab.adaptive else fixed
    return loop(f, y0, t_ref, t_start, stops, opts, stats, **kwargs)


def recording(*tensors):
    """Is autograd recording a graph through these tensors (backprop through the solver)?"""
    return torch.is_grad_enabled() and any(x.requires_grad for x in tensors)


def first_outputs(outputs, t_start, y0):
    """Results list and the index of the first output not yet produced."""
    if outputs is None:
        return None, 0
    out_floats = outputs[0]
    results = [None] * len(out_floats)
    j = 0
    while j < len(out_floats) and out_floats[j] == t_start:
        results[j] = y0
        j += 1
    return results, j


class EagerStep:
    """The default step strategy: one fused Runge-Kutta step (``rk.rk_step``) and the
    ratio of its error estimate to the tolerances (``control.error_ratio``).

    A strategy is made once per solve, from f, the tableau and its coefficients, the
    clock, the initial state y0 and slope k1, the options and the error norm's blocks.
    ``attempt`` tries a step; ``accept`` returns the accepted step's state and the slope
    there (the next step's first stage).
    """

    def __init__(self, f, tab, coef, clock, y0, k1, opts, norm_blocks):
        self.f, self.tab, self.coef, self.clock = f, tab, coef, clock
        self.norm_blocks = norm_blocks
        # Without a graph to record (inference, the adjoint), stages go to one reused buffer;
        # with one (backprop through the solver), they are stacked into new tensors.
        self.buffer = None if recording(y0, k1, clock.t_ref) else StageBuffer(tab, y0)
        # Made once, not per step: creating these small objects costs microseconds each time
        # (the tolerances as tensors: see ``control.error_ratio``).
        self.rtol, self.atol = (
            torch.scalar_tensor(x, dtype=y0.dtype, device=y0.device) for x in (opts.rtol, opts.atol)
        )
        self.no_grad = torch.no_grad()

    def attempt(self, t, dt, y, h, k1):
        """A step of size h from y at time t = t_start + dt: (y1, stages K_T, error ratio)."""
        y1, K_T = rk_step(self.f, self.tab, self.coef, self.clock, dt, y, h, k1, self.buffer)
        with self.no_grad:  # the error estimate only steers the step size
            ratio = error_ratio(K_T, self.coef, h, y, y1, self.rtol, self.atol, self.norm_blocks)
        return y1, K_T, ratio

    def accept(self, dt_new, y1, K_T):
        """(y1, f(t_new, y1)) for an accepted step ending at t_start + dt_new.

        FSAL: f there is the last stage already (with a buffer, the tensor f returned, not
        the buffer's column, which the next step overwrites); otherwise it costs one
        evaluation, which the next step needs anyway.
        """
        if self.tab.fsal:
            return y1, (K_T[:, -1] if self.buffer is None else self.buffer.last)
        return y1, self.f(self.clock(dt_new), y1)


def adaptive(
    f, y0, t_ref, t_start, stops, opts, stats, outputs=None, on_stop=None, on_step=None,
    norm_blocks=None, strategy=EagerStep,
):  # fmt: skip
    """Adaptive Runge-Kutta with error control, dense output and stops.

    f:        f(t, y) -> dy/dt, y flat [N], t a 0-dim tensor.
    y0:       [N] state at t_start (a float); t_ref is t_start as a 0-dim tensor.
    stops:    floats beyond t_start, strictly monotonic; the last one ends the solve.
    outputs:  None, or (floats, tensor) of the times to report (within [t_start, stops[-1]]).
    on_stop:  on_stop(i, t, y) -> y, called when stop i is reached.
    on_step:  on_step(t, h, y) after each accepted step (the step's start, size, state).
    norm_blocks: None (the error norm is the RMS over all of y), or the lengths of the
              blocks of y whose largest RMS counts; entries past them are left out of
              the norm (see ``control.error_ratio``).
    strategy: how a step is attempted (``EagerStep``, or compiled.py's ``CompiledStep``).
    Returns (list of the states at the outputs, or None; the final state).
    """
    tab, coef = opts.tab, coefficients(opts.tab, y0.dtype, y0.device)
    direction = 1.0 if stops[-1] > t_start else -1.0
    max_steps = opts.max_num_steps or DEFAULT_MAX_NUM_STEPS
    tiny = 8 * torch.finfo(y0.dtype).eps
    results, j = first_outputs(outputs, t_start, y0)
    out_grad = outputs is not None and recording(outputs[1])

    t, y, clock = t_start, y0, Clock(t_ref, t_start)
    k1 = f(clock(0.0), y)
    step = strategy(f, tab, coef, clock, y0, k1, opts, norm_blocks)
    if opts.step_size is not None:  # a user-given first step
        h = direction * min(opts.step_size, abs(stops[-1] - t_start))
    else:
        h = initial_step_size(
            f, clock, y, k1, tab.order, opts.rtol, opts.atol, direction,
            abs(stops[-1] - t_start), None if norm_blocks is None else sum(norm_blocks),
        )  # fmt: skip
    n_steps, blew_up = 0, False
    for i_stop, t_stop in enumerate(stops):
        while t != t_stop:
            h_step, clipped = step_to_try(t, h, t_stop, tiny, blew_up)
            n_steps += 1
            if n_steps > max_steps:
                raise too_many_steps(max_steps, t)
            y1, K_T, ratio = step.attempt(t, t - t_start, y, h_step, k1)
            retry, blew_up = judge_step(ratio, h_step, tab.order, stats)
            if retry is not None:  # rejected: try again with a smaller step
                h = retry
                continue
            t_new = t_stop if clipped else t + h_step
            y1, k_end = step.accept(t_new - t_start, y1, K_T)
            # Outputs inside this step are read off it: no extra steps.
            while results is not None and j < len(results):
                if direction * (outputs[0][j] - t_new) > 0:
                    break
                if out_grad:  # theta as a tensor, so gradients reach the output time
                    theta = (outputs[1][j] - t_ref - (t - t_start)) / h_step
                else:
                    theta = (outputs[0][j] - t) / h_step
                results[j] = interpolate(coef, tab, y, y1, K_T, h_step, theta, k1, k_end)
                j += 1
            if on_step is not None:
                on_step(t, h_step, y)
            h = after_accepted(h_step, ratio, tab.order, clipped, h, direction)
            t, y, k1 = t_new, y1, k_end
        if on_stop is not None:
            y_new = on_stop(i_stop, t, y)
            if y_new is not y:  # the state jumped: its derivative must be re-evaluated
                # (not after the last stop: nothing follows it)
                last = i_stop == len(stops) - 1
                y, k1 = y_new, None if last else f(clock(t - t_start), y_new)
    return results, y


def fixed(
    f, y0, t_ref, t_start, stops, opts, stats, outputs=None, on_stop=None, on_step=None,
    norm_blocks=None,
):  # fmt: skip
    """Fixed grid: steps of ``opts.step_size`` from t_start, the last one before each stop
    shortened to end on it (``step_size=None``: one step per stop interval). Explicit
    Runge-Kutta steps, or the implicit theta methods' Newton solves (``implicit.py``).

    Outputs between grid points use ``rk.interpolate``: for the built-in fixed-grid methods
    cubic Hermite interpolation, which needs f at the step's end; that is the next step's
    first stage, so it costs nothing extra except on the very last step. Arguments and
    result as ``adaptive``.
    """
    tab = opts.tab
    coef = None if tab.implicit else coefficients(tab, y0.dtype, y0.device)
    direction = 1.0 if stops[-1] > t_start else -1.0
    h_grid = None if opts.step_size is None else direction * opts.step_size
    results, j = first_outputs(outputs, t_start, y0)
    out_grad = outputs is not None and outputs[1].requires_grad

    t, y, k1, n_steps, buffer = t_start, y0, None, 0, None
    clock = Clock(t_ref, t_start)
    for i_stop, t_stop in enumerate(stops):
        anchor, n = t, 0  # grid points are anchor + n * h_grid (no accumulated rounding)
        while t != t_stop:
            t_new = t_stop if h_grid is None else anchor + (n + 1) * h_grid
            if direction * (t_new - t_stop) >= -1e-9 * abs(t_new - t):
                t_new = t_stop  # the last step ends exactly on the stop
            h_step = t_new - t
            n_steps += 1
            if opts.max_num_steps is not None and n_steps > opts.max_num_steps:
                raise too_many_steps(opts.max_num_steps, t)
            if k1 is None:
                k1 = f(clock(t - t_start), y)
            if tab.implicit:  # a Newton solve; it also returns f(t_new, y1)
                y1, k_end = theta_step(f, tab, clock, t - t_start, t, y, h_step, k1)
                K_T = None
            else:
                if buffer is None and not recording(y, k1, t_ref):
                    buffer = StageBuffer(tab, y)  # no graph to record: reuse one buffer
                y1, K_T = rk_step(f, tab, coef, clock, t - t_start, y, h_step, k1, buffer)
                k_end = None  # f(t_new, y1), evaluated only if an output needs it
            stats.n_accepted += 1
            while results is not None and j < len(results):
                if direction * (outputs[0][j] - t_new) > 0:
                    break
                if outputs[0][j] == t_new and not out_grad:
                    results[j] = y1
                else:
                    if k_end is None and needs_end_slope(tab):
                        k_end = f(clock(t_new - t_start), y1)
                    theta = (outputs[1][j] - t_ref - (t - t_start)) / h_step
                    results[j] = interpolate(coef, tab, y, y1, K_T, h_step, theta, k1, k_end)
                j += 1
            if on_step is not None:
                on_step(t, h_step, y)
            t, y, k1, n = t_new, y1, k_end, n + 1
        if not bool(torch.isfinite(y).all()):
            raise SolverError(
                f"the state became non-finite (nan/inf) by t={t:.6g}. The fixed step "
                "may be too large for this problem: try a smaller step_size or dopri5."
            )
        if on_stop is not None:
            y_new = on_stop(i_stop, t, y)
            if y_new is not y:
                y, k1 = y_new, None
    return results, y
