"""The benchmark problem: lesson 06's spiral model, a 2 -> 50 -> 2 tanh MLP vector field.

All benchmarks use the same seeded MLP, z0 drawn from a fixed generator, and output times
``linspace(0, T_END, n)``. Timers take the best of several interleaved repeats, which is
the figure least disturbed by other processes on a shared machine.
"""

import platform
import time

import torch

T_END = 10.0
SEED = 0


class SpiralMLP(torch.nn.Module):
    """dz/dt = W2 tanh(W1 z + b1) + b2, z in R^2 (autonomous, like lesson 06's model)."""

    def __init__(self, seed=SEED, dtype=torch.float32, device="cpu"):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.l1 = torch.nn.Linear(2, 50)
        self.l2 = torch.nn.Linear(50, 2)
        with torch.no_grad():
            for p in self.parameters():  # a fixed, reproducible initialisation
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5)
        self.to(dtype=dtype, device=device)

    def forward(self, t, z):
        return self.l2(torch.tanh(self.l1(z)))


class Counted(torch.nn.Module):
    """Wraps a vector field and counts its calls (to read torchdiffeq's evaluations)."""

    def __init__(self, func):
        super().__init__()
        self.func, self.calls = func, 0

    def forward(self, t, z):
        self.calls += 1
        return self.func(t, z)


def initial_state(batch, dtype=torch.float32, device="cpu", seed=SEED):
    g = torch.Generator().manual_seed(seed + 1000)
    return torch.randn(batch, 2, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)


def times(n, dtype=torch.float32, device="cpu"):
    return torch.linspace(0.0, T_END, n, dtype=dtype, device=device)


def targets(n, batch, dtype=torch.float32, device="cpu", seed=SEED):
    g = torch.Generator().manual_seed(seed + 2000)
    return torch.randn(n, batch, 2, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def best_times(functions, repeats, device="cpu", number=1):
    """Best wall time (s) per call of each function, repeats interleaved so that load
    from other processes hits all alike. ``number``: calls per timing, an int or a list
    with one entry per function (short functions need many calls per timing)."""
    numbers = number if isinstance(number, (list, tuple)) else [number] * len(functions)
    best = [float("inf")] * len(functions)
    for fn in functions:  # warm up
        fn()
    for _ in range(repeats):
        for i, fn in enumerate(functions):
            sync(device)
            start = time.perf_counter()
            for _ in range(numbers[i]):
                fn()
            sync(device)
            best[i] = min(best[i], (time.perf_counter() - start) / numbers[i])
    return best


def machine():
    """One line describing where the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    import torchdiffeq

    return (
        f"{cpu}; torch {torch.__version__} with {torch.get_num_threads()} threads; "
        f"torchdiffeq {torchdiffeq.__version__}; {gpu}; Python {platform.python_version()}"
    )


def table(headers, rows):
    """A Markdown table (it prints readably too)."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(out)
