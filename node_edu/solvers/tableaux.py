"""Butcher tableaux as data: one generic Runge-Kutta stepper (``rk.py``) runs them all.

An explicit s-stage Runge-Kutta method advances z' = f(t, z) by one step of size h::

    k_i = f(t + c_i h, z + h * sum_{j<i} a_ij k_j)      i = 1..s
    z1  = z + h * sum_i b_i k_i

An *embedded* method also carries weights ``b_err = b - b_hat`` of a lower-order
solution, so ``h * sum_i b_err_i k_i`` estimates the local error (adaptive step control).
``dense`` holds the coefficients of a continuous extension (dense output), used to
evaluate the solution inside a step at no extra function evaluation.
References: Hairer, Norsett & Wanner, *Solving ODEs I* (1993), II.1-II.6;
Dormand & Prince (1980); Shampine (1986) for dopri5's dense output.
"""

from dataclasses import dataclass
from fractions import Fraction as F


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

    @property
    def n_stages(self):
        return len(self.c)

    @property
    def adaptive(self):
        return self.b_err is not None


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

TABLEAUX = {tab.name: tab for tab in (EULER, MIDPOINT, RK4, DOPRI5)}
METHODS = tuple(TABLEAUX)
