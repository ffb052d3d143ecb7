#!/usr/bin/env python3
"""BROJA of a batch of 1000 joints 2 x 2 x 2, float64, by a method independent of
the library's (tests/vectors/disc_broja_batch_{j,expect}.npy; test_discrete.c's
broja_batch checks every backend against them).

For 2 x 2 x 2 joints the BROJA polytope (Bertschinger et al. 2014: joints Q with
P's (s1, t) and (s2, t) marginals) has one free value a_t = Q(0, 0, t) per t,
in [max(0, P(s2=0,t) - P(s1=1,t)), min(P(s1=0,t), P(s2=0,t))]; the objective
f(Q) = sum Q log Q - sum_{s1 s2} Q(s1,s2) log Q(s1,s2) is jointly convex, so
min over (a_0, a_1) = min over a_0 of (min over a_1), each a bounded scalar
convex problem (SciPy's bounded Brent, to 1e-13 in a).  Then U1 = I_Q(S1;T|S2),
R = I(S1;T) - U1, U2 = I(S2;T) - R, S = I(S1,S2;T) - R - U1 - U2 (nats; the
informations of P by NumPy).  Values are rounded to float32 first, so that every
backend reads the same numbers.

The batch: Dirichlet(0.7) joints, Zipf-like masses in random order, confident
joints (one cell e^25 times the rest, as a softmax of logits with one 25 above
the others), joints with structural zeros, integer counts, and exact duplicates
of earlier joints.  Needs NumPy and SciPy: /usr/bin/python3 tests/gen_broja_batch.py
"""
import math
import os

import numpy as np
from scipy.optimize import minimize_scalar

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")
rng = np.random.default_rng(20261203)


def xlogx(x):
    return x * math.log(x) if x > 0 else 0.0


def f_of(q):
    """f(Q) = sum q log q - sum_{ij} Q_ij log Q_ij, q[i][j][t]."""
    s = 0.0
    for i in range(2):
        for j in range(2):
            Q = q[i][j][0] + q[i][j][1]
            s += xlogx(q[i][j][0]) + xlogx(q[i][j][1]) - xlogx(Q)
    return s


def slice_q(P, t, a):
    """The (s1, s2) slice of t with Q(0,0,t) = a and P's row and column sums."""
    r0, r1 = P[0, :, t].sum(), P[1, :, t].sum()
    c0 = P[:, 0, t].sum()
    return [[a, r0 - a], [c0 - a, r1 - c0 + a]]


def bounds(P, t):
    r0, r1 = P[0, :, t].sum(), P[1, :, t].sum()
    c0 = P[:, 0, t].sum()
    return max(0.0, c0 - r1), min(r0, c0)


def q_of(P, a0, a1):
    s0, s1 = slice_q(P, 0, a0), slice_q(P, 1, a1)
    # Clamp the rounding of r - a etc. at 0 (the box keeps them >= 0).
    return [[[max(s0[i][j], 0.0), max(s1[i][j], 0.0)] for j in range(2)] for i in range(2)]


def argmin(fn, lo, hi):
    if hi - lo <= 0:
        return lo
    r = minimize_scalar(fn, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13, "maxiter": 2000})
    # The ends too: a minimum on the boundary (a cell at 0) is reached there.
    best = min((r.x, lo, hi), key=fn)
    return best


def mi2d(J):
    px, py = J.sum(1, keepdims=True), J.sum(0, keepdims=True)
    m = J > 0
    return float(np.sum(J[m] * np.log(J[m] / (px @ py)[m])))


def broja(P):
    P = P / P.sum()
    lo0, hi0 = bounds(P, 0)
    lo1, hi1 = bounds(P, 1)

    def inner(a0):
        a1 = argmin(lambda a1: f_of(q_of(P, a0, a1)), lo1, hi1)
        return f_of(q_of(P, a0, a1)), a1

    a0 = argmin(lambda a0: inner(a0)[0], lo0, hi0)
    a1 = inner(a0)[1]
    q = np.array(q_of(P, a0, a1))
    # U1 = I_Q(S1; T | S2) = sum q log(q Q(s2) / (Q(s1,s2) Q(s2,t))).
    Q12 = q.sum(2)
    Qjt = q.sum(0)
    Qj = Qjt.sum(1)
    u1 = 0.0
    for i in range(2):
        for j in range(2):
            for t in range(2):
                if q[i, j, t] > 0:
                    u1 += q[i, j, t] * math.log(q[i, j, t] * Qj[j] / (Q12[i, j] * Qjt[j, t]))
    i1 = mi2d(P.sum(1))
    i2 = mi2d(P.sum(0))
    i12 = mi2d(P.reshape(4, 2))
    r = i1 - u1
    u2 = i2 - r
    s = i12 - r - u1 - u2
    return [r, u1, u2, s, i1, i2, i12]


def joints():
    out = []
    for _ in range(600):
        out.append(rng.dirichlet(np.ones(8) * 0.7))
    for _ in range(100):  # Zipf-like masses, in random order
        out.append(rng.permutation(np.arange(1, 9) ** -1.1))
    for _ in range(100):  # confident: one logit 25 above the rest
        z = rng.normal(size=8)
        z[rng.integers(8)] += 25
        out.append(np.exp(z - z.max()))
    for _ in range(100):  # structural zeros (one to three cells)
        p = rng.dirichlet(np.ones(8))
        p[rng.choice(8, size=rng.integers(1, 4), replace=False)] = 0
        out.append(p)
    for _ in range(50):  # integer counts
        out.append(rng.integers(0, 40, size=8).astype(float) + (rng.random(8) < 0.8))
    for _ in range(50):  # exact duplicates of earlier joints
        out.append(out[rng.integers(len(out))].copy())
    J = np.stack(out).astype(np.float32).reshape(-1, 2, 2, 2)
    for b in range(J.shape[0]):  # no joint of zero mass
        if J[b].sum() == 0:
            J[b, 0, 0, 0] = 1
    return J


def main():
    J = joints()
    exp = np.array([broja(J[b].astype(np.float64)) for b in range(J.shape[0])])
    np.save(os.path.join(OUT, "disc_broja_batch_j.npy"), J)
    np.save(os.path.join(OUT, "disc_broja_batch_expect.npy"), exp)
    print("wrote %d joints; mean synergy %.6g nats" % (J.shape[0], exp[:, 3].mean()))


if __name__ == "__main__":
    main()
