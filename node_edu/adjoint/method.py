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
(starting later shortens the trajectory), for a time-dependent f as well as an autonomous
one: a_t accumulates the explicit dependence of f on t along the way, and what is left at
t_0 is exactly the term -a^T f. Both are checked against autograd and finite differences in
the tests.

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

Error control of the backward solve uses a seminorm by default (Kidger, Chen & Lyons
2021, "Hey, that's not an ODE"): a_theta and a_t never feed back into the dynamics, they
are plain integrals, so leaving them out of the error norm costs no accuracy in z and a and
saves steps. Within the norm, z and a are measured separately and the larger RMS counts.
``adjoint_norm="full"`` counts a_theta and a_t as well.

Reading order: ``Layout`` (the named blocks of the augmented state), ``Backsolve`` and
``Checkpoint`` (the two ways of getting z(t) on the way back, and what each does at an
observation time), ``_Backward`` (the augmented dynamics and the one backward solve).
"""

from bisect import bisect_right

import torch

from node_edu.solvers.integrate import Options, solve
from node_edu.solvers.odeint import FlatFunc, prepare, stops_for
from node_edu.solvers.rk import Clock, coefficients, dense_output, hermite, rk_step
from node_edu.solvers.stats import SolverStats
from node_edu.solvers.validation import check_positive

ADJOINTS = ("backsolve", "checkpoint")
ADJOINT_NORMS = ("seminorm", "full")


def odeint_adjoint(
    func, z0, t, *, params=None, adjoint="backsolve", method="dopri5", rtol=1e-7, atol=1e-9,
    adjoint_rtol=None, adjoint_atol=None, adjoint_norm="seminorm", step_size=None,
    max_num_steps=None, stats=None,
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
    setup = _Setup(
        func=func,
        shape=z0.shape,
        times=times,
        opts=opts,
        backward_opts=Options(opts.tab, adjoint_rtol, adjoint_atol, step_size, max_num_steps),
        adjoint=adjoint,
        adjoint_norm=adjoint_norm,
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


class Augmented:
    """Named views into the flat augmented state (None where the layout has no block)."""

    def __init__(self, z, a, a_theta, a_t):
        self.z, self.a, self.a_theta, self.a_t = z, a, a_theta, a_t


class Layout:
    """Where z, a, a_theta and a_t sit in the flat state of the backward solve::

        [ z (N, backsolve only) | a (N) | a_theta (all params, flat) | a_t (1, if t needs grad) ]

    ``pack`` builds the flat vector from named parts, ``unpack`` gives named views into it
    (writing into a view writes into the state).
    """

    def __init__(self, n, params, with_z, with_t):
        self.n, self.params, self.with_z, self.with_t = n, params, with_z, with_t
        self.n_theta = sum(p.numel() for p in params)
        sizes = {"z": n if with_z else 0, "a": n, "a_theta": self.n_theta, "a_t": int(with_t)}
        self.slices, start = {}, 0
        for name, size in sizes.items():
            self.slices[name] = slice(start, start + size)
            start += size
        # a, a_theta and a_t: every block whose dynamics carry the minus sign of -a^T df/d.
        self.adjoint_part = slice(self.slices["a"].start, start)

    def pack(self, *, z=None, a, a_theta, a_t=None):
        """The flat state from its parts (a_theta: one tensor per parameter)."""
        parts = [z.reshape(-1)] if self.with_z else []
        parts += [a.reshape(-1), *(g.reshape(-1) for g in a_theta)]
        if self.with_t:
            parts.append(a_t.reshape(1))
        return torch.cat(parts)

    def unpack(self, y):
        def view(name):
            block = self.slices[name]
            return y[block] if block.stop > block.start or name == "a_theta" else None

        return Augmented(view("z"), view("a"), view("a_theta"), view("a_t"))

    def split_params(self, a_theta):
        """a_theta as one tensor per parameter, each of its parameter's shape."""
        sizes = [p.numel() for p in self.params]
        return [g.view_as(p) for g, p in zip(a_theta.split(sizes), self.params, strict=True)]

    def norm_blocks(self, adjoint_norm):
        """Blocks of the backward error norm (see ``rk.error_ratio``): z and a each, and for
        ``"full"`` also the integrals a_theta and a_t as one more block."""
        blocks = [self.n, self.n] if self.with_z else [self.n]
        rest = self.n_theta + int(self.with_t)
        if adjoint_norm == "full" and rest > 0:
            blocks.append(rest)
        return blocks


