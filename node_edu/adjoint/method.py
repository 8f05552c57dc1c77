"""``odeint_adjoint``: gradients of an ODE solve by the continuous adjoint method.

The forward pass is ``odeint`` with no graph kept; the backward pass solves the adjoint
ODE backwards in time (Chen et al. 2018, Algorithm 1). Reading order:

* this module: the public function, its checks, and the autograd ``Function`` that joins
  the two passes (what is saved for the backward pass: the outputs and the times);
* ``backward.py``: the backward pass, Algorithm 1 with the jumps at observation times;
* ``trajectory.py``: where z(t) comes from on the way back (``"backsolve"`` or
  ``"checkpoint"``).

Memory: ``"backsolve"`` keeps only the outputs, whatever the number of steps (O(1) in
steps); ``"checkpoint"`` also keeps one state per forward step (O(steps), no drift).
"""

from dataclasses import dataclass

import torch

from node_edu.adjoint.backward import Backward
from node_edu.solvers.integrate import Options, solve
from node_edu.solvers.odeint import FlatFunc, prepare, stops_for
from node_edu.solvers.stats import SolverStats
from node_edu.solvers.validation import check_positive

ADJOINTS = ("backsolve", "checkpoint")
ADJOINT_NORMS = ("seminorm", "full")


def odeint_adjoint(
    func, z0, t, *, params=None, adjoint="backsolve", method="dopri5", rtol=1e-7, atol=1e-9,
    adjoint_rtol=None, adjoint_atol=None, adjoint_norm="seminorm", step_size=None,
    max_num_steps=None, stats=None,
):  # fmt: skip
    """``odeint`` with gradients by the continuous adjoint method.

    Same arguments and result as ``node_edu.odeint``, plus:
        params: the tensors to differentiate with respect to besides z0 and t. Default:
            the parameters of ``func`` that require grad, when ``func`` is an
            ``nn.Module``; otherwise none (a tensor func uses but that is not listed gets
            no gradient).
        adjoint: ``"backsolve"`` (z recomputed backwards; memory O(1) in the number of
            steps) or ``"checkpoint"`` (z recomputed forward from per-step checkpoints; no
            drift; memory grows with the steps). See ``node_edu.adjoint.trajectory``.
        adjoint_rtol, adjoint_atol: tolerances of the backward solve (default rtol, atol).
        adjoint_norm: the error norm of the backward solve. ``"seminorm"`` (default,
            Kidger, Chen & Lyons 2021): the larger RMS of z and a, leaving out a_theta and
            a_t, which feed nothing back; ``"full"``: a_theta and a_t count too, as one
            more block (every part of the augmented state counts, the usual choice that
            Kidger et al. improve on).
            Both give gradients to the tolerance; the seminorm usually in fewer steps.
        stats: a ``SolverStats`` filled by the forward solve; ``stats.backward`` is filled
            when ``.backward()`` runs (evaluations, steps, and the drift per t[i]).

    func is called in ``torch.no_grad()`` mode during the forward solve (as in
    torchdiffeq); a func that needs autograd itself must use ``torch.enable_grad()``.
    Differentiable once: a second derivative (``create_graph=True``) raises a RuntimeError
    pointing to ``ne.odeint``, which backpropagates through the solver instead.
    """
    t, times, opts, stats = prepare(
        func, z0, t, method, rtol, atol, step_size, max_num_steps, stats
    )
    if opts.tab.implicit:
        raise ValueError(
            f"method={opts.tab.name!r} is not supported by odeint_adjoint: its backward "
            "solve would need Jacobians of the augmented dynamics, which are themselves "
            "vector-Jacobian products. Use ne.odeint (backprop through the Newton solves)."
        )
    if adjoint not in ADJOINTS:
        raise ValueError(f"adjoint must be one of {list(ADJOINTS)}, got {adjoint!r}")
    if adjoint_norm not in ADJOINT_NORMS:
        raise ValueError(f"adjoint_norm must be one of {list(ADJOINT_NORMS)}, got {adjoint_norm!r}")
    adjoint_rtol = check_positive("adjoint_rtol", rtol if adjoint_rtol is None else adjoint_rtol)
    adjoint_atol = check_positive("adjoint_atol", atol if adjoint_atol is None else adjoint_atol)
    params = _check_params(func, params)
    setup = Setup(
        func=func,
        shape=z0.shape,
        times=times,
        opts=opts,
        backward_opts=Options(opts.tab, adjoint_rtol, adjoint_atol, step_size, max_num_steps),
        adjoint=adjoint,
        adjoint_norm=adjoint_norm,
        stats=stats,
        params=params,
        checkpoints=[] if adjoint == "checkpoint" else None,
    )
    return _OdeintAdjoint.apply(setup, z0, t, *params)


def _check_params(func, params):
    if params is None:
        params = func.parameters() if isinstance(func, torch.nn.Module) else ()
    elif isinstance(params, torch.Tensor):
        params = (params,)
    try:
        params = list(params)
    except TypeError:
        raise TypeError(
            f"params must be an iterable of tensors or None, got {type(params).__name__}"
        ) from None
    unique = {}
    for p in params:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"params must hold only tensors, got a {type(p).__name__}")
        if p.requires_grad:  # others cannot receive a gradient anyway
            unique.setdefault(id(p), p)
    return list(unique.values())


@dataclass
class Setup:
    """What the autograd ``Function`` needs besides tensors: fixed when the solve starts,
    except ``checkpoints`` (the forward steps' starts, filled by the forward solve when
    ``adjoint == "checkpoint"``) and ``stats`` (filled by both solves)."""

    func: object
    shape: torch.Size
    times: list  # the output times as Python floats
    opts: Options  # the forward solve's
    backward_opts: Options  # the backward solve's (adjoint_rtol, adjoint_atol)
    adjoint: str  # "backsolve" or "checkpoint"
    adjoint_norm: str  # "seminorm" or "full"
    stats: SolverStats
    params: list  # the tensors dL/dtheta is computed for
    checkpoints: list | None  # [(t_n, h_n, y_n)] of every forward step, or None


class _OdeintAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, setup, z0, t, *params):
        f = FlatFunc(setup.func, setup.shape, setup.stats)
        on_step = None if setup.checkpoints is None else _record(setup.checkpoints)
        times, opts = setup.times, setup.opts
        ys, _ = solve(
            f, z0.reshape(-1), t[0], times[0], stops_for(opts, times), opts, setup.stats,
            outputs=(times, t), on_step=on_step,
        )  # fmt: skip
        ys = torch.stack(ys)  # [T, N]
        ctx.setup = setup
        ctx.save_for_backward(t, ys)
        return ys.view(len(times), *setup.shape)

    @staticmethod
    def backward(ctx, grad_ys):
        if torch.is_grad_enabled():  # autograd records a graph of this backward: create_graph
            raise RuntimeError(
                "odeint_adjoint is differentiable once: its backward pass (the adjoint solve) "
                "cannot itself be differentiated (create_graph=True, higher derivatives). "
                "Use ne.odeint, which backpropagates through the solver and can be "
                "differentiated any number of times."
            )
        t, ys = ctx.saved_tensors
        t_grad = ctx.needs_input_grad[2]
        adjoint = Backward(ctx.setup, t, ys, grad_ys.reshape(ys.shape), t_grad)
        grad_z0, grad_params, grad_t = adjoint.run()
        return (None, grad_z0.view(ctx.setup.shape), grad_t, *grad_params)


def _record(checkpoints):
    """on_step for the forward solve: keep each accepted step's start (t, h, y)."""

    def on_step(t, h, y):
        checkpoints.append((t, h, y))

    return on_step
