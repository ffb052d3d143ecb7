#!/usr/bin/env python3
"""Reference vectors for discrete information (docs/SPEC.md §9).

Writes tests/vectors/disc_*.npy and tests/vectors/disc_manifest.txt (removing
only its own previous files: tests/vectors is shared).  Independent of the C
code: counts by np.add.at; PMI/nPMI/PPMI written out in float64 NumPy with
the limits of §9; MI/NMI/AMI from scikit-learn's mutual_info_score,
normalized_mutual_info_score and adjusted_mutual_info_score on the labels
themselves; PID from dit (PID_WB, PID_MMI, PID_BROJA(method="cone"), which
report bits: converted to nats); Gaussian MMI from NumPy slogdet and
scipy.special.digamma.  The CI needs none of these packages: only the .npy
files and this manifest.

Manifest, one check a line, whitespace separated (files relative to
tests/vectors):
  count NAME XLABELS YLABELS X Y EXPECTED            (int64 [X, Y])
  pmi NAME COUNTS kind min_count smooth XC|- YC|- total EXPECTED  ([X, Y] f64)
  tmi NAME COUNTS average EXPECTED                   ([B, 5]: mi nmi ami hx hy)
  pid NAME JOINT measure EXPECTED                    ([B, 7]: R U1 U2 S I1 I2 I12)
  gauss NAME COV a b c samples EXPECTED              ([7])

Usage: /path/to/venv/bin/python tests/gen_discrete.py   (needs numpy, scipy,
scikit-learn, dit and ecos: pip install scikit-learn 'dit[broja]').
"""
import glob
import os

import numpy as np
from scipy.special import digamma
from sklearn.metrics import (adjusted_mutual_info_score, mutual_info_score,
                             normalized_mutual_info_score)
from scipy.stats import entropy as sp_entropy
import dit
from dit.pid import PID_BROJA, PID_MMI, PID_WB

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors")
rng = np.random.default_rng(20240922)
lines = []
LN2 = np.log(2.0)


def save(name, a):
    fn = "disc_%s.npy" % name
    np.save(os.path.join(OUT, fn), np.ascontiguousarray(a))
    return fn


# ---- counting ---------------------------------------------------------------------

def count_case(name, x, y, X, Y):
    t = np.zeros((X, Y), np.int64)
    yy = y.reshape(len(x), -1)
    np.add.at(t, (np.repeat(x, yy.shape[1]).astype(np.int64), yy.reshape(-1).astype(np.int64)), 1)
    lines.append("count %s %s %s %d %d %s" % (name, save(name + "_x", x), save(name + "_y", y), X, Y,
                                              save(name + "_expect", t)))


# ---- PMI ----------------------------------------------------------------------------

def pmi_ref(C, kind, min_count, smooth, xc=None, yc=None, total=0.0):
    C = C.astype(np.float64)
    X, Y = C.shape
    if xc is None:
        rx, ry = C.sum(1), C.sum(0)
        n = C.sum() if total == 0 else total
    else:
        rx, ry = xc.astype(np.float64), yc.astype(np.float64)
        n = total if total > 0 else rx.sum()
    c = C + smooth
    cx = rx + smooth * Y
    cy = ry + smooth * X
    n = n + smooth * X * Y
    with np.errstate(divide="ignore", invalid="ignore"):
        pxy = c / n
        pmi = np.log(pxy / np.outer(cx / n, cy / n))
        h = -np.log(pxy)
        npmi = pmi / h
    dead = (c <= 0) | (C < min_count)
    pmi[dead] = -np.inf
    npmi[dead] = -1.0
    npmi[(~dead) & (h <= 0)] = 1.0
    npmi = np.clip(npmi, -1, 1)
    if kind == "pmi":
        return pmi
    if kind == "npmi":
        return npmi
    return np.maximum(pmi, 0)


def pmi_case(name, C, kind, min_count=0.0, smooth=0.0, xc=None, yc=None, total=0.0):
    e = pmi_ref(C, kind, min_count, smooth, xc, yc, total)
    lines.append("pmi %s %s %s %.17g %.17g %s %s %.17g %s" % (
        name, save(name + "_c", C), kind, min_count, smooth,
        save(name + "_xc", xc) if xc is not None else "-",
        save(name + "_yc", yc) if yc is not None else "-", total, save(name + "_expect", e)))


# ---- MI / NMI / AMI -------------------------------------------------------------------

def table_of(a, b, X, Y):
    t = np.zeros((X, Y), np.int64)
    np.add.at(t, (a, b), 1)
    return t


def tmi_row(a, b, average):
    _, ca = np.unique(a, return_counts=True)
    _, cb = np.unique(b, return_counts=True)
    return [mutual_info_score(a, b),
            normalized_mutual_info_score(a, b, average_method=average),
            adjusted_mutual_info_score(a, b, average_method=average),
            sp_entropy(ca), sp_entropy(cb)]


