"""A batching rule written by hand: what ``torch.vmap`` does for every operation it meets.

``torch.vmap(f)(X)`` means "f on each example X[b], results stacked", but it does not loop
over b: it runs f once, and each torch operation inside f has a *batching rule* saying how
to do the per-example operation for the whole batch at once ("vmap pushes the map into
PyTorch operations called by func", torch.func.vmap's documentation). For an operation of
your own, ``torch.autograd.Function`` takes the rule as its ``vmap`` staticmethod: it gets
``info.batch_size``, ``in_dims`` (which axis of each input is the batch, None when the
input is shared) and the batched inputs, and returns ``(output, out_dims)`` (PyTorch
documentation of ``torch.autograd.Function.vmap``). A Function with neither that method nor
``generate_vmap_rule = True`` cannot be vmapped: torch.vmap raises a RuntimeError. Only
PyTorch's own operations without a rule fall back to a loop over the batch, with a warning
that it is slow.

``MatVec`` is y = W @ x for ONE example (W: [m, n], x: [n] -> y: [m]). Its rule turns a
batch of x ([B, n]) with a shared W into a single matrix product X @ W^T ([B, m]), and a
batch of (W, x) pairs into one batched product. ``MatVec.rule_calls`` counts how often
the rule ran, so a lesson can see that a batch of B examples costs one call, not B.

``probe(x)`` is the identity with a batching rule of the same kind: inside
``count_vectors()`` it counts the cotangents and tangents that pass it, so the number of
VJPs and JVPs a Jacobian costs (and how many calls carried them) is counted, not assumed.
"""

from contextlib import contextmanager

import torch


class MatVec(torch.autograd.Function):
    """y = W @ x for one example, with its backward and its batching rule."""

    rule_calls = 0

    @staticmethod
    def forward(W, x):
        if W.ndim != 2 or x.ndim != 1 or W.shape[1] != x.shape[0]:
            raise ValueError(
                f"matvec needs W: [m, n] and x: [n], got {list(W.shape)} and {list(x.shape)}"
            )
        return W @ x

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, g):  # the VJP: (g^T dy/dW, g^T dy/dx) = (g x^T, W^T g)
        W, x = ctx.saved_tensors
        return torch.outer(g, x), W.T @ g

    @staticmethod
    def vmap(info, in_dims, W, x):
        MatVec.rule_calls += 1
        W_dim, x_dim = in_dims
        X = x.movedim(x_dim, 0) if x_dim is not None else x.expand(info.batch_size, -1)
        if W_dim is None:  # one W for every example: a single [B, n] @ [n, m] product
            return X @ W.T, 0
        return torch.einsum("bmn,bn->bm", W.movedim(W_dim, 0), X), 0


def matvec(W, x):
    """W @ x for W: [m, n], x: [n], through ``MatVec`` (so torch.vmap uses its rule)."""
    return MatVec.apply(W, x)


# Counting what flows through one point of a torch function, under any torch.func transform.


class VectorCount:
    """What a ``count_vectors()`` block saw pass a ``probe``: ``vjps`` cotangents in
    ``vjp_calls`` backward calls, ``jvps`` tangents in ``jvp_calls`` forward-mode calls. A
    vmapped call carrying a batch of B vectors counts as one call and B vectors."""

    def __init__(self):
        self.vjp_calls = self.vjps = self.jvp_calls = self.jvps = 0


_counts = []


@contextmanager
def count_vectors():
    """``with ad.count_vectors() as c: ...``, then read ``c.vjps``, ``c.vjp_calls``, ..."""
    c = VectorCount()
    _counts.append(c)
    try:
        yield c
    finally:
        _counts.remove(c)


class _Tally(torch.autograd.Function):
    """The identity on a cotangent or tangent; counts it (its vmap rule: the whole batch)."""

    @staticmethod
    def forward(v, kind):
        _tally(kind, 1)
        return v.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def vmap(info, in_dims, v, kind):
        _tally(kind, info.batch_size)  # one call, a batch of info.batch_size vectors
        return v.clone(), in_dims[0]


def _tally(kind, n):
    for c in _counts:
        setattr(c, kind + "_calls", getattr(c, kind + "_calls") + 1)
        setattr(c, kind + "s", getattr(c, kind + "s") + n)


class _Probe(torch.autograd.Function):
    """The identity; the cotangent its backward gets and the tangent its jvp gets pass
    through ``_Tally``. vmap runs all three on batches (generate_vmap_rule)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return x.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, g):
        return _Tally.apply(g, "vjp")

    @staticmethod
    def jvp(ctx, t):
        return _Tally.apply(t, "jvp")


def probe(x):
    """``x`` itself. Inside ``count_vectors()`` it counts the cotangents that flow back
    through it (one per VJP) and the tangents that flow forward (one per JVP), whether
    they come one call at a time or as a batch under ``torch.vmap``."""
    return _Probe.apply(x)
