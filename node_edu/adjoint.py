"""``odeint_adjoint``: gradients of an ODE solve by the continuous adjoint method.

Chen et al. (2018), Algorithm 1. For z' = f(t, z, theta) and a loss L(z(t_0..t_N)), the
adjoint a(t) = dL/dz(t) obeys, backwards in time from t_N to t_0::

    da/dt       = -a^T df/dz          (a starts at dL/dz(t_N))
    da_theta/dt = -a^T df/dtheta      (starts at 0; dL/dtheta = a_theta(t_0))
    da_t/dt     = -a^T df/dt          (starts at -dL/dt_N; dL/dt_0 = a_t(t_0))

Each evaluation of these right-hand sides is ONE call of f plus ONE vector-Jacobian
product (``torch.autograd.grad`` with ``grad_outputs=a``): no Jacobian is ever formed and
the forward solve keeps no graph, so memory does not grow with the number of steps.

Several output times: the loss also depends on z(t_i) directly, so at each t_i the adjoint
jumps, a += dL/dz(t_i). The backward pass is ONE continuous solve from t_N to t_0 whose
steps end on every t_i; after a jump it carries on with the step size it had.
Sign convention: dL/dt_i = (dL/dz(t_i))^T f(t_i, z(t_i)) for i >= 1 (moving an
observation later reads the trajectory later); dL/dt_0 = a_t(t_0) = -a(t_0^+)^T f(t_0, z_0)
for an autonomous f (starting later shortens the trajectory). Both are checked against
autograd in the tests.

z(t) on the way back:
  * ``adjoint="backsolve"`` (Chen et al.): z is integrated backwards together with a.
    Errors make it drift from the forward solution (large for contracting dynamics,
    which are expanding backwards); the drift at each t_i is reported in
    ``stats.backward.drift``, and z is then reset to its forward value there (as
    torchdiffeq does), so drift never carries over to the next interval.
  * ``adjoint="checkpoint"``: the forward pass keeps the state at the start of every step
    (a checkpoint, not a graph); the backward pass recomputes the step it needs from its
    checkpoint and reads z(t) off that step's dense output (the scheme of CVODES,
    Hindmarsh et al. 2005). No drift; memory grows with the number of steps.

Error control of the backward solve uses a seminorm (Kidger, Chen & Lyons 2021, "Hey,
that's not an ODE"): a_theta and a_t never feed back into the dynamics, they are plain
integrals, so leaving them out of the error norm costs no accuracy in z and a and saves
steps. Within the norm, z and a are measured separately and the larger RMS counts.
"""

from bisect import bisect_right

import torch

from .solvers.integrate import Options, solve
from .solvers.odeint import FlatFunc, prepare, stops_for
from .solvers.rk import Clock, coefficients, dense_output, hermite, rk_step
from .solvers.stats import SolverStats
from .solvers.validation import check_positive

ADJOINTS = ("backsolve", "checkpoint")


def odeint_adjoint(
    func, z0, t, *, params=None, adjoint="backsolve", method="dopri5", rtol=1e-7, atol=1e-9,
    adjoint_rtol=None, adjoint_atol=None, step_size=None, max_num_steps=None, stats=None,
):  # fmt: skip
    """``odeint`` with gradients by the continuous adjoint method (O(1) memory in steps).

    Same arguments and result as ``node_edu.odeint``, plus:
        params: the tensors to differentiate with respect to besides z0 and t. Default:
            the parameters of ``func`` that require grad, when ``func`` is an
            ``nn.Module``; otherwise none (a tensor func uses but that is not listed gets
            no gradient).
        adjoint: ``"backsolve"`` (z recomputed backwards) or ``"checkpoint"`` (z recomputed
            forward from per-step checkpoints; no drift). See the module docstring.
        adjoint_rtol, adjoint_atol: tolerances of the backward solve (default rtol, atol).
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
    adjoint_rtol = check_positive("adjoint_rtol", rtol if adjoint_rtol is None else adjoint_rtol)
    adjoint_atol = check_positive("adjoint_atol", atol if adjoint_atol is None else adjoint_atol)
    params = _check_params(func, params)
    setup = _Setup(
        func=func,
        shape=z0.shape,
        times=times,
        opts=opts,
        backward_opts=Options(opts.tab, adjoint_rtol, adjoint_atol, step_size, max_num_steps),
        adjoint=adjoint,
        stats=stats,
        params=params,
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


class _Setup:
    """Everything the autograd Function needs besides tensors (a plain record)."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class _OdeintAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, setup, z0, t, *params):
        f = FlatFunc(setup.func, setup.shape, setup.stats)
        setup.checkpoints = [] if setup.adjoint == "checkpoint" else None
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
        adjoint = _Backward(ctx.setup, t, ys, grad_ys.reshape(ys.shape), t_grad)
        grad_z0, grad_params, grad_t = adjoint.run()
        return (None, grad_z0.view(ctx.setup.shape), grad_t, *grad_params)