def tmi_case(name, pairs, X, Y, average, dtype=np.int64):
    tabs = np.stack([table_of(a, b, X, Y) for a, b in pairs]).astype(dtype)
    exp = np.array([tmi_row(a, b, average) for a, b in pairs], np.float64)
    if len(pairs) == 1:
        tabs = tabs[0]
    lines.append("tmi %s %s %s %s" % (name, save(name + "_c", tabs), average, save(name + "_expect", exp)))


def skewed_labels(n, k, alpha):
    """Labels with Zipf-like cluster sizes (cluster i has weight (i+1)^-alpha)."""
    w = (np.arange(1, k + 1) ** -alpha)
    return rng.choice(k, size=n, p=w / w.sum())


# ---- PID --------------------------------------------------------------------------------

def dit_dist(P):
    S1, S2, T = P.shape
    outs, pm = [], []
    for i in range(S1):
        for j in range(S2):
            for t in range(T):
                if P[i, j, t] > 0:
                    outs.append((i, j, t))
                    pm.append(P[i, j, t])
    pm = np.array(pm) / np.sum(pm)
    return dit.Distribution(outs, list(pm))


def pid_row(P, measure):
    d = dit_dist(P)
    if measure == "broja":
        p = PID_BROJA(d, [[0], [1]], [2], method="cone")
    elif measure == "mmi":
        p = PID_MMI(d, [[0], [1]], [2])
    else:
        p = PID_WB(d, [[0], [1]], [2])
    r = p.get_pi(((0,), (1,)))
    u1 = p.get_pi(((0,),))
    u2 = p.get_pi(((1,),))
    s = p.get_pi(((0, 1),))
    Pn = P / P.sum()
    i1 = mi2d(Pn.sum(1))
    i2 = mi2d(Pn.sum(0))
    i12 = mi2d(Pn.reshape(-1, P.shape[2]))
    return [r * LN2, u1 * LN2, u2 * LN2, s * LN2, i1, i2, i12]


def mi2d(J):
    px, py = J.sum(1, keepdims=True), J.sum(0, keepdims=True)
    m = J > 0
    return float(np.sum(J[m] * np.log(J[m] / (px @ py)[m])))


def pid_case(name, joints, measure, dtype=np.float64):
    exp = np.array([pid_row(P, measure) for P in joints])
    arr = np.stack(joints).astype(dtype)
    if len(joints) == 1:
        arr = arr[0]
    lines.append("pid %s %s %s %s" % (name, save(name + "_j", arr), measure, save(name + "_expect", exp)))


def gate(f, S1=2, S2=2, T=None):
    T = T or 1 + max(f(i, j) for i in range(S1) for j in range(S2))
    P = np.zeros((S1, S2, T))
    for i in range(S1):
        for j in range(S2):
            P[i, j, f(i, j)] = 1.0 / (S1 * S2)
    return P


def classic():
    xor = gate(lambda a, b: a ^ b)
    and_ = gate(lambda a, b: a & b)
    copy = np.zeros((2, 2, 4))
    for a in range(2):
        for b in range(2):
            copy[a, b, 2 * a + b] = 0.25
    rdn = np.zeros((2, 2, 2))
    rdn[0, 0, 0] = rdn[1, 1, 1] = 0.5
    unq = np.zeros((2, 2, 2))  # T = S1, S2 independent noise
    for a in range(2):
        for b in range(2):
            unq[a, b, a] = 0.25
    return [xor, and_, copy, rdn, unq]


# ---- Gaussian ---------------------------------------------------------------------------

def gauss_ref(C, a, b, c, n):
    def ld(idx):
        s, v = np.linalg.slogdet(C[np.ix_(idx, idx)])
        assert s > 0
        m = len(idx)
        if n:
            v -= sum(digamma((n - k) / 2.0) - np.log((n - 1) / 2.0) for k in range(1, m + 1))
        return v
    i1_, i2_, y_ = list(range(a)), list(range(a, a + b)), list(range(a + b, a + b + c))
    I1 = max(0.0, 0.5 * (ld(i1_) + ld(y_) - ld(i1_ + y_)))
    I2 = max(0.0, 0.5 * (ld(i2_) + ld(y_) - ld(i2_ + y_)))
    I12 = max(0.0, 0.5 * (ld(i1_ + i2_) + ld(y_) - ld(i1_ + i2_ + y_)))
    R = min(I1, I2)
    S = I12 - max(I1, I2)
    if S < 0 and n == 0:
        S = 0.0
    return [R, I1 - R, I2 - R, S, I1, I2, I12]


def gauss_case(name, C, a, b, c, n):
    lines.append("gauss %s %s %d %d %d %d %s" % (name, save(name + "_cov", C), a, b, c, n,
                                                  save(name + "_expect", np.array(gauss_ref(C, a, b, c, n)))))


