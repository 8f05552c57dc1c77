"""Butcher tableaux as data: one generic Runge-Kutta stepper (``rk.py``) runs them all.

An explicit s-stage Runge-Kutta method advances z' = f(t, z) by one step of size h::

    k_i = f(t + c_i h, z + h * sum_{j<i} a_ij k_j)      i = 1..s
    z1  = z + h * sum_i b_i k_i

An *embedded* method also carries weights ``b_err = b - b_hat`` of a lower-order
solution, so ``h * sum_i b_err_i k_i`` estimates the local error (adaptive step control).
``dense`` holds the coefficients of a continuous extension (dense output), used to
evaluate the solution inside a step at no extra function evaluation.
References: Hairer, Norsett & Wanner, *Solving ODEs I* (1993), II.1-II.6;
Dormand & Prince (1980); Shampine (1986) for dopri5's dense output; Bogacki & Shampine
(1989), "A 3(2) pair of Runge-Kutta formulas", Appl. Math. Lett. 2(4); Tsitouras (2011),
"Runge-Kutta pairs of order 5(4) satisfying only the first column simplifying
assumption", Comput. Math. Appl. 62(2).

Every tableau checks itself when it is created (``ButcherTableau.__post_init__``): a
mistyped coefficient that breaks one of the basic consistency conditions is a
``ValueError`` naming the condition, not a silently wrong solver.
"""

import math
from dataclasses import dataclass
from fractions import Fraction as F

# Float coefficients are checked to this accuracy (the decimals of tsit5 carry ~16 digits).
_TOL = 1e-12


@dataclass(frozen=True)
class ButcherTableau:
    """The coefficients of one explicit Runge-Kutta method.

    name:   the method's name as passed to ``odeint(method=...)``.
    order:  the order p of the propagated solution (global error O(h^p)).
    c:      stage times, length s.
    a:      lower-triangular stage weights, a[i] has length i (row i of the tableau).
    b:      solution weights, length s.
    b_err:  b - b_hat (error-estimate weights), length s; None for fixed-grid methods.
    dense:  dense-output coefficients, dense[i][j] multiplies theta**(j+1) for stage i,
            so z(t + theta h) = z + h * sum_i k_i * sum_j dense[i][j] theta**(j+1);
            None means cubic Hermite interpolation is used instead.
    fsal:   "first same as last": the last stage is f at the step's end point, so it is
            the next step's first stage and costs no evaluation.
    """

    name: str
    order: int
    c: tuple
    a: tuple
    b: tuple
    b_err: tuple | None = None
    dense: tuple | None = None
    fsal: bool = False

    def __post_init__(self):
        """Check the conditions every consistent explicit RK tableau meets."""

        def fail(condition, detail):
            raise ValueError(f"tableau {self.name!r}: {condition} is violated ({detail})")

        s = len(self.c)
        if not (isinstance(self.order, int) and self.order >= 1):
            fail("order >= 1 (an int)", f"got {self.order!r}")
        if s == 0 or len(self.a) != s or len(self.b) != s:
            fail("len(c) == len(a) == len(b) >= 1", f"got {s}, {len(self.a)}, {len(self.b)}")
        for i, row in enumerate(self.a):
            if len(row) != i:
                fail("row i of a has i entries (explicit)", f"row {i} has {len(row)}")
            if not math.isclose(sum(row), self.c[i], abs_tol=_TOL):
                fail("each row of a sums to c", f"row {i}: sum {sum(row)!r}, c = {self.c[i]!r}")
        if not math.isclose(sum(self.b), 1.0, abs_tol=_TOL):
            fail("b sums to 1", f"sum {sum(self.b)!r}")
        if self.b_err is not None:
            if len(self.b_err) != s:
                fail("len(b_err) == len(b)", f"got {len(self.b_err)} and {s}")
            if not math.isclose(sum(self.b_err), 0.0, abs_tol=_TOL):
                fail("b_err sums to 0 (both solutions consistent)", f"sum {sum(self.b_err)!r}")
        if self.fsal:
            last = tuple(self.a[-1]) + (0.0,)
            if not all(math.isclose(x, y, abs_tol=_TOL) for x, y in zip(last, self.b, strict=True)):
                fail("fsal implies the last row of a equals b", f"{self.a[-1]} vs {self.b}")
            if self.c[-1] != 1:
                fail("fsal implies c[-1] == 1", f"c[-1] = {self.c[-1]!r}")
        if self.dense is not None:
            if len(self.dense) != s or any(len(row) != 4 for row in self.dense):
                fail("dense is s rows of 4 coefficients", f"got {len(self.dense)} rows")
            for i, row in enumerate(self.dense):  # z(t + h) from the dense output is z1
                if not math.isclose(sum(row), self.b[i], abs_tol=_TOL):
                    fail("each dense row sums to b (continuity at theta = 1)", f"row {i}")

    @property
    def n_stages(self):
        return len(self.c)

    @property
    def adaptive(self):
        return self.b_err is not None

    implicit = False  # see implicit.ThetaMethod