def _record(checkpoints):
    def on_step(t, h, y):
        checkpoints.append((t, h, y))

    return on_step


class _Backward:
    """One backward (adjoint) solve from t[-1] to t[0] with a stop at every t[i].

    State layout, a flat vector: backsolve ``[z | a | a_theta | a_t]``,
    checkpoint ``[a | a_theta | a_t]`` (a_t only when t requires grad).
    """

    def __init__(self, setup, t, ys, g, t_grad):
        self.setup, self.t, self.ys, self.g, self.t_grad = setup, t, ys, g, t_grad
        self.params = setup.params
        self.n = ys.shape[1]
        self.stats = SolverStats()
        setup.stats.backward = self.stats
        self.backsolve = setup.adjoint == "backsolve"
        self.trajectory = None if self.backsolve else _Trajectory(setup, t, self.stats)
        self.zero_grads = [torch.zeros_like(p) for p in self.params]
        if t_grad:
            self.zero_grads.append(torch.zeros((), dtype=ys.dtype, device=ys.device))

    def vjp(self, tt, z, a):
        """f(t, z) and the VJPs a^T df/dz, a^T df/dtheta (each param), a^T df/dt."""
        shape = self.setup.shape
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            inputs = [z, *self.params]
            if self.t_grad:
                tt = tt.detach().requires_grad_(True)
                inputs.append(tt)
            fz = self.setup.func(tt, z.view(shape))
            self.stats.nfe += 1
            if fz.requires_grad:
                grads = torch.autograd.grad(fz, inputs, a.view(shape), allow_unused=True)
            else:  # f depends on none of the inputs
                grads = [None] * len(inputs)
        zeros = [torch.zeros_like(z), *self.zero_grads]
        return fz, [zero if g is None else g for g, zero in zip(grads, zeros, strict=True)]

    def dynamics(self, tt, y):
        """The augmented right-hand side, on the flat state (see the class docstring)."""
        n = self.n
        if self.backsolve:
            z, a = y[:n], y[n : 2 * n]
            fz, grads = self.vjp(tt, z, a)
            out = torch.cat([fz.reshape(-1), *(g.reshape(-1) for g in grads)])
            out[n:].neg_()  # da/dt = -a^T df/dz, and likewise for a_theta and a_t
            return out
        _, grads = self.vjp(tt, self.trajectory(tt), y[:n])
        return torch.cat([g.reshape(-1) for g in grads]).neg_()

    def direct_time_grad(self, i):
        """dL/dt_i through the output z(t_i) itself: dL/dz(t_i) . f(t_i, z(t_i))."""
        with torch.no_grad():
            fz = self.setup.func(self.t[i], self.ys[i].view(self.setup.shape))
        self.stats.nfe += 1
        return torch.dot(fz.reshape(-1), self.g[i])

    def run(self):
        n, T, ys, g = self.n, len(self.setup.times), self.ys, self.g
        times = self.setup.times
        drift = [0.0] * T
        time_grads = [None] * T
        a_t = []
        if self.t_grad:
            time_grads[-1] = self.direct_time_grad(T - 1)
            a_t = [-time_grads[-1].reshape(1)]
        z_part = [ys[-1]] if self.backsolve else []
        y0 = torch.cat([*z_part, g[-1], *(p.new_zeros(p.numel()) for p in self.params), *a_t])

        def on_stop(k, t_now, y):
            i = T - 2 - k  # stops run t[T-2], ..., t[0]
            y = y.clone()
            if self.backsolve:
                drift[i] = (y[:n] - ys[i]).abs().max().item()
                y[:n] = ys[i]  # reset z to the forward solution: drift does not carry over
                y[n : 2 * n] += g[i]
            else:
                drift[i] = (self.trajectory(self.t[i]) - ys[i]).abs().max().item()
                y[:n] += g[i]
            if self.t_grad and i > 0:  # output 0 is z0 itself: no direct dependence on t_0
                time_grads[i] = self.direct_time_grad(i)
                y[-1] -= time_grads[i]
            return y

        offset = n if self.backsolve else 0
        _, y = solve(
            self.dynamics, y0, self.t[-1].detach(), times[-1], times[-2::-1],
            self.setup.backward_opts, self.stats, on_stop=on_stop,
            # Seminorm: z and a only, not a_theta or a_t; for backsolve the larger of the
            # RMS over z and over a (a mixed norm, as torchdiffeq's), so neither hides
            # the other's error when their scales differ.
            n_norm=offset + n,
            n_blocks=2 if self.backsolve else 1,
        )  # fmt: skip
        self.stats.drift = drift
        grad_z0 = y[offset : offset + n]
        grad_params, start = [], offset + n
        for p in self.params:
            grad_params.append(y[start : start + p.numel()].view_as(p))
            start += p.numel()
        grad_t = None
        if self.t_grad:
            time_grads[0] = y[-1]
            grad_t = torch.stack(time_grads)
        return grad_z0, grad_params, grad_t


