"""Reference answers for lesson 10, an ODE-Net on the digits."""


def resnet_width(dim, hidden, blocks):
    """The hidden width w of each of ``blocks`` residual blocks (each W2 tanh(W1 z + b1) + b2
    of its own, z of size ``dim``) whose parameters together come closest to those of ONE
    field of hidden width ``hidden``. An int >= 1."""
    ode_block = 2 * dim * hidden + hidden + dim  # W1, W2, b1 (hidden), b2 (dim)
    # blocks * (2 dim w + w + dim) = ode_block, solved for w; each block has its own b2
    w = (ode_block - blocks * dim) / (blocks * (2 * dim + 1))
    return max(1, round(w))


def predicted_bytes(mode, batch, dim, hidden, steps):
    """Bytes autograd keeps for one forward pass through a block of z [batch, dim] (z requires
    grad; float32), f = W2 tanh(W1 z + b1) + b2 of hidden width ``hidden``:
    "resnet": ``steps`` residual blocks, each its own f; "backprop": ``ne.odeint``, RK4 with
    ``steps`` steps, one f; "adjoint": ``ne.odeint_adjoint``, the same solve."""
    per_call = batch * (dim + hidden)  # Linear 1 keeps its input z; tanh keeps its output
    weights = 2 * dim * hidden  # W1 and W2, to pass the gradient back to z; biases need nothing
    if mode == "resnet":  # steps calls, each of its own f
        return 4 * steps * (per_call + weights)
    if mode == "backprop":  # RK4: four calls of the one f per step
        return 4 * (4 * steps * per_call + weights)
    if mode == "adjoint":  # only z(t0), z(t1) and t: the backward pass solves again
        return 4 * (2 * batch * dim + 2)
    raise ValueError(f"mode must be 'resnet', 'backprop' or 'adjoint', got {mode!r}")
