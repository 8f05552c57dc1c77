"""The recorded graph of one call: nodes, edges, values, and the two sweeps over it."""

import itertools

import numpy as np

from node_edu.autodiff.engine import Node, as_array, check_like, leaves, unbroadcast

_trace_ids = itertools.count(1)


def new_trace_id(kind):
    """A fresh tag, so values from two different differentiations are never mixed."""
    return (kind, next(_trace_ids))


class Graph:
    """The recorded graph of one call ``f(*xs)``: what ``ad.trace`` returns.

    ``nodes``: every Node the output depends on, in topological order (inputs first);
    ``edges``: (i, j) pairs, node i feeds node j; ``inputs``, ``output``: Nodes.
    """

    def __init__(self, inputs, output):
        self.inputs, self.output = inputs, output
        order, seen = [], set()

        def visit(node):  # depth-first: a node is listed after everything it uses
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node.parents:
                    visit(parent)
                order.append(node)

        for x in inputs:  # inputs first, even one the output does not use
            visit(x)
        visit(output)
        self.nodes = order
        index = {id(n): i for i, n in enumerate(order)}
        self.edges = [(index[id(p)], j) for j, n in enumerate(order) for p in n.parents]
        k = 0
        for n in order:  # name the intermediate values v1, v2, ... as in Baydin et al.
            if n.prim is not None:
                k += 1
                n.label = n.label or f"v{k}"
        for i, x in enumerate(inputs):
            x.label = x.label or f"x{i + 1}"

    def backward(self, v=None):
        """Reverse sweep: seed the output's adjoint with ``v`` (default 1 for a scalar
        output) and visit nodes from last to first, each pushing its adjoint to its
        parents through its primitive's vjp rule. Returns the inputs' adjoints."""
        y = self.output.value
        if v is None:
            if y.size != 1:
                raise ValueError(
                    f"v must be given for an output of shape {y.shape} (not one number)"
                )
            v = np.ones_like(y)
        v = as_array(v, "v")
        if v.shape != y.shape:
            raise ValueError(f"v must have the output's shape {y.shape}, got shape {v.shape}")
        for n in self.nodes:
            n.adjoint = np.zeros_like(n.value)
        self.output.adjoint = v.astype(y.dtype)
        for n in reversed(self.nodes):
            if n.prim is None:
                continue
            values = [a.value if isinstance(a, Node) else a for a in n.inputs]
            grads = n.prim.vjp(n.adjoint, n.value, *values, **n.params)
            for a, g in zip(n.inputs, grads, strict=True):
                if isinstance(a, Node):  # += : a node used twice collects both adjoints
                    a.adjoint = a.adjoint + unbroadcast(np.asarray(g), a.value.shape)
        return tuple(x.adjoint for x in self.inputs)

    def forward_tangents(self, *tangents):
        """Forward-mode sweep over the recorded graph: one tangent per input, pushed
        through each node's jvp rule. Returns the output's tangent, J v."""
        if len(tangents) != len(self.inputs):
            raise ValueError(
                f"need one tangent per input ({len(self.inputs)}), got {len(tangents)}"
            )
        for x, t in zip(self.inputs, tangents, strict=True):
            x.tangent = check_like(t, x.value, "tangent")
        for n in self.nodes:
            if n.prim is not None:
                values = [a.value if isinstance(a, Node) else a for a in n.inputs]
                dxs = [a.tangent if isinstance(a, Node) else np.zeros_like(a) for a in n.inputs]
                n.tangent = np.broadcast_to(
                    n.prim.jvp(dxs, n.value, *values, **n.params), n.value.shape
                )
        return self.output.tangent


def trace(f, *xs, labels=None, _kind="trace"):
    """Run ``f(*xs)`` on graph Nodes and return the ``Graph`` (values filled, no adjoints)."""
    tid = new_trace_id("vjp")
    inputs = [Node(x, trace=tid) for x in leaves(xs, _kind)]
    for n, name in zip(inputs, labels or [], strict=False):
        n.label = name
    y = f(*inputs)
    if not isinstance(y, Node):  # the output does not depend on the inputs
        y = Node(as_array(y, "f's output"), trace=tid, label="const")
    if y.trace != tid:
        raise TypeError("f returned a value traced by another differentiation (higher order)")
    return Graph(inputs, y)
