"""LinearODE: everything about dz/dt = A z on [t0, t1], exactly.

See the package docstring (``node_edu.linear``) for the conventions.
"""

import warnings

import numpy as np
import sympy as sp
import torch
from sympy.matrices.exceptions import MatrixError

from node_edu.linear._flows import ExactFlow, NumericFlow
from node_edu.linear._inputs import (
    exact_matrix,
    exact_scalar,
    exact_targets,
    exact_times,
    exact_vector,
)
from node_edu.linear._timeout import SympyTimeout, call_with_timeout
from node_edu.linear.results import EulerResult, Gradients

LOSSES = ("mean", "sum")


class NumericFallbackWarning(UserWarning):
    """SymPy found no closed form in time; the numbers come from mpmath instead."""


class LinearODE:
    """The linear ODE dz/dt = A z, z(t0) = z0, on [t0, t1], with exact answers.

    Args:
        A: n x n real matrix (nested lists, numpy, torch, SymPy); a number for n = 1.
        z0: initial state, length n.
        t0, t1: the interval, t0 < t1.
        timeout: seconds SymPy may spend on one closed form (default 2.0; None: no
            limit). Past it, the answer comes from mpmath and says so.
        dps: decimal digits of that mpmath fallback (at least 30).

    Attributes ``A``, ``z0`` (n x 1), ``t0``, ``t1`` are exact SymPy objects, and ``t`` is
    the real symbol used in formulas.
    """

    def __init__(self, A, z0, t0=0, t1=1, *, timeout=2.0, dps=30):
        self.A = exact_matrix(A, "A")
        self.n = self.A.shape[0]
        self.z0 = exact_vector(z0, "z0", self.n)
        self.t0, self.t1 = exact_scalar(t0, "t0"), exact_scalar(t1, "t1")
        if not self.t1 > self.t0:
            raise ValueError(f"t1: expected t1 > t0 = {self.t0}, got t1 = {self.t1}")
        if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
            raise ValueError(
                f"timeout: expected a positive number of seconds or None, got {timeout!r}"
            )
        if not isinstance(dps, int) or isinstance(dps, bool) or dps < 30:
            raise ValueError(f"dps: expected an integer >= 30 (fallback digits), got {dps!r}")
        self.timeout, self.dps = timeout, dps
        self.t = sp.Symbol("t", real=True)
        self._exact_flow = None  # built on first use (the Jordan form can be slow)
        self._exact_failed = None  # why the exact path gave up for good, if it did
        self._numeric_flow = NumericFlow(self.A, dps)

    def __repr__(self):
        return f"LinearODE(A={self.A.tolist()}, z0={list(self.z0)}, t0={self.t0}, t1={self.t1})"

    def _repr_latex_(self):
        A, z0 = sp.latex(self.A), sp.latex(self.z0)
        t0, t1 = sp.latex(self.t0), sp.latex(self.t1)
        return rf"$\dot z = {A} z,\quad z({t0}) = {z0},\quad t \in [{t0}, {t1}]$"

    # -- exact first, mpmath when SymPy runs out of time ------------------------------

    def _compute(self, what, compute):
        """Return (compute(flow), flow): the exact flow if SymPy finishes in time."""
        reason = self._exact_failed
        if reason is None:

            def attempt():
                if self._exact_flow is None:
                    self._exact_flow = ExactFlow(self.A)
                return compute(self._exact_flow)

            try:
                return call_with_timeout(attempt, self.timeout), self._exact_flow
            except SympyTimeout:
                reason = f"SymPy gave no closed form within {self.timeout} s"
            except (MatrixError, NotImplementedError) as error:
                reason = f"SymPy could not find the Jordan form ({error})"
            if self._exact_flow is None:  # no Jordan form: do not wait for it again
                self._exact_failed = reason
        warnings.warn(
            f"{what}: {reason}; using mpmath with {self.dps} digits instead",
            NumericFallbackWarning,
            stacklevel=3,
        )
        return compute(self._numeric_flow), self._numeric_flow

    @property
    def exact(self):
        """False once SymPy has failed to give exp(A t) in time (then all is mpmath)."""
        return self._exact_failed is None

    def _time(self, t, name):
        if isinstance(t, sp.Basic) and t.free_symbols:
            return t
        return exact_scalar(t, name)

    def _at(self, what, t, compute):
        """compute(flow, t) at a number t, or as a formula in a symbol t."""
        t = self._time(t, "t")
        if isinstance(t, sp.Basic) and t.free_symbols:
            # Work with our real symbol so that exp(i w t) becomes cos and sin.
            value, _ = self._compute(what, lambda flow: compute(flow, self.t))
            return value.subs(self.t, t)
        return self._compute(what, lambda flow: compute(flow, t))[0]

    # -- the flow and the adjoint ------------------------------------------------------

    def solution(self, t):
        """z(t) = exp(A (t - t0)) z0, n x 1; a formula when ``t`` is a SymPy symbol."""
        return self._at("solution", t, lambda flow, t: flow.phi(t - self.t0) * self.z0)

    def adjoint(self, t, a1):
        """a(t) = exp(A^T (t1 - t)) a1: da/dt = -A^T a with a(t1) = a1 (no jumps)."""
        a1 = exact_vector(a1, "a1", self.n)
        return self._at("adjoint", t, lambda flow, t: flow.phi(self.t1 - t).T * a1)

    def _float_flow(self, ts, name):
        """exp(A s) at float64 times s (for plots), shape [len(ts), n, n]."""
        s = torch.as_tensor(np.asarray(ts, dtype=np.float64))
        if s.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D grid of times, got shape {tuple(s.shape)}")
        A = torch.tensor(np.asarray(self.A.evalf(17).tolist(), dtype=np.float64))
        return s, torch.linalg.matrix_exp(s[:, None, None] * A)

    def solution_on_grid(self, ts):
        """z(t) at float times ``ts`` (float64, torch.linalg.matrix_exp): [len(ts), n]."""
        s, phi = self._float_flow(np.asarray(ts, dtype=np.float64) - float(self.t0), "ts")
        z0 = torch.tensor([float(x) for x in self.z0], dtype=torch.float64)
        return (phi @ z0).numpy()

    # -- losses over observation times -------------------------------------------------

    def _observations(self, y, times, loss):
        if loss not in LOSSES:
            raise ValueError(f"loss: expected one of {LOSSES}, got {loss!r}")
        times = [self.t1] if times is None else exact_times(times, "times", self.t0, self.t1)
        targets = exact_targets(y, "y", len(times), self.n)
        scale = sp.Rational(1, len(times)) if loss == "mean" else sp.Integer(1)
        return times, targets, scale

    def gradients(self, y, times=None, loss="mean", *, with_dA=True):
        """Exact gradients of L = c sum_i |z(t_i) - y_i|^2 (c = 1/m "mean", 1 "sum").

        Args:
            y: targets, shape (m, n) (or (n,) for one time).
            times: observation times t_1 < ... < t_m in [t0, t1] (default: [t1]).
            with_dA: False leaves dL/dA out (``dA`` is None): its integral of a(t) z(t)^T
                is most of the symbolic work, and a(t) alone needs none of it.
        Returns :class:`Gradients`: loss, dz0, dA, dt (dL/dt_i), dt0, the jumps dLdz,
        and the adjoint a(t) (``.adjoint(t)``, ``.adjoint_pieces()``, ``.adjoint_on_grid``).
        """
        if not isinstance(with_dA, bool):
            raise TypeError(f"with_dA: expected True or False, got {with_dA!r}")
        times, targets, c = self._observations(y, times, loss)
        A, z0 = self.A, self.z0

        def compute(flow):
            phis = [flow.phi(t - self.t0) for t in times]
            z = [phi * z0 for phi in phis]
            r = [zi - yi for zi, yi in zip(z, targets, strict=True)]
            g = [2 * c * ri for ri in r]  # dL/dz(t_i): the jump of a(t) at t_i
            dz0 = sp.zeros(self.n, 1)
            dA = sp.zeros(self.n, self.n) if with_dA else None
            for t, phi, gi in zip(times, phis, g, strict=True):
                dz0 += phi.T * gi  # a(t0) = sum_i exp(A^T (t_i - t0)) g_i
                if with_dA and t > self.t0:
                    dA += flow.frechet(t - self.t0, gi * z0.T)  # int a(t) z(t)^T dt
            dt = sp.Matrix([gi.dot(A * zi) for gi, zi in zip(g, z, strict=True)])
            # Shifting t0 moves every z(t_i) by -A z(t_i) dt0 (unless t_i = t0, z(t0) = z0).
            dt0 = -sum((dt[i] for i, t in enumerate(times) if t > self.t0), sp.Integer(0))
            loss_value = c * sum((ri.dot(ri) for ri in r), sp.Integer(0))
            return loss_value, z, g, dz0, dA, dt, dt0

        (loss_value, z, g, dz0, dA, dt, dt0), flow = self._compute("gradients", compute)
        return Gradients(
            loss_kind=loss, times=times, z=z, loss=loss_value, dz0=dz0, dA=dA, dt=dt,
            dt0=dt0, dLdz=g, exact=flow.exact, method=flow.method, scheme="exact flow",
            _adjoint=lambda t: self._jump_adjoint(t, times, g),
            _pieces=lambda: self._adjoint_pieces(times, g),
            _grid=lambda ts: self._adjoint_grid(ts, times, g),
        )  # fmt: skip

    def _jump_adjoint(self, t, times, g):
        """a(t) = sum_{t_i >= t} exp(A^T (t_i - t)) g_i; Piecewise in t for a symbol."""
        t = self._time(t, "t")
        if isinstance(t, sp.Basic) and t.free_symbols:
            pieces = self._adjoint_pieces(times, g)
            *inner, (_, last) = pieces

            def entry(i, _):
                # Conditions are tried in order, so "t <= hi" selects the piece (lo, hi].
                conditions = [(f[i], self.t <= hi) for (_, hi), f in inner]
                return sp.Piecewise(*conditions, (last[i], True)).subs(self.t, t)

            return sp.Matrix(self.n, 1, entry)
        if t < self.t0 or t > self.t1:
            raise ValueError(f"t: expected a time in [t0, t1] = [{self.t0}, {self.t1}], got {t}")

        def compute(flow):
            total = sp.zeros(self.n, 1)
            for ti, gi in zip(times, g, strict=True):
                if ti >= t:
                    total += flow.phi(ti - t).T * gi
            return total

        return self._compute("adjoint", compute)[0]

    def _adjoint_pieces(self, times, g):
        t, pieces, lo = self.t, [], self.t0
        for j, hi in enumerate(times):

            def compute(flow, j=j):
                total = sp.zeros(self.n, 1)
                for ti, gi in zip(times[j:], g[j:], strict=True):
                    total += flow.phi(ti - t).T * gi
                return total

            pieces.append(((lo, hi), self._compute("adjoint_pieces", compute)[0]))
            lo = hi
        if lo < self.t1:
            pieces.append(((lo, self.t1), sp.zeros(self.n, 1)))
        return pieces

    def _adjoint_grid(self, ts, times, g):
        s = np.asarray(ts, dtype=np.float64)
        total = np.zeros((s.size, self.n))
        for ti, gi in zip(times, g, strict=True):
            _, phi = self._float_flow(float(ti) - s, "ts")
            jump = torch.tensor([float(x) for x in gi], dtype=torch.float64)
            a = (phi.transpose(1, 2) @ jump).numpy()
            total += np.where((s <= float(ti))[:, None], a, 0.0)
        return total

    # -- explicit Euler, discretise-then-optimise ----------------------------------------

    def _n_steps(self, n_steps):
        if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer):
            raise TypeError(f"n_steps: expected an integer >= 1, got {n_steps!r}")
        if n_steps < 1:
            raise ValueError(f"n_steps: expected an integer >= 1, got {n_steps}")
        h = (self.t1 - self.t0) / int(n_steps)
        return int(n_steps), h, sp.eye(self.n) + h * self.A

    def _exact_or_digits(self, what, compute, *args):
        """Exact rational arithmetic, or the same formulas at dps digits if it is too slow."""
        try:
            return call_with_timeout(lambda: compute(*args), self.timeout), True, "sympy (exact)"
        except SympyTimeout:
            warnings.warn(f"{what}: exact arithmetic took over {self.timeout} s; using "
                          f"{self.dps} digits", NumericFallbackWarning, stacklevel=3)  # fmt: skip
            digits = [x.evalf(self.dps + 10) if hasattr(x, "evalf") else x for x in args]
            return compute(*digits), False, f"mpmath ({self.dps} digits)"

    def euler(self, n_steps):
        """Explicit Euler in closed form: z_N = (I + hA)^N z0, h = (t1 - t0)/N."""
        N, h, B = self._n_steps(n_steps)
        z_euler, exact, method = self._exact_or_digits(
            "euler", lambda B, z0: B.pow(N, method="multiply") * z0, B, self.z0
        )
        z_exact = self.solution(self.t1)
        error = z_exact - z_euler
        error_norm = float(sp.sqrt(sum(sp.N(e, 30) ** 2 for e in error)))  # evalf per entry: fast
        return EulerResult(
            n_steps=N, h=h, step_matrix=B, z_euler=z_euler, z_exact=z_exact, error=error,
            error_norm=error_norm, exact=exact and self.exact, method=method,
        )  # fmt: skip

    def euler_gradients(self, y, n_steps, times=None, loss="mean"):
        """Gradients of the same loss through N explicit Euler steps (exact backprop).

        z_{k+1} = B z_k with B = I + hA; the discrete adjoint runs a_k = B^T a_{k+1} + g_k
        (g_k = dL/dz_k at observed steps), dL/dz0 = a_0 and dL/dA = h sum_k a_{k+1} z_k^T.
        Observation times must lie on the grid t0 + k h. ``dt`` and ``dt0`` are None.
        """
        N, h, B = self._n_steps(n_steps)
        times, targets, c = self._observations(y, times, loss)
        steps = []
        for t in times:
            k = (t - self.t0) / h
            if not k.is_integer:
                raise ValueError(
                    f"times: {t} is not on the Euler grid t0 + k h with h = {h}; "
                    f"choose n_steps so that every time is a grid point"
                )
            steps.append(int(k))

        def compute(B, A, z0, *ys):
            z = [z0]
            for _ in range(N):
                z.append(B * z[-1])
            r = [z[k] - yi for k, yi in zip(steps, ys, strict=True)]
            g = {k: 2 * c * ri for k, ri in zip(steps, r, strict=True)}
            a = [None] * (N + 1)
            a[N] = g.get(N, sp.zeros(self.n, 1))
            for k in range(N - 1, -1, -1):
                a[k] = B.T * a[k + 1] + g.get(k, sp.zeros(self.n, 1))
            dA = h * sum((a[k + 1] * z[k].T for k in range(N)), sp.zeros(self.n, self.n))
            loss_value = c * sum((ri.dot(ri) for ri in r), sp.Integer(0))
            return loss_value, [z[k] for k in steps], [g[k] for k in steps], a, dA

        (loss_value, z, g, a, dA), exact, method = self._exact_or_digits(
            "euler_gradients", compute, B, self.A, self.z0, *targets
        )

        def adjoint(t):
            k = (exact_scalar(t, "t") - self.t0) / h
            if not k.is_integer or not 0 <= k <= N:
                raise ValueError(f"t: the Euler adjoint lives on the grid t0 + k h, got {t}")
            return a[int(k)]

        def grid(ts):
            return np.array([[float(x) for x in adjoint(t)] for t in ts])

        return Gradients(
            loss_kind=loss, times=times, z=z, loss=loss_value, dz0=a[0], dA=dA, dt=None,
            dt0=None, dLdz=g, exact=exact, method=method, scheme=f"explicit Euler, {N} steps",
            _adjoint=adjoint, _grid=grid,
        )  # fmt: skip