def _floats(rows):
    return tuple(tuple(float(x) for x in row) for row in rows)


EULER = ButcherTableau(name="euler", order=1, c=(0.0,), a=((),), b=(1.0,))

# Explicit midpoint rule: a half step with Euler, then a full step with the midpoint slope.
MIDPOINT = ButcherTableau(name="midpoint", order=2, c=(0.0, 0.5), a=((), (0.5,)), b=(0.0, 1.0))

# The classical fourth-order Runge-Kutta method (Kutta, 1901).
RK4 = ButcherTableau(
    name="rk4",
    order=4,
    c=(0.0, 0.5, 0.5, 1.0),
    a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
    b=(1 / 6, 1 / 3, 1 / 3, 1 / 6),
)

# Dormand-Prince 5(4) (Dormand & Prince, 1980), exact fractions converted once to floats.
# Seven stages; the seventh is evaluated at the 5th-order solution itself (b == a[6]),
# which is FSAL: it is also the first stage of the next step, so a step costs 6 evaluations.
_DP_B = (F(35, 384), F(0), F(500, 1113), F(125, 192), F(-2187, 6784), F(11, 84), F(0))
_DP_B_HAT = (
    F(5179, 57600),
    F(0),
    F(7571, 16695),
    F(393, 640),
    F(-92097, 339200),
    F(187, 2100),
    F(1, 40),
)
DOPRI5 = ButcherTableau(
    name="dopri5",
    order=5,
    c=(0.0, 0.2, 0.3, 0.8, 8 / 9, 1.0, 1.0),
    a=_floats(
        (
            (),
            (F(1, 5),),
            (F(3, 40), F(9, 40)),
            (F(44, 45), F(-56, 15), F(32, 9)),
            (F(19372, 6561), F(-25360, 2187), F(64448, 6561), F(-212, 729)),
            (F(9017, 3168), F(-355, 33), F(46732, 5247), F(49, 176), F(-5103, 18656)),
            _DP_B[:6],
        )
    ),
    b=tuple(float(x) for x in _DP_B),
    b_err=tuple(float(b - bh) for b, bh in zip(_DP_B, _DP_B_HAT, strict=True)),
    # Shampine's (1986) 4th-order continuous extension with the optimal c_6, the same
    # polynomial SciPy's RK45 uses; at theta = 1 each row sums to b_i.
    dense=_floats(
        (
            (
                1,
                F(-8048581381, 2820520608),
                F(8663915743, 2820520608),
                F(-12715105075, 11282082432),
            ),
            (0, 0, 0, 0),
            (
                0,
                F(131558114200, 32700410799),
                F(-68118460800, 10900136933),
                F(87487479700, 32700410799),
            ),
            (0, F(-1754552775, 470086768), F(14199869525, 1410260304), F(-10690763975, 1880347072)),
            (
                0,
                F(127303824393, 49829197408),
                F(-318862633887, 49829197408),
                F(701980252875, 199316789632),
            ),
            (0, F(-282668133, 205662961), F(2019193451, 616988883), F(-1453857185, 822651844)),
            (0, F(40617522, 29380423), F(-110615467, 29380423), F(69997945, 29380423)),
        )
    ),
    fsal=True,
)

