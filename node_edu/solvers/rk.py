"""One generic explicit Runge-Kutta step, its error estimate, and dense output.

The state is a flat 1-D tensor ``y`` of N numbers (``odeint`` flattens z for us) and
``f(t, y)`` returns dy/dt of the same shape, with ``t`` a 0-dim tensor.

Speed note: besides its 6 evaluations of f, a dopri5 step makes about 40 small tensor
operations, and on a CPU each one costs one to three microseconds however small it is;
for a small model they take longer than the evaluations. So each stage is formed with
ONE fused matrix-vector product instead of a Python sum of scaled tensors::

    y_i = y + h * sum_{j<i} a_ij k_j   ==   torch.addmv(y, K_T, a_i, alpha=h)

where ``K_T = [k_1 ... k_i]`` is the N x i matrix of the stages so far. The maths is
exactly the textbook formula; only the number of kernel launches changes. For the same
reason the loop hands the tolerances to ``control.error_ratio`` as tensors (see there).

Between the ends of a step, ``interpolate`` gives the solution: the tableau's own dense
output where it has one, else cubic Hermite interpolation. It is the one place that
chooses, for every solver loop and for the adjoint's checkpoints.
"""

import torch

_COEFFS = {}


def coefficients(tab, dtype, device):
    """The tableau as tensors on (dtype, device), built once and cached.

    Returns a dict with ``a`` (list; ``a[i]`` is the 1-D tensor of row i), ``a_full``
    (the s x s matrix, zero on and above the diagonal), ``b``, ``b_err`` and ``dense``
    (an s x 4 matrix) where the tableau has them.
    """
    key = (id(tab), dtype, device)  # the tableau itself is kept in the entry: id stays valid
    if key not in _COEFFS:

        def as_tensor(x):
            return torch.tensor(x, dtype=dtype, device=device)

        s = tab.n_stages
        _COEFFS[key] = {
            "a": [as_tensor(row) if row else None for row in tab.a],
            "a_full": as_tensor([list(row) + [0.0] * (s - len(row)) for row in tab.a]),
            "b": as_tensor(tab.b),
            "b_err": as_tensor(tab.b_err) if tab.b_err is not None else None,
            "dense": as_tensor(tab.dense) if tab.dense is not None else None,
            "powers": torch.arange(1, 5, dtype=dtype, device=device),
            "tab": tab,
        }
    return _COEFFS[key]


class Clock:
    """Turns a time offset (a float) into the 0-dim tensor ``t_start + offset`` given to f.

    When the given times require grad (backprop through the solver) the tensor is built
    as ``t_ref + offset``, so gradients reach t; otherwise ``torch.scalar_tensor`` makes
    it directly, about 2-3x cheaper (this runs once per function evaluation).
    """

    def __init__(self, t_ref, t_start):
        self.t_ref, self.t_start = t_ref, t_start
        self.differentiable = torch.is_grad_enabled() and t_ref.requires_grad
        self.dtype, self.device = t_ref.dtype, t_ref.device

    def __call__(self, offset):
        if self.differentiable:
            return self.t_ref + offset
        return torch.scalar_tensor(self.t_start + offset, dtype=self.dtype, device=self.device)


class StageBuffer:
    """Preallocated storage for the stages of one solve, reused from step to step.

    ``K_T`` is the N x s matrix whose column i holds stage k_i (``rows[i]`` is a view of
    that column). It starts at zero, so a full row of the tableau (zeros beyond the
    diagonal) times ``K_T`` equals the partial sum over the stages computed so far.
    Only usable when no autograd graph is recorded (in-place writes would corrupt it):
    the adjoint's forward solve, every backward solve, and inference.
    """

    def __init__(self, tab, y):
        self.K = y.new_zeros(tab.n_stages, y.numel())  # row i = stage i, contiguous
        self.K_T = self.K.T
        self.rows = list(self.K.unbind(0))
        self.a_full = list(coefficients(tab, y.dtype, y.device)["a_full"].unbind(0))
        # The tensor f returned for the last stage of the latest step. An FSAL method's
        # next step starts from it; its copy in K_T would be overwritten by that step.
        self.last = None