class Backsolve:
    """Chen et al.: z(t) is integrated backwards together with a (it is part of the state)."""

    carries_z = True

    def __init__(self, setup, t, ys, stats):
        self.ys = ys

    def z(self, tt, state):
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
        self.trajectory = _Trajectory(setup, t, stats)

    def z(self, tt, state):
        return self.trajectory(tt)

    def observe(self, i, state):
        return (self.trajectory(self.t[i]) - self.ys[i]).abs().max().item()


STRATEGIES = {"backsolve": Backsolve, "checkpoint": Checkpoint}


class _Backward:
    """One backward (adjoint) solve from t[-1] to t[0] with a stop at every t[i]:
    Algorithm 1 of Chen et al., with the jumps of a loss on every output."""

    def __init__(self, setup, t, ys, g, t_grad):
        self.setup, self.t, self.ys, self.g, self.t_grad = setup, t, ys, g, t_grad
        self.params = setup.params
        self.stats = SolverStats()
        setup.stats.backward = self.stats
        self.strategy = STRATEGIES[setup.adjoint](setup, t, ys, self.stats)
        self.layout = Layout(ys.shape[1], self.params, self.strategy.carries_z, t_grad)
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
        """The augmented right-hand side: dz/dt = f, da/dt = -a^T df/dz,
        da_theta/dt = -a^T df/dtheta, da_t/dt = -a^T df/dt."""
        state = self.layout.unpack(y)
        fz, (a_dfdz, *a_dfdtheta) = self.vjp(tt, self.strategy.z(tt, state), state.a)
        a_dfdt = a_dfdtheta.pop() if self.t_grad else None
        out = self.layout.pack(z=fz, a=a_dfdz, a_theta=a_dfdtheta, a_t=a_dfdt)
        out[self.layout.adjoint_part].neg_()  # one minus sign for all three (in place: fast)
        return out

    def direct_time_grad(self, i):
        """dL/dt_i through the output z(t_i) itself: dL/dz(t_i) . f(t_i, z(t_i))."""
        with torch.no_grad():
            fz = self.setup.func(self.t[i], self.ys[i].view(self.setup.shape))
        self.stats.nfe += 1
        return torch.dot(fz.reshape(-1), self.g[i])

    def run(self):
        T, ys, g, layout = len(self.setup.times), self.ys, self.g, self.layout
        times = self.setup.times
        drift, time_grads, a_t = [0.0] * T, [None] * T, None
        if self.t_grad:
            time_grads[-1] = self.direct_time_grad(T - 1)
            a_t = -time_grads[-1]
        y0 = layout.pack(
            z=ys[-1], a=g[-1], a_theta=[p.new_zeros(p.numel()) for p in self.params], a_t=a_t
        )
        observed = list(range(T - 2, -1, -1))  # the stops, in the order met: t[T-2] .. t[0]

        def on_stop(k, t_now, y):
            i = observed[k]
            y = y.clone()
            state = layout.unpack(y)
            drift[i] = self.strategy.observe(i, state)
            state.a += g[i]  # the jump: the loss reads z(t_i) directly
            if self.t_grad and i > 0:  # output 0 is z0 itself: no direct dependence on t_0
                time_grads[i] = self.direct_time_grad(i)
                state.a_t -= time_grads[i]
            return y

        _, y = solve(
            self.dynamics, y0, self.t[-1].detach(), times[-1], times[-2::-1],
            self.setup.backward_opts, self.stats, on_stop=on_stop,
            norm_blocks=layout.norm_blocks(self.setup.adjoint_norm),
        )  # fmt: skip
        self.stats.drift = drift
        state = layout.unpack(y)
        grad_t = None
        if self.t_grad:
            time_grads[0] = state.a_t[0]
            grad_t = torch.stack(time_grads)
        return state.a, layout.split_params(state.a_theta), grad_t


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
                if tab.dense is not None:
                    k_end = None
                elif tab.fsal:  # the last stage is f at the step's end already
                    k_end = K_T[:, -1]
                else:
                    k_end = self.f(self.clock(dt + h), y1)
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
