"""The ``torch.func``-like interface: ``vjp``, ``jvp``, ``grad``, ``jacobian``, pass counts."""

from contextlib import contextmanager

import numpy as np

from node_edu.autodiff.engine import Dual, as_array, check_like, leaves
from node_edu.autodiff.graph import new_trace_id, trace
from node_edu.validation import check_choice, check_int, describe


class PassCounter:
    """Counts reverse sweeps (``vjp``) and forward-mode evaluations (``jvp``)."""

    def __init__(self):
        self.vjp = self.jvp = 0


_counters = []


@contextmanager
def count_passes():
    """``with ad.count_passes() as c: ...`` then read ``c.vjp`` and ``c.jvp``."""
    c = PassCounter()
    _counters.append(c)
    try:
        yield c
    finally:
        _counters.remove(c)


def _count(kind):
    for c in _counters:
        setattr(c, kind, getattr(c, kind) + 1)


def vjp(f, *primals):
    """Reverse mode, like ``torch.func.vjp``: returns ``(y, vjp_fn)``.

    ``vjp_fn(v)`` (v with y's shape) returns a tuple with v^T (dy/dx_i) for every primal,
    each with its primal's shape. The graph is kept, so vjp_fn can be called many times.
    """
    graph = trace(f, *primals, _kind="vjp")

    def vjp_fn(v):
        _count("vjp")
        return graph.backward(check_like(v, graph.output.value, "v"))

    return graph.output.value, vjp_fn


def jvp(f, primals, tangents):
    """Forward mode, like ``torch.func.jvp``: ``primals`` and ``tangents`` are tuples of
    equal length and matching shapes; returns ``(y, y_dot)`` with y_dot = sum_i (dy/dx_i) t_i.
    Dual numbers carry (value, tangent) through f: no graph is stored."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "primals and tangents must be tuples, e.g. ad.jvp(f, (x,), (v,)); got "
            f"{type(primals).__name__} and {type(tangents).__name__}"
        )
    if len(primals) != len(tangents):
        raise ValueError(f"got {len(primals)} primals but {len(tangents)} tangents")
    _count("jvp")
    tid = new_trace_id("jvp")
    xs = leaves(primals, "jvp")
    duals = [
        Dual(x, check_like(t, x, f"tangents[{i}]"), tid)
        for i, (x, t) in enumerate(zip(xs, tangents, strict=True))
    ]
    y = f(*duals)
    if not isinstance(y, Dual):
        y = as_array(y, "f's output")
        return y, np.zeros_like(y)
    if y.trace != tid:
        raise TypeError("f returned a value traced by another differentiation (higher order)")
    return y.value, y.tangent


def _argnums(argnums, n):
    """The positions ``argnums`` names among ``n`` arguments (negative counts from the end)."""
    nums = tuple(argnums) if isinstance(argnums, tuple | list) else (argnums,)
    if not nums:
        raise ValueError(
            f"argnums must be an int or a non-empty tuple of ints, got {describe(argnums)}"
        )
    return tuple(check_int("argnums", i, minimum=-n, maximum=n - 1) for i in nums)


def grad(f, argnums=0):
    """Like ``torch.func.grad``: a function returning d f / d x_argnums (f returns one number).
    ``argnums`` an int gives one array, a tuple gives a tuple."""

    def grad_f(*xs):
        nums = _argnums(argnums, len(xs))
        y, vjp_fn = vjp(f, *xs)
        if y.size != 1:
            raise ValueError(
                f"ad.grad needs f to return one number, got shape {y.shape}; use ad.jacobian"
            )
        gs = vjp_fn(np.ones_like(y))
        return tuple(gs[i] for i in nums) if isinstance(argnums, tuple | list) else gs[nums[0]]

    return grad_f


def jacobian(f, mode="rev", argnums=0):
    """The full Jacobian dy/dx of shape ``y.shape + x.shape`` for x = xs[argnums].

    ``mode="rev"`` (like ``torch.func.jacrev``): one VJP per output entry, each giving one
    row. ``mode="fwd"`` (like ``jacfwd``): one JVP per input entry, each giving one column.
    The cost is the number of passes; check it with ``ad.count_passes``.
    """
    check_choice("mode", mode, ("rev", "fwd"))
    check_int("argnums", argnums)

    def jac_f(*xs):
        i = _argnums(argnums, len(xs))[0]
        x = leaves(xs, "jacobian")[i]
        if mode == "rev":
            y, vjp_fn = vjp(f, *xs)
            rows = [vjp_fn(e.reshape(y.shape))[i] for e in np.eye(y.size)]
            return np.stack(rows).reshape(y.shape + x.shape)
        cols = []
        for e in np.eye(x.size):
            tangents = [np.zeros_like(np.asarray(a, dtype=float)) for a in xs]
            tangents[i] = e.reshape(x.shape)
            y, y_dot = jvp(f, tuple(xs), tuple(tangents))
            cols.append(y_dot.reshape(-1))
        return np.stack(cols, axis=-1).reshape(y.shape + x.shape)

    return jac_f
