"""What LinearODE hands back: Euler results, gradients, and a report comparing gradients.

Every result says how it was obtained: ``exact`` is True for SymPy closed forms and False
when SymPy ran past its time limit and the numbers come from mpmath (``method`` says
which, with the number of digits).
"""

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

QUANTITIES = ("loss", "dz0", "dA", "dt", "dt0")


def to_numpy(value):
    """Exact SymPy values, torch tensors, numpy arrays or lists -> float64 numpy array."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().double().numpy()
    if isinstance(value, sp.MatrixBase):
        value = [[sp.N(x, 20) for x in row] for row in value.tolist()]
    if isinstance(value, sp.Basic):
        value = sp.N(value, 20)
    return np.asarray(np.asarray(value, dtype=object).tolist(), dtype=np.float64)


@dataclass
class EulerResult:
    """Explicit Euler on [t0, t1] in N steps: z_N = (I + hA)^N z0, h = (t1 - t0)/N.

    ``z_euler`` and ``z_exact`` (= exp(A (t1 - t0)) z0) are n x 1 SymPy matrices,
    ``error = z_exact - z_euler``, ``error_norm`` its Euclidean norm as a float.
    """

    n_steps: int
    h: sp.Expr
    step_matrix: sp.Matrix  # I + hA
    z_euler: sp.Matrix
    z_exact: sp.Matrix
    error: sp.Matrix
    error_norm: float
    exact: bool
    method: str

    def _repr_latex_(self):
        return (
            rf"$z_N = \left(I + hA\right)^{{N}} z_0 = "
            rf"{sp.latex(self.step_matrix)}^{{{self.n_steps}}} z_0 \approx "
            rf"{sp.latex(sp.N(self.z_euler, 12))},"
            rf"\quad h = {sp.latex(self.h)},"
            rf"\quad \|e^{{A(t_1-t_0)}} z_0 - z_N\| \approx {self.error_norm:.3e}$"
        )


@dataclass
class Gradients:
    """Gradients of L = c * sum_i |z(t_i) - y_i|^2 (c = 1/m for "mean", 1 for "sum").

    Shapes (n = state size, m = number of observation times): ``dz0`` n x 1, ``dA`` n x n,
    ``dt`` m x 1 (dL/dt_i; None for Euler), ``dt0`` a number (None for Euler), ``dLdz``
    a list of m vectors n x 1, the jumps of the adjoint at each t_i:
    a(t_i^-) = a(t_i^+) + dL/dz(t_i), with dL/dz(t_i) = 2 c (z(t_i) - y_i).
    """

    loss_kind: str
    times: list
    z: list  # z(t_i) (continuous) or the Euler iterate at t_i
    loss: sp.Expr
    dz0: sp.Matrix
    dA: sp.Matrix
    dt: sp.Matrix | None
    dt0: sp.Expr | None
    dLdz: list
    exact: bool
    method: str
    scheme: str  # "exact flow" or "explicit Euler, N steps"
    _adjoint: object = field(repr=False, default=None)
    _pieces: object = field(repr=False, default=None)
    _grid: object = field(repr=False, default=None)

    def adjoint(self, t):
        """a(t) = dL/dz(t), an n x 1 matrix; a SymPy Piecewise formula when t is a symbol.

        At an observation time t_i it returns a(t_i^-), the value that includes the jump.
        """
        return self._adjoint(t)

    def adjoint_pieces(self):
        """[((lo, hi), formula in t), ...]: a(t) on each interval (lo, hi] between jumps."""
        if self._pieces is None:
            raise ValueError(
                f"adjoint_pieces needs the continuous adjoint (it has pieces), got {self.scheme}"
            )
        return self._pieces()

    def adjoint_on_grid(self, ts):
        """a(t) at the float times ``ts`` as a float64 numpy array of shape [len(ts), n]."""
        return self._grid(ts)

    def compare(self, **numerical):
        """Relative errors of numerical gradients (torch, numpy, lists) against these.

        Keys: any of ``loss``, ``dz0``, ``dA``, ``dt`` (length m, for t_1..t_m), ``dt0``.
        """
        return compare(self, **numerical)

    def _repr_markdown_(self):
        # Exact values can be long formulas: the table shows 12 digits (the exact values
        # stay in the attributes).
        head = f"**{self.scheme}**, {self.loss_kind} loss, {self.method}\n\n"
        rows = [
            f"| {name} | ${sp.latex(sp.N(getattr(self, name), 12))}$ |"
            for name in QUANTITIES
            if getattr(self, name) is not None
        ]
        return head + "| quantity | value |\n|---|---|\n" + "\n".join(rows)


class GradientReport:
    """Relative error per quantity: |numerical - exact| / |exact| (Frobenius norms).

    Where the exact value is zero the relative error is undefined, and the absolute
    error is reported in its place (flagged "abs"). ``ok(rtol)`` and ``assert_close(rtol)``
    are for tests; the table prints in Jupyter (markdown and HTML) and as text.
    """

    def __init__(self, rows, reference):
        self.rows = rows  # [(name, shape, error, kind), kind "rel" or "abs"]
        self.reference = reference
        self.errors = {name: error for name, _, error, _ in rows}

    @property
    def max_error(self):
        return max(self.errors.values())

    def ok(self, rtol):
        return all(error <= rtol for error in self.errors.values())

    def assert_close(self, rtol):
        if not self.ok(rtol):
            raise AssertionError(f"gradients differ by more than {rtol:g}:\n{self}")

    def _lines(self):
        return [(n, "x".join(map(str, s)) or "scalar", f"{e:.3e}", k) for n, s, e, k in self.rows]

    def __str__(self):
        lines = [f"against {self.reference}", f"{'quantity':<9}{'shape':<8}{'error':<12}kind"]
        lines += [f"{n:<9}{s:<8}{e:<12}{k}" for n, s, e, k in self._lines()]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_markdown_(self):
        rows = "\n".join(f"| {n} | {s} | {e} | {k} |" for n, s, e, k in self._lines())
        head = "| quantity | shape | error | kind |\n|---|---|---|---|"
        return f"against {self.reference}\n\n{head}\n{rows}"

    def _repr_html_(self):
        rows = "".join(
            f"<tr><td>{n}</td><td>{s}</td><td>{e}</td><td>{k}</td></tr>"
            for n, s, e, k in self._lines()
        )
        return (
            f"<p>against {self.reference}</p><table><tr><th>quantity</th><th>shape</th>"
            f"<th>error</th><th>kind</th></tr>{rows}</table>"
        )


def compare(exact, **numerical):
    """A GradientReport of ``numerical`` (keyword per quantity) against ``exact`` Gradients."""
    if not numerical:
        raise ValueError(
            f"compare needs at least one of {', '.join(QUANTITIES)} as a keyword, got none"
        )
    rows = []
    for name, value in numerical.items():
        if name not in QUANTITIES:
            raise ValueError(f"compare's keywords must be among {list(QUANTITIES)}, got {name!r}")
        reference = getattr(exact, name)
        if reference is None:
            raise ValueError(
                f"compare's {name} must be left out: these gradients have no {name} "
                f"({exact.scheme})"
            )
        want = to_numpy(reference)
        got = to_numpy(value)
        if got.size != want.size:
            raise ValueError(
                f"{name} must have {want.size} entries (shape {want.shape}), got {got.size} "
                f"(shape {got.shape})"
            )
        diff = float(np.linalg.norm(got.ravel() - want.ravel()))
        scale = float(np.linalg.norm(want.ravel()))
        if scale > 0:
            rows.append((name, want.shape, diff / scale, "rel"))
        else:  # relative error undefined: report the absolute one
            rows.append((name, want.shape, diff, "abs"))
    return GradientReport(rows, f"{exact.scheme} ({exact.method})")
