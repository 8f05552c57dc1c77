"""The engine: primitives with their vjp and jvp rules, graph ``Node``s and ``Dual`` numbers.

Every primitive is defined once, next to its two derivative rules, and ``_apply`` runs
it on plain arrays, on ``Node``s (recording the graph) or on ``Dual``s (forward mode).
"""

import numpy as np


class Primitive:
    """One differentiable operation: its forward function and its two derivative rules.

    ``fwd(*xs, **params) -> y``; ``vjp(g, y, *xs, **params) -> adjoint per input``;
    ``jvp(dxs, y, *xs, **params) -> dy`` where ``dxs`` holds one tangent per input (zeros
    for an input that is a constant).
    """

    def __init__(self, name, fwd, vjp, jvp):
        self.name, self.fwd, self.vjp, self.jvp = name, fwd, vjp, jvp

    def __repr__(self):
        return f"Primitive({self.name})"


def _matmul_vjp(g, y, a, b):
    # Treat 1-D operands as a row (left) or a column (right), as np.matmul does.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = np.reshape(g, np.matmul(a2, b2).shape)
    ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
    gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
    ga = ga[..., 0, :] if a.ndim == 1 else ga
    gb = gb[..., :, 0] if b.ndim == 1 else gb
    return ga, gb


def _sum_vjp(g, y, x, axis=None, keepdims=False):
    if axis is not None and not keepdims:  # put back the summed axes, then broadcast
        g = np.expand_dims(g, axis)
    return (np.broadcast_to(g, x.shape),)


def _getitem_vjp(g, y, x, index=None):
    gx = np.zeros_like(x)
    np.add.at(gx, index, g)  # add.at: repeated indices must add up, not overwrite
    return (gx,)


# name: (forward, vjp rule, jvp rule). Rules get the output y too, which saves work (exp, tanh).
_RULES = {
    "add": (np.add, lambda g, y, a, b: (g, g), lambda d, y, a, b: d[0] + d[1]),
    "sub": (np.subtract, lambda g, y, a, b: (g, -g), lambda d, y, a, b: d[0] - d[1]),
    "mul": (np.multiply, lambda g, y, a, b: (g * b, g * a), lambda d, y, a, b: d[0] * b + a * d[1]),
    "div": (
        np.divide,
        lambda g, y, a, b: (g / b, -g * a / b**2),
        lambda d, y, a, b: d[0] / b - a * d[1] / b**2,
    ),
    "neg": (np.negative, lambda g, y, x: (-g,), lambda d, y, x: -d[0]),
    "power": (  # x ** p for a constant p (a parameter, not an input of the graph)
        lambda x, p: np.power(x, p),
        lambda g, y, x, p: (g * p * np.power(x, p - 1),),
        lambda d, y, x, p: p * np.power(x, p - 1) * d[0],
    ),
    "pow": (  # x ** p with a traced exponent, x > 0: dy/dx = p x^(p-1), dy/dp = x^p ln x
        np.power,
        lambda g, y, x, p: (g * p * np.power(x, p - 1), g * y * np.log(x)),
        lambda d, y, x, p: p * np.power(x, p - 1) * d[0] + y * np.log(x) * d[1],
    ),
    "matmul": (np.matmul, _matmul_vjp, lambda d, y, a, b: np.matmul(d[0], b) + np.matmul(a, d[1])),
    "sin": (np.sin, lambda g, y, x: (g * np.cos(x),), lambda d, y, x: np.cos(x) * d[0]),
    "cos": (np.cos, lambda g, y, x: (-g * np.sin(x),), lambda d, y, x: -np.sin(x) * d[0]),
    "exp": (np.exp, lambda g, y, x: (g * y,), lambda d, y, x: y * d[0]),
    "log": (np.log, lambda g, y, x: (g / x,), lambda d, y, x: d[0] / x),
    "tanh": (np.tanh, lambda g, y, x: (g * (1 - y**2),), lambda d, y, x: (1 - y**2) * d[0]),
    "sum": (
        lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
        _sum_vjp,
        lambda d, y, x, axis=None, keepdims=False: np.sum(d[0], axis=axis, keepdims=keepdims),
    ),
    "getitem": (
        lambda x, index=None: x[index],
        _getitem_vjp,
        lambda d, y, x, index=None: d[0][index],
    ),
}
PRIMITIVES = {name: Primitive(name, *rules) for name, rules in _RULES.items()}


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def as_array(x, name="x"):
    if isinstance(x, (Node, Dual)):
        return x
    try:
        a = np.asarray(x)
    except Exception as err:  # e.g. a ragged list
        raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from err
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype} ({type(x).__name__})")
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def _check_shapes(name, values, params):
    """Raise a ValueError naming the operation and the shapes when they do not fit."""
    try:
        if name in ("add", "sub", "mul", "div", "pow"):
            np.broadcast_shapes(*(np.shape(v) for v in values))
        elif name == "matmul":
            a, b = values
            if np.ndim(a) == 0 or np.ndim(b) == 0:
                raise ValueError("matmul needs arrays with at least one axis")
            k_a = np.shape(a)[-1]
            k_b = np.shape(b)[0] if np.ndim(b) == 1 else np.shape(b)[-2]
            if k_a != k_b:
                raise ValueError(f"inner sizes differ: {k_a} vs {k_b}")
    except ValueError as err:
        shapes = " and ".join(str(np.shape(v)) for v in values)
        raise ValueError(f"ad.{name}: operands of shapes {shapes} do not fit ({err})") from None


