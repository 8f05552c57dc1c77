"""The backward pass of ``odeint_adjoint``: Algorithm 1 of Chen et al. (2018).

For z' = f(z, t, theta) and a loss on the outputs z(t_0), ..., z(t_N), the augmented state
s = [z, a, a_theta, a_t] is solved backwards from t_N to t_0 in ONE continuous solve::

    s(t_N)  = [ z(t_N), dL/dz(t_N), 0, -dL/dt_N ]
    ds/dt   = [ f,  -a^T df/dz,  -a^T df/dtheta,  -a^T df/dt ]        (aug_dynamics)
    s(t_0)  = [ z(t_0), dL/dz(t_0), dL/dtheta, dL/dt_0 ]

Each evaluation of ``aug_dynamics`` is ONE call of f and ONE vector-Jacobian product with
-a (``torch.autograd.grad`` with ``grad_outputs=-a``): no Jacobian is ever formed.
At every observation time t_i (0 < i < N) the loss also reads z(t_i) directly, so the
state jumps there: a += dL/dz(t_i), and a_t -= dL/dt_i (``jump`` in ``Backward.run``);
the solve then carries on with the step size it had.

The observation times' gradients (``direct_time_grad``): dL/dt_i = dL/dz(t_i) . f(t_i,
z(t_i)) for i >= 1 (moving an observation later reads the trajectory later); dL/dt_0 =
a_t(t_0) = -a(t_0^+) . f(t_0, z_0) for an autonomous f (starting later shortens the
trajectory); for a time-dependent f, a_t also collects f's explicit dependence on t.

Error control: a_theta and a_t feed nothing back into the dynamics (plain integrals), so
the default ``"seminorm"`` leaves them out of the error norm (Kidger, Chen & Lyons 2021);
z and a are measured separately and the larger RMS counts.
"""

import torch

from node_edu.adjoint.trajectory import Backsolve, Checkpoint
from node_edu.solvers.integrate import solve
from node_edu.solvers.stats import SolverStats


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
        """Blocks of the backward error norm (see ``control.error_ratio``): z and a each, and
        for ``"full"`` also the integrals a_theta and a_t as one more block."""
        blocks = [self.n, self.n] if self.with_z else [self.n]
        rest = self.n_theta + int(self.with_t)
        if adjoint_norm == "full" and rest > 0:
            blocks.append(rest)
        return blocks


class Backward:
    """One backward solve from t_N to t_0 with a stop at every t_i.

    setup: the ``method.Setup`` of the forward solve; t [T]: the output times; ys [T, N]:
    the forward solution there (flat); g [T, N]: dL/dz(t_i), the upstream gradients;
    t_grad: whether dL/dt is wanted. ``run()`` returns (dL/dz0 [N], dL/dtheta (one tensor
    per parameter), dL/dt [T] or None).
    """

    def __init__(self, setup, t, ys, g, t_grad):
        self.setup, self.t, self.ys, self.g, self.t_grad = setup, t, ys, g, t_grad
        self.params = setup.params
        self.stats = SolverStats()
        setup.stats.backward = self.stats
        if setup.adjoint == "backsolve":
            self.z_path = Backsolve(ys)
        else:
            self.z_path = Checkpoint(setup, t, ys, self.stats)
        self.layout = Layout(ys.shape[1], self.params, self.z_path.carries_z, t_grad)
        self.zero_grads = [torch.zeros_like(p) for p in self.params]
        if t_grad:
            self.zero_grads.append(torch.zeros((), dtype=ys.dtype, device=ys.device))

    def vjp(self, t, z, v):
        """f(t, z) and the VJPs v^T df/dz, v^T df/dtheta (one per parameter), v^T df/dt."""
        shape = self.setup.shape
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            inputs = [z, *self.params]
            if self.t_grad:
                t = t.detach().requires_grad_(True)
                inputs.append(t)
            fz = self.setup.func(t, z.view(shape))
            self.stats.nfe += 1
            if fz.requires_grad:
                grads = torch.autograd.grad(fz, inputs, v.view(shape), allow_unused=True)
            else:  # f depends on none of the inputs
                grads = [None] * len(inputs)
        zeros = [torch.zeros_like(z), *self.zero_grads]
        return fz, [zero if g is None else g for g, zero in zip(grads, zeros, strict=True)]

    def aug_dynamics(self, t, s):
        """ds/dt = [f, -a^T df/dz, -a^T df/dtheta, -a^T df/dt]: one VJP, taken with -a."""
        state = self.layout.unpack(s)
        z = self.z_path.z(t, state)
        f, (minus_a_dfdz, *minus_a_dfdtheta) = self.vjp(t, z, -state.a)
        minus_a_dfdt = minus_a_dfdtheta.pop() if self.t_grad else None
        return self.layout.pack(z=f, a=minus_a_dfdz, a_theta=minus_a_dfdtheta, a_t=minus_a_dfdt)

    def direct_time_grad(self, i):
        """dL/dt_i through the output z(t_i) itself: dL/dz(t_i) . f(t_i, z(t_i))."""
        with torch.no_grad():
            fz = self.setup.func(self.t[i], self.ys[i].view(self.setup.shape))
        self.stats.nfe += 1
        return torch.dot(fz.reshape(-1), self.g[i])

    def initial_state(self, time_grads):
        """s(t_N) = [z(t_N), dL/dz(t_N), 0, -dL/dt_N]."""
        a_t = None
        if self.t_grad:
            time_grads[-1] = self.direct_time_grad(len(self.ys) - 1)
            a_t = -time_grads[-1]
        zeros = [p.new_zeros(p.numel()) for p in self.params]
        return self.layout.pack(z=self.ys[-1], a=self.g[-1], a_theta=zeros, a_t=a_t)

    def run(self):
        times, layout = self.setup.times, self.layout
        T = len(times)
        drift, time_grads = [0.0] * T, [None] * T
        observed = list(range(T - 2, -1, -1))  # the stops, in the order met: t[T-2] .. t[0]

        def jump(k, t_now, s):
            """At t_i the loss reads z(t_i) directly: a += dL/dz(t_i), a_t -= dL/dt_i."""
            i = observed[k]
            s = s.clone()
            state = layout.unpack(s)
            drift[i] = self.z_path.observe(i, state)
            state.a += self.g[i]
            if self.t_grad and i > 0:  # output 0 is z0 itself: no direct dependence on t_0
                time_grads[i] = self.direct_time_grad(i)
                state.a_t -= time_grads[i]
            return s

        _, s = solve(
            self.aug_dynamics, self.initial_state(time_grads), self.t[-1].detach(), times[-1],
            times[-2::-1], self.setup.backward_opts, self.stats, on_stop=jump,
            norm_blocks=layout.norm_blocks(self.setup.adjoint_norm),
        )  # fmt: skip
        self.stats.drift = drift
        state = layout.unpack(s)
        grad_t = None
        if self.t_grad:
            time_grads[0] = state.a_t[0]  # dL/dt_0 = a_t(t_0)
            grad_t = torch.stack(time_grads)
        return state.a, layout.split_params(state.a_theta), grad_t