class _Trajectory:
    """z(t) of the forward solve, rebuilt one step at a time from its checkpoints.

    Called with a 0-dim time tensor; finds the forward step containing it, recomputes
    that step from its checkpoint (cached, since the backward solve visits the steps in
    order) and evaluates its dense output (dopri5) or Hermite interpolant (fixed grid).
    """

    def __init__(self, setup, t, stats):
        self.setup, self.stats = setup, stats
        self.opts = setup.opts
        self.f = FlatFunc(setup.func, setup.shape, stats)
        self.clock = Clock(t[0].detach(), setup.times[0])
        self.sign = 1.0 if setup.times[-1] > setup.times[0] else -1.0
        self.keys = [self.sign * start for start, _, _ in setup.checkpoints]
        self.cached = None

    def step(self, index):
        if self.cached is None or self.cached[0] != index:
            t_n, h, y = self.setup.checkpoints[index]
            tab = self.opts.tab
            coef = coefficients(tab, y.dtype, y.device)
            dt = t_n - self.clock.t_start
            with torch.no_grad():
                k1 = self.f(self.clock(dt), y)
                y1, K_T = rk_step(self.f, tab, coef, self.clock, dt, y, h, k1)
                k_end = None if tab.dense is not None else self.f(self.clock(dt + h), y1)
            self.cached = (index, t_n, h, y, y1, K_T, k_end)
        return self.cached

    def __call__(self, tt):
        t_float = float(tt)
        index = max(0, min(len(self.keys) - 1, bisect_right(self.keys, self.sign * t_float) - 1))
        _, t_n, h, y, y1, K_T, k_end = self.step(index)
        theta = (t_float - t_n) / h
        with torch.no_grad():
            if k_end is None:
                coef = coefficients(self.opts.tab, y.dtype, y.device)
                theta_t = torch.tensor(theta, dtype=y.dtype, device=y.device)
                return dense_output(coef, y, K_T, h, theta_t)
            return hermite(y, y1, K_T[:, 0], k_end, h, theta)