def _apply(name, *args, **params):
    """Run primitive ``name`` on plain arrays, on graph ``Node``s, or on ``Dual`` numbers."""
    prim = PRIMITIVES[name]
    args = tuple(as_array(a) for a in args)
    traced = [a for a in args if isinstance(a, (Node, Dual))]
    owners = {(type(a), a.trace) for a in traced}
    if len(owners) > 1:
        raise TypeError(
            f"ad.{name}: operands come from different differentiations "
            f"({', '.join(sorted(f'{kind} #{i}' for _, (kind, i) in owners))})."
            " Nested (higher-order) differentiation, or mixing ad.vjp with ad.jvp, is not"
            " supported by this teaching engine; use torch.func for higher derivatives."
        )
    values = [a.value if isinstance(a, (Node, Dual)) else a for a in args]
    _check_shapes(name, values, params)
    y = np.asarray(prim.fwd(*values, **params))
    if not traced:
        return y
    if isinstance(traced[0], Dual):  # forward mode: push the tangents through the jvp rule
        dxs = [a.tangent if isinstance(a, Dual) else np.zeros_like(a) for a in args]
        dy = np.broadcast_to(prim.jvp(dxs, y, *values, **params), y.shape).copy()
        return Dual(y, dy, trace=traced[0].trace)
    return Node(y, prim, args, params, trace=traced[0].trace)


class _Traced:
    """Operator overloading shared by ``Node`` (reverse mode) and ``Dual`` (forward mode)."""

    __array_ufunc__ = None  # make numpy defer to us: np.ones(2) * node calls node.__rmul__

    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)

    def __add__(self, o):
        return _apply("add", self, o)

    def __radd__(self, o):
        return _apply("add", o, self)

    def __sub__(self, o):
        return _apply("sub", self, o)

    def __rsub__(self, o):
        return _apply("sub", o, self)

    def __mul__(self, o):
        return _apply("mul", self, o)

    def __rmul__(self, o):
        return _apply("mul", o, self)

    def __truediv__(self, o):
        return _apply("div", self, o)

    def __rtruediv__(self, o):
        return _apply("div", o, self)

    def __neg__(self):
        return _apply("neg", self)

    def __matmul__(self, o):
        return _apply("matmul", self, o)

    def __rmatmul__(self, o):
        return _apply("matmul", o, self)

    def __pow__(self, p):
        if isinstance(p, _Traced):  # a traced exponent: one node with two inputs, x > 0
            return _apply("pow", self, p)
        if not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"the exponent must be a number or a traced value, got {p!r}")
        return _apply("power", self, p=float(p))

    def __rpow__(self, base):  # base ** x = exp(x log base) for a constant base > 0
        if not np.all(np.asarray(base) > 0):
            raise ValueError(f"base ** x needs a constant base > 0, got base = {base!r}")
        return exp(self * np.log(base))

    def __getitem__(self, index):
        return _apply("getitem", self, index=index)

    def sum(self, axis=None, keepdims=False):
        return sum(self, axis=axis, keepdims=keepdims)


class Node(_Traced):
    """A value in the reverse-mode graph.

    Attributes: ``value`` (array), ``op`` (primitive name, "input" for a leaf),
    ``inputs`` (the operands: Nodes or constant arrays), ``parents`` (the Node operands),
    ``adjoint`` (d output / d this node, same shape as value; set by the reverse sweep),
    ``tangent`` (set by ``Graph.forward_tangents``), ``label`` (a name for drawing).
    """

    def __init__(self, value, prim=None, inputs=(), params=None, trace=None, label=None):
        self.value, self.prim, self.inputs = value, prim, inputs
        self.params, self.trace, self.label = params or {}, trace, label
        self.parents = [a for a in inputs if isinstance(a, Node)]
        self.adjoint = self.tangent = None

    op = property(lambda self: self.prim.name if self.prim else "input")

    def __repr__(self):
        return f"Node({self.label or self.op}, shape={self.value.shape})"


class Dual(_Traced):
    """A forward-mode dual number: ``value`` and ``tangent`` (same shape), no graph."""

    def __init__(self, value, tangent, trace=None):
        self.value, self.tangent, self.trace = value, tangent, trace

    def __repr__(self):
        return f"Dual(value={self.value!r}, tangent={self.tangent!r})"


def sin(x):
    return _apply("sin", x)


def cos(x):
    return _apply("cos", x)


def exp(x):
    return _apply("exp", x)


def log(x):
    return _apply("log", x)


def tanh(x):
    return _apply("tanh", x)


def sum(x, axis=None, keepdims=False):  # mirrors np.sum and torch.sum
    """Sum over ``axis`` (None: all axes; an int or a tuple of ints)."""
    return _apply("sum", x, axis=axis, keepdims=keepdims)


def check_like(v, ref, name):
    """``v`` as an array of ``ref``'s shape (a cotangent or a tangent), else a clear error."""
    if isinstance(v, (Node, Dual)):
        raise TypeError(f"{name} is a traced {type(v).__name__}: higher-order use is not supported")
    v = as_array(v, name)
    if v.shape != ref.shape:
        raise ValueError(f"{name} must have shape {ref.shape}, got shape {v.shape}")
    return v


def leaves(xs, kind):
    """The float64 arrays that ``ad.<kind>`` differentiates; a traced input means nesting."""
    out = []
    for i, x in enumerate(xs):
        if isinstance(x, (Node, Dual)):
            raise TypeError(
                f"ad.{kind}: argument {i} is a traced {type(x).__name__}, i.e. ad.{kind} was"
                " called inside another differentiation. Higher-order derivatives are not"
                " supported by this teaching engine; use torch.func (e.g. jacfwd(jacrev(f)))."
            )
        out.append(as_array(x, f"argument {i}").astype(np.float64, copy=False))
    return out