# Bogacki-Shampine 3(2) (Bogacki & Shampine, 1989), torchdiffeq's "bosh3" (as in its
# torchdiffeq/_impl/bosh3.py). FSAL; no dense-output row here: outputs use cubic Hermite
# interpolation, whose O(h^4) error is below the method's O(h^3).
_BS_B = (F(2, 9), F(1, 3), F(4, 9), F(0))
_BS_B_HAT = (F(7, 24), F(1, 4), F(1, 3), F(1, 8))
BOSH3 = ButcherTableau(
    name="bosh3",
    order=3,
    c=(0.0, 0.5, 0.75, 1.0),
    a=_floats(((), (F(1, 2),), (F(0), F(3, 4)), _BS_B[:3])),
    b=tuple(float(x) for x in _BS_B),
    b_err=tuple(float(b - bh) for b, bh in zip(_BS_B, _BS_B_HAT, strict=True)),
    fsal=True,
)

# Tsitouras 5(4) (Tsitouras, 2011, Table 1): seven stages, FSAL like dopri5 but with
# smaller error constants. The decimals are those of the paper as printed in diffrax
# (diffrax/_solver/tsit5.py) and torchdiffeq (torchdiffeq/_impl/tsit5.py), rounded here
# to what a float64 holds.
_TS_B = (
    0.09646076681806523,
    0.01,
    0.4798896504144996,
    1.379008574103742,
    -3.290069515436081,
    2.324710524099774,
    0.0,
)
_TS_B_HAT = (  # the embedded 4th-order weights
    0.09468075576583945,
    0.009183565540343254,
    0.4877705284247616,
    1.234297566930479,
    -2.7077123499835256,
    1.866628418170587,
    1 / 66,
)


def _poly(*factors):
    """Coefficients (constant term first) of the product of polynomials given likewise."""
    out = [1.0]
    for p in factors:
        prod = [0.0] * (len(out) + len(p) - 1)
        for i, x in enumerate(out):
            for j, y in enumerate(p):
                prod[i + j] += x * y
        out = prod
    return out


# Tsitouras' dense output: stage i's weight is a degree-4 polynomial b_i(theta) with
# b_i(0) = 0, given in the sources above in factored form; stored as the coefficients of
# theta^1..theta^4.
_TS_DENSE = tuple(
    tuple(_poly(*p)[1:])
    for p in (
        (
            [0, -1.0530884977290216],
            [-1.3299890189751412, 1],
            [0.7139816917074209, -1.4364028541716351, 1],
        ),
        ([0, 0, 0.1017], [1.2949852507374631, -2.1966568338249754, 1]),
        ([0, 0, 2.490627285651253], [1.57803468208092486, -2.38535645472061657, 1]),
        ([0, 0, -16.54810288924490272], [-1.21712927295533244, 1], [-0.61620406037800089, 1]),
        ([0, 0, 47.37952196281928122], [-1.2030712083723627, 1], [-0.6580472926535473, 1]),
        ([0, 0, -34.87065786149660974], [-1.2, 1], [-2 / 3, 1]),
        ([0, 0, 2.5], [-1, 1], [-0.6, 1]),
    )
)
TSIT5 = ButcherTableau(
    name="tsit5",
    order=5,
    c=(0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0),
    a=(
        (),
        (0.161,),
        (-0.008480655492356989, 0.335480655492357),
        (2.8971530571054935, -6.359448489975075, 4.3622954328695815),
        (5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525),
        (
            5.86145544294642,
            -12.92096931784711,
            8.159367898576159,
            -0.071584973281401,
            -0.028269050394068383,
        ),
        _TS_B[:6],
    ),
    b=_TS_B,
    b_err=tuple(b - bh for b, bh in zip(_TS_B, _TS_B_HAT, strict=True)),
    dense=_TS_DENSE,
    fsal=True,
)

TABLEAUX = {tab.name: tab for tab in (EULER, MIDPOINT, RK4, BOSH3, DOPRI5, TSIT5)}