def main():
    for f in glob.glob(os.path.join(OUT, "disc_*.npy")):
        os.remove(f)

    # Counting: token ids x top-k experts (int32 and int64), Zipf-like tokens.
    N, V, E, k = 20000, 300, 64, 4
    tok = skewed_labels(N, V, 1.1).astype(np.int32)
    ex = np.stack([rng.permutation(E)[:k] for _ in range(N)]).astype(np.int32)
    count_case("topk_i32", tok, ex, V, E)
    count_case("pairs_i64", skewed_labels(5000, 40, 0.8).astype(np.int64),
               skewed_labels(5000, 25, 1.5).astype(np.int64), 40, 25)

    # PMI on a routing table: many never-counted pairs, a min_count, smoothing.
    T = np.zeros((V, E), np.int64)
    np.add.at(T, (np.repeat(tok, k), ex.reshape(-1)), 1)
    for kind in ("pmi", "npmi", "ppmi"):
        pmi_case("route_" + kind, T, kind)
    pmi_case("route_npmi_min5", T, "npmi", min_count=5)
    pmi_case("route_npmi_smooth", T, "npmi", smooth=0.5)
    # Limits: a pair with p = 1; a pair with p(x,y) = p(x) = p(y); zeros.
    one = np.zeros((3, 4), np.int64)
    one[1, 2] = 7
    pmi_case("single_pair", one, "npmi")
    diag = np.diag([5, 9, 1, 0]).astype(np.float64)
    pmi_case("diagonal", diag, "npmi")
    # Given unigram marginals (co-occurrence windows: marginals exceed row sums).
    W = rng.poisson(3.0, size=(30, 20)).astype(np.int64)
    xc = W.sum(1) + rng.integers(0, 50, size=30)
    yc = W.sum(0) + rng.integers(0, 50, size=20)
    pmi_case("given_marginals", W, "npmi", xc=xc, yc=yc, total=float(xc.sum() + 100))
    pmi_case("float_counts", rng.gamma(0.3, 2.0, size=(17, 13)).astype(np.float32), "pmi")

    # MI / NMI / AMI against scikit-learn.
    for av in ("arithmetic", "geometric", "min", "max"):
        a = skewed_labels(3000, 30, 1.2)
        b = (a * 7 + rng.integers(0, 3, size=3000)) % 45  # related, noisy
        tmi_case("skewed_" + av, [(a, b)], 30, 45, av)
    a = rng.integers(0, 400, size=2000)  # many small clusters
    b = rng.integers(0, 350, size=2000)
    tmi_case("many_small", [(a, b)], 400, 350, "arithmetic")
    a = skewed_labels(200000, 100, 1.0)  # large N
    b = np.where(rng.random(200000) < 0.7, a % 80, rng.integers(0, 80, size=200000))
    tmi_case("large_n", [(a, b)], 100, 80, "arithmetic")
    pairs = []
    for i in range(6):
        a = skewed_labels(500, 12, 0.5 + 0.3 * i)
        b = np.where(rng.random(500) < 0.2 * i, a, rng.integers(0, 12, size=500))
        pairs.append((a, b))
    pairs.append((np.zeros(50, int), np.zeros(50, int)))  # one cluster each: 1, 1
    pairs.append((np.zeros(50, int), rng.integers(0, 12, size=50)))  # one vs many: 0
    tmi_case("batch", pairs, 12, 12, "geometric", dtype=np.int32)

    # PID against dit.
    cls = classic()
    for m in ("imin", "mmi", "broja"):
        pid_case("classic_" + m, [c for c in cls if c.shape == (2, 2, 2)], m)
        pid_case("copy_" + m, [cls[2]], m)
        joints = [rng.dirichlet(np.ones(8) * 0.7).reshape(2, 2, 2) for _ in range(6)]
        pid_case("rand222_" + m, joints, m)
        joints = [rng.dirichlet(np.ones(27) * 0.5).reshape(3, 3, 3) for _ in range(3)]
        pid_case("rand333_" + m, joints, m)
        J = rng.dirichlet(np.ones(24)).reshape(2, 3, 4)
        J[0, 1, :] = 0  # structural zeros
        pid_case("rand234_" + m, [J * 1000], m)

    # Gaussian MMI.
    for (a, b, c, n, seed) in ((1, 1, 1, 0, 1), (2, 3, 2, 0, 2), (2, 2, 1, 200, 3), (3, 2, 2, 50, 4)):
        d = a + b + c
        g = np.random.default_rng(seed)
        A = g.normal(size=(d, d + 3))
        C = A @ A.T / (d + 3) + 0.1 * np.eye(d)
        gauss_case("g%d%d%d_n%d" % (a, b, c, n), C, a, b, c, n)

    with open(os.path.join(OUT, "disc_manifest.txt"), "w") as f:
        f.write("# discrete information test vectors: written by tests/gen_discrete.py; do not edit.\n")
        f.write("\n".join(lines) + "\n")
    print("wrote %d checks" % len(lines))


if __name__ == "__main__":
    main()
