"""A batching rule written by hand: what ``torch.vmap`` does for every operation it meets.

``torch.vmap(f)(X)`` means "f on each example X[b], results stacked", but it does not loop
over b: it runs f once, and each torch operation inside f has a *batching rule* saying how
to do the per-example operation for the whole batch at once ("vmap pushes the map into
PyTorch operations called by func", torch.func.vmap's documentation). For an operation of
your own, ``torch.autograd.Function`` takes the rule as its ``vmap`` staticmethod: it gets
``info.batch_size``, ``in_dims`` (which axis of each input is the batch, None when the
input is shared) and the batched inputs, and returns ``(output, out_dims)`` (PyTorch
documentation of ``torch.autograd.Function.vmap``).

``MatVec`` is y = W @ x for ONE example (W: [m, n], x: [n] -> y: [m]). Its rule turns a
batch of x ([B, n]) with a shared W into a single matrix product X @ W^T ([B, m]), and a
batch of (W, x) pairs into one batched product. ``MatVec.rule_calls`` counts how often
the rule ran, so a lesson can see that a batch of B examples costs one call, not B.
"""

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
