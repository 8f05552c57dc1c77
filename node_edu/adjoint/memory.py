"""What autograd keeps for the backward pass, counted in bytes (lessons 04 and 06).

* ``saved_tensor_bytes``: run a function and count the bytes of the tensors autograd
  saved for its backward pass (``torch.autograd.graph.saved_tensors_hooks``).
* ``memory_vs_steps``: those bytes for backprop through ``ne.odeint`` and for
  ``ne.odeint_adjoint`` as the number of fixed RK4 steps grows: the first grows linearly,
  the second stays flat.
"""

import weakref

import torch

from node_edu.adjoint import odeint_adjoint
from node_edu.solvers import odeint


class _Saved:
    """What the pack hook hands autograd: the tensor, in an object we can hold weakly."""

    __slots__ = ("x", "__weakref__")

    def __init__(self, x):
        self.x = x


def saved_tensor_bytes(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` and count the bytes autograd keeps for the backward pass.

    Every tensor autograd saves while ``fn`` runs goes through a pack hook
    (``torch.autograd.graph.saved_tensors_hooks``), which wraps it in a small object held
    by the graph. When ``fn`` returns, the wrappers still alive are those of the graph
    hanging off ``fn``'s result; a graph built and dropped inside ``fn`` (a throwaway
    check, say) has released its own. The count is the total size of the distinct
    storages still held, each counted once (a weight saved by every layer call is one
    storage, not one per call). Deterministic: it depends on the graph, not on timing.

    Returns ``(fn's result, bytes)``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    wrappers = []

    def pack(x):
        # detached (same storage): a node saving its own output would otherwise hold a
        # tensor whose grad_fn is that node, a cycle Python's collector cannot see
        saved = _Saved(x.detach())
        wrappers.append(weakref.ref(saved))
        return saved

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda saved: saved.x):
        out = fn(*args, **kwargs)
    storages = {}
    for ref in wrappers:
        saved = ref()
        if saved is not None:  # still held by the graph of out
            s = saved.x.untyped_storage()
            storages[(saved.x.device, s.data_ptr())] = s.nbytes()
    return out, sum(storages.values())


def memory_vs_steps(func, z0, params, steps, *, t1=1.0):
    """Bytes autograd saves for a fixed-grid RK4 solve from 0 to ``t1`` in n steps.

    Args:
        func: ``func(t, z)``, the vector field (it may use ``params``).
        z0: initial state, any shape.
        params: the tensors (requiring grad) the loss is differentiated with respect to.
        steps: numbers of RK4 steps, positive integers.
        t1: end time; the step size is ``t1 / n`` (a power of two n keeps it exact).

    Returns:
        ``{"steps": [...], "backprop": [bytes, ...], "adjoint": [bytes, ...]}``: the bytes
        saved during the forward solve by ``ne.odeint`` (backprop through the solver) and
        by ``ne.odeint_adjoint(adjoint="backsolve")``.
    """
    if not isinstance(z0, torch.Tensor):
        raise TypeError(f"z0 must be a torch.Tensor, got {type(z0).__name__}")
    if isinstance(t1, bool) or not isinstance(t1, (int, float)) or not t1 > 0:
        raise ValueError(f"t1 must be a positive number, got {t1!r}")
    steps = list(steps)
    if not steps or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in steps
    ):
        raise ValueError(f"steps must be a non-empty list of positive integers, got {steps!r}")
    params = list(params)
    t = torch.tensor([0.0, float(t1)], dtype=z0.dtype, device=z0.device)
    table = {"steps": steps, "backprop": [], "adjoint": []}
    for n in steps:
        h = float(t1) / n
        _, b = saved_tensor_bytes(odeint, func, z0, t, method="rk4", step_size=h)
        table["backprop"].append(b)
        _, b = saved_tensor_bytes(
            odeint_adjoint, func, z0, t, params=params, method="rk4", step_size=h
        )
        table["adjoint"].append(b)
    return table