def rk_step(f, tab, coef, clock, dt, y, h, k1, buffer=None):
    """Advance y by one step of size h from time t_start + dt.

    f:      f(t, y) -> dy/dt, y flat [N], t a 0-dim tensor.
    clock:  a ``Clock``; stage i is evaluated at ``clock(dt + c_i h)``, the time
            t_start + dt + c_i h as a tensor (``dt`` and ``h`` are plain floats).
    k1:     f at the step's start (given, so FSAL methods reuse it).
    buffer: a ``StageBuffer`` to write the stages into (fast path, no autograd), or None
            (stages are stacked into a new tensor: autograd-safe). ``buffer.last`` is
            then the last stage as f returned it.
    Returns (y1, K_T) with y1 [N] and K_T [N, s] the stages as columns.
    """
    if buffer is not None:
        buffer.rows[0].copy_(k1)
        k = k1
        for i in range(1, tab.n_stages):
            y_stage = torch.addmv(y, buffer.K_T, buffer.a_full[i], alpha=h)
            k = f(clock(dt + tab.c[i] * h), y_stage)
            buffer.rows[i].copy_(k)
        buffer.last = k  # kept as f returned it: no copy needed to outlive the step
        K_T = buffer.K_T
    else:
        ks = [k1]
        for i in range(1, tab.n_stages):
            K_T = torch.stack(ks, dim=1)  # [N, i]
            y_stage = torch.addmv(y, K_T, coef["a"][i], alpha=h)
            ks.append(f(clock(dt + tab.c[i] * h), y_stage))
        K_T = torch.stack(ks, dim=1)  # [N, s]
    if tab.fsal:
        # The last stage was evaluated AT the new solution (its a-row equals b, which the
        # tableau checked when it was created).
        return y_stage, K_T
    return torch.addmv(y, K_T, coef["b"], alpha=h), K_T


def dense_output(coef, y0, K_T, h, theta, tab=None):
    """The tableau's continuous extension at y(t0 + theta h), theta in [0, 1].

    theta: a 0-dim tensor (differentiable), or a float together with ``tab``: the weights
    sum_j dense[i][j] theta^(j+1) are then computed in Python (cheaper than 3 tensor ops).
    """
    if isinstance(theta, torch.Tensor):
        weights = coef["dense"] @ theta ** coef["powers"]  # [s]
    else:
        p1, p2, p3, p4 = theta, theta**2, theta**3, theta**4
        weights = [d1 * p1 + d2 * p2 + d3 * p3 + d4 * p4 for d1, d2, d3, d4 in tab.dense]
        weights = torch.tensor(weights, dtype=y0.dtype, device=y0.device)
    return torch.addmv(y0, K_T, weights, alpha=h)


def hermite(y0, y1, f0, f1, h, theta):
    """Cubic Hermite interpolation on a step (fixed-grid methods; error O(h^4)).

    Matches y and dy/dt at both ends, so it keeps the order of euler, midpoint and rk4.
    """
    theta2 = theta * theta
    theta3 = theta2 * theta
    h00 = 2 * theta3 - 3 * theta2 + 1
    h10 = theta3 - 2 * theta2 + theta
    h01 = 3 * theta2 - 2 * theta3
    h11 = theta3 - theta2
    return h00 * y0 + (h * h10) * f0 + h01 * y1 + (h * h11) * f1


def needs_end_slope(tab):
    """Does ``interpolate`` need f at the step's end (cubic Hermite), or not (dense output)?
    (An implicit theta method has no tableau, hence no dense output.)"""
    return getattr(tab, "dense", None) is None


def interpolate(coef, tab, y0, y1, K_T, h, theta, k1=None, k_end=None):
    """y(t0 + theta h) inside a step from y0 (at t0) to y1, theta in [0, 1].

    The tableau's continuous extension where it has one (dopri5, tsit5: from the stages
    K_T [N, s]), else cubic Hermite interpolation from the slopes at both ends, ``k1`` and
    ``k_end`` (bosh3, the fixed-grid methods: it keeps their order). theta: a float, or a
    0-dim tensor when gradients must reach the output time.
    """
    if not needs_end_slope(tab):
        if isinstance(theta, torch.Tensor):
            return dense_output(coef, y0, K_T, h, theta)
        return dense_output(coef, y0, K_T, h, theta, tab)
    return hermite(y0, y1, k1, k_end, h, theta)
