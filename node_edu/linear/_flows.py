"""The two ways we evaluate exp(A s): exactly (SymPy) and at high precision (mpmath).

Both answer the same two questions, so the gradient formulas are written once:

- ``phi(s)``: the flow matrix Phi(s) = exp(A s) at a number s;
- ``frechet(tau, C)``: F(tau, C) = integral_0^tau Phi(tau - u)^T C Phi(u)^T du, the
  integral that dL/dA reduces to (it is the Frechet derivative of exp at A^T tau).

Exact: with the Jordan form A = P J P^{-1}, exp(A s) = sum_j M_j s^k_j e^{lambda_j s}
(one term per eigenvalue lambda and power k < the size of its Jordan block). Products of
such terms integrate in closed form, so F needs no symbolic ``integrate`` (which can take
minutes on the same input). Complex eigenvalues come in conjugate pairs for a real A, so
the imaginary parts cancel; we take the real part of each final entry.

Numeric: mpmath at ``dps`` digits; F from Van Loan's block matrix (Van Loan 1978,
"Computing integrals involving the matrix exponential"): the top-right block of
exp(tau [[A^T, C], [0, A^T]]) is exactly F(tau, C).
"""

from math import comb

import mpmath
import sympy as sp


def split(e):
    """(real part, imaginary part) of a small exact expression."""
    e = sp.expand(sp.expand_complex(e))
    real = sp.Add(*[term for term in sp.Add.make_args(e) if not term.has(sp.I)])
    return real, sp.expand((e - real) / sp.I)


def split_matrix(M):
    parts = [split(e) for e in M]
    return sp.Matrix(M.rows, M.cols, [p[0] for p in parts]), sp.Matrix(
        M.rows, M.cols, [p[1] for p in parts]
    )


class ExactFlow:
    """exp(A s) as a sum of matrix-valued exponential-polynomial terms (SymPy, exact)."""

    method = "sympy (exact)"
    exact = True

    def __init__(self, A):
        self.A = A
        n = A.shape[0]
        P, J = A.jordan_form()
        P_inv = P.inv()
        pieces = {}  # (lambda, k) -> the matrix of exp(J s) entries that read s^k e^{lambda s}
        start = 0
        for block in J.get_diag_blocks():
            size, lam = block.shape[0], block[0, 0]
            for k in range(size):
                E = pieces.setdefault((lam, k), sp.zeros(n, n))
                for p in range(size - k):
                    E[start + p, start + p + k] += sp.Rational(1, sp.factorial(k))
            start += size
        # Complex eigenvalues make complex terms; we keep real and imaginary parts apart
        # (lambda = alpha + i beta, M = M_re + i M_im) and only ever multiply real
        # expressions: taking real parts of big finished expressions is far slower.
        # radsimp clears radicals from denominators, so printed formulas stay readable.
        self.terms = []
        for (lam, k), E in pieces.items():
            M = (P * E * P_inv).applyfunc(lambda e: sp.expand(sp.radsimp(e)))
            self.terms.append((lam, split(lam), k, split_matrix(M)))

    def phi(self, s):
        """exp(A s) at a number or real symbol s, real:

        sum_j s^k e^{alpha s} (M_re cos(beta s) - M_im sin(beta s)).
        """
        total = sp.zeros(*self.A.shape)
        for _, (alpha, beta), k, (M_re, M_im) in self.terms:
            decay = s**k * sp.exp(alpha * s)
            total += M_re * (decay * sp.cos(beta * s))
            if beta != 0:
                total -= M_im * (decay * sp.sin(beta * s))
        return total

    def frechet(self, tau, C):
        """integral_0^tau Phi(tau - u)^T C Phi(u)^T du, exactly."""
        total = sp.zeros(*C.shape)
        for lam, _, k, (M_re, M_im) in self.terms:
            for mu, _, l, (N_re, N_im) in self.terms:
                X_re = M_re.T * C * N_re.T - M_im.T * C * N_im.T
                X_im = M_re.T * C * N_im.T + M_im.T * C * N_re.T
                i_re, i_im = split(_integral(k, l, lam, mu, tau))
                total += X_re * i_re
                if i_im != 0:
                    total -= X_im * i_im
        return total


def _integral(k, l, lam, mu, tau):
    """integral_0^tau (tau - u)^k u^l e^{lam (tau - u) + mu u} du in closed form."""
    delta = mu - lam
    value = 0
    for j in range(k + 1):  # (tau - u)^k = sum_j C(k, j) tau^(k-j) (-u)^j
        p = l + j
        if delta == 0:
            moment = tau ** (p + 1) / (p + 1)
        else:  # G_p = int_0^tau u^p e^{delta u} du; by parts,
            # G_p = (tau^p e^{delta tau} - p G_{p-1}) / delta.
            moment = (sp.exp(delta * tau) - 1) / delta
            for q in range(1, p + 1):
                moment = (tau**q * sp.exp(delta * tau) - q * moment) / delta
        value += comb(k, j) * tau ** (k - j) * (-1) ** j * moment
    return sp.exp(lam * tau) * value


class NumericFlow:
    """exp(A s) by mpmath's expm at ``dps`` significant digits (plus 10 guard digits)."""

    exact = False

    def __init__(self, A, dps):
        self.A, self.dps = A, dps
        self.method = f"mpmath ({dps} digits)"
        self._guard = dps + 10

    def _mp(self, x):
        return mpmath.mpf(str(sp.N(x, self._guard + 5)))

    def _mp_matrix(self, M):
        return mpmath.matrix([[self._mp(M[i, j]) for j in range(M.cols)] for i in range(M.rows)])

    def _to_sympy(self, M, rows, cols, row0=0, col0=0):
        return sp.Matrix(rows, cols, lambda i, j: sp.Float(M[row0 + i, col0 + j], self._guard))

    def phi(self, s):
        if getattr(s, "free_symbols", None):
            raise ValueError(
                "a formula in t needs the exact (SymPy) path, which timed out for this A; "
                "evaluate at numbers instead, or raise `timeout`"
            )
        n = self.A.shape[0]
        with mpmath.workdps(self._guard):
            return self._to_sympy(mpmath.expm(self._mp_matrix(self.A) * self._mp(s)), n, n)

    def frechet(self, tau, C):
        n = self.A.shape[0]
        block = sp.zeros(2 * n, 2 * n)
        block[:n, :n] = self.A.T
        block[n:, n:] = self.A.T
        block[:n, n:] = C
        with mpmath.workdps(self._guard):
            V = mpmath.expm(self._mp_matrix(block) * self._mp(tau))
            return self._to_sympy(V, n, n, 0, n)
