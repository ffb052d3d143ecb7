#!/usr/bin/env python3
"""Reference vectors for the spectral measures (docs/SPEC.md §6), in float64 NumPy.

Writes tests/vectors/spectral_*.npy and tests/vectors/spectral_manifest.txt.
Independent of the C code: similarity matrices are built from coordinate
differences and norms with NumPy, eigenvalues come from numpy.linalg.eigvalsh,
and the orders follow docs/SPEC.md §2 literally (log(Σ λ^q)/(1 − q), Shannon at 1,
−log max at ∞, log of the count at 0).

Manifest, one check a line, whitespace separated:
  measure x y kernel sigma kernel_y sigma_y order path expected
measure: vendi | entropy | joint | mi | vendi_batch; '-' where a field does not
apply; path: auto | primal | dual (what the C call is asked for); expected: a
number, or for vendi_batch the .npy file of per-set scores.

Usage: python3 tests/gen_spectral.py [--check-vendi]   (the flag cross-checks
q = 1 against the `vendi-score` package, whose score_X ignores q).
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors")
rng = np.random.default_rng(20240617)
lines = []


def save(name, a):
    fn = "spectral_%s.npy" % name
    np.save(os.path.join(OUT, fn), a)
    return fn


def kernel_matrix(x, kernel, sigma):
    x = np.asarray(x, dtype=np.float64)
    if kernel == "precomputed":
        return 0.5 * (x + x.T)
    if kernel == "cosine":
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        k = xn @ xn.T
        np.fill_diagonal(k, 1.0)
        return k
    if kernel == "rbf":
        d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2.0 * sigma * sigma))
    raise ValueError(kernel)


def spectrum(k, d, eps=np.finfo(np.float64).eps):
    """Kept eigenvalues of K/n, normalised to sum 1.  The rank rule of
    infoest.h: |λ| <= 2 (m + d) ε λmax is zero (ε: float64, or a given K's
    dtype).  Asserts a clear gap (x10 below, x100 above) around that threshold so the count
    does not hinge on rounding."""
    n = k.shape[0]
    w = np.linalg.eigvalsh(k / n)
    tol = 2.0 * (n + d) * eps * w.max()
    assert not np.any((np.abs(w) > tol / 10) & (np.abs(w) < tol * 100)), "eigenvalue near the rank threshold"
    w = w[w > tol]
    return w / w.sum()


def eps_of(x, kernel):
    """A given K's rounding counts at its own precision; samples are exact."""
    if kernel == "precomputed":
        return max(np.finfo(np.float64).eps, np.finfo(x.dtype).eps)
    return np.finfo(np.float64).eps


def renyi(p, q):
    if q == np.inf:
        return -np.log(p.max())
    if q == 0:
        return np.log(len(p))
    if q == 1:
        return -np.sum(p * np.log(p))
    return np.log(np.sum(p ** q)) / (1.0 - q)


def vendi(p, q):
    return float(len(p)) if q == 0 else float(np.exp(renyi(p, q)))


def f32(a):
    """Samples are stored as float32 (every backend takes them); the reference
    is computed on the stored values.  *_f64 vectors are for the CPU only."""
    return np.ascontiguousarray(a, dtype=np.float32)


def fmt(v):
    return "inf" if v == np.inf else repr(float(v))


ORDERS = [0.0, 0.5, 1.0, 2.0, np.inf, 3.3, 0.999999, 1.25]
ALPHAS = [0.5, 1.0, 2.0, 3.7, np.inf, 0.0]


def add_vendi(name, x, kernel, sigma=None, paths=("auto",), orders=ORDERS, stored=None):
    xs = x if stored is None else stored
    fx = save(name, xs)
    k = kernel_matrix(np.asarray(xs, dtype=np.float64), kernel, sigma)
    p = spectrum(k, xs.shape[1], eps_of(xs, kernel))
    for path in paths:
        for q in orders:
            lines.append("vendi %s - %s %s - - %s %s %s" % (
                fx, kernel, fmt(sigma) if sigma else "-", fmt(q), path, repr(vendi(p, q))))
    return fx, p


def add_entropy(fx, x, kernel, sigma=None):
    p = spectrum(kernel_matrix(np.asarray(x, dtype=np.float64), kernel, sigma), x.shape[1], eps_of(x, kernel))
    for a in ALPHAS:
        lines.append("entropy %s - %s %s - - %s auto %s" % (
            fx, kernel, fmt(sigma) if sigma else "-", fmt(a), repr(float(renyi(p, a)))))


def add_pair(name, x, y, kx, sx, ky, sy):
    fx, fy = save(name + "_x", x), save(name + "_y", y)
    kxm = kernel_matrix(x, kx, sx)
    kym = kernel_matrix(y, ky, sy)
    pa, pb = spectrum(kxm, x.shape[1]), spectrum(kym, y.shape[1])
    pab = spectrum(kxm * kym, x.shape[1] + y.shape[1])
    for a in ALPHAS:
        sa, sb, sab = renyi(pa, a), renyi(pb, a), renyi(pab, a)
        common = "%s %s %s %s %s %s %s auto" % (fx, fy, kx, fmt(sx) if sx else "-", ky,
                                               fmt(sy) if sy else "-", fmt(a))
        lines.append("joint %s %s" % (common, repr(float(sab))))
        lines.append("mi %s %s" % (common, repr(float(sa + sb - sab))))


def add_batch(name, xb, kernel, sigma=None, orders=(0.0, 0.5, 1.0, 2.0, np.inf)):
    fx = save(name, xb)
    for q in orders:
        v = np.array([vendi(spectrum(kernel_matrix(np.asarray(s, np.float64), kernel, sigma), s.shape[1]), q)
                      for s in xb])
        fe = save("%s_q%s" % (name, fmt(q).replace(".", "p")), v)
        lines.append("vendi_batch %s - %s %s - - %s auto %s" % (
            fx, kernel, fmt(sigma) if sigma else "-", fmt(q), fe))


def main():
    os.makedirs(OUT, exist_ok=True)
    # Cosine, primal (d >= n) and dual (d < n); both paths asked for explicitly too.
    add_vendi("cos_wide_f64", rng.standard_normal((20, 40)), "cosine", paths=("auto", "primal", "dual"))
    add_vendi("cos_wide", f32(rng.standard_normal((20, 40))), "cosine", paths=("auto", "primal", "dual"))
    xd = f32(rng.standard_normal((60, 7)) + 0.3)
    fx, _ = add_vendi("cos_tall", xd, "cosine", paths=("auto", "primal", "dual"))
    add_entropy(fx, xd, "cosine")
    # Clustered samples, float32 storage (the reference uses the stored values).
    c = rng.standard_normal((4, 10))
    xc = (c[rng.integers(0, 4, 48)] + 0.15 * rng.standard_normal((48, 10))).astype(np.float32)
    add_vendi("cos_clusters_f32", None, "cosine", paths=("auto", "primal"), stored=xc)
    # Larger sets: LAPACK ?syevd (order > 64) rather than the small path.
    add_vendi("cos_large", f32(rng.standard_normal((100, 120))), "cosine", paths=("auto", "dual"))
    add_vendi("rbf_large", f32(rng.standard_normal((90, 4))), "rbf", sigma=0.3)
    # rbf
    xr = f32(rng.standard_normal((30, 5)))
    fx, _ = add_vendi("rbf", xr, "rbf", sigma=1.5)
    add_entropy(fx, xr, "rbf", 1.5)
    xr32 = (rng.standard_normal((25, 3)) * 2).astype(np.float32)
    add_vendi("rbf_f32", None, "rbf", sigma=0.7, stored=xr32)
    # A given similarity matrix (rbf of other points), float64 and float32.
    pts = rng.standard_normal((24, 3))
    kp = kernel_matrix(pts, "rbf", 0.9)
    fx, _ = add_vendi("given_f64", kp, "precomputed")
    add_entropy(fx, kp, "precomputed")
    kp = f32(kernel_matrix(pts, "rbf", 0.35))  # well above float32 rounding
    kp = np.triu(kp) + np.triu(kp, 1).T  # exactly symmetric in float32
    fx, _ = add_vendi("given", kp, "precomputed")
    add_entropy(fx, kp, "precomputed")
    kp32 = kernel_matrix(rng.standard_normal((18, 6)), "cosine", None).astype(np.float32)
    kp32 = np.triu(kp32) + np.triu(kp32, 1).T  # exactly symmetric in float32
    add_vendi("given_f32", None, "precomputed", stored=kp32)
    # n identical samples give 1, n orthonormal samples give n, for every q.
    one = f32(np.tile(rng.standard_normal((1, 9)), (12, 1)))
    add_vendi("identical", one, "cosine", paths=("auto", "primal", "dual"))
    add_vendi("identical_rbf", one, "rbf", sigma=0.5)
    q, _ = np.linalg.qr(rng.standard_normal((16, 10)))
    add_vendi("orthonormal", q.T.copy(), "cosine", paths=("auto", "primal", "dual"))
    add_vendi("orthonormal_f32", f32(q.T), "cosine", paths=("auto", "primal", "dual"))
    add_vendi("orthonormal_given", f32(np.eye(7)), "precomputed")
    # Joint entropy and mutual information of paired samples.
    xa = f32(rng.standard_normal((32, 6)))
    ya = f32(np.concatenate([xa[:, :2] + 0.1 * rng.standard_normal((32, 2)),
                             rng.standard_normal((32, 3))], axis=1))
    add_pair("pair_cos_rbf", xa, ya, "cosine", None, "rbf", 2.0)
    add_pair("pair_rbf", xa[:, :3].copy(), ya[:, :2].copy(), "rbf", 1.0, "rbf", 1.0)
    add_pair("pair_f64", rng.standard_normal((20, 4)), rng.standard_normal((20, 3)), "cosine", None, "rbf", 1.5)
    # Batches: many small sets in one call.
    add_batch("batch_cos", rng.standard_normal((300, 16, 4)).astype(np.float32), "cosine")
    add_batch("batch_cos_wide", rng.standard_normal((40, 16, 24)), "cosine")
    add_batch("batch_rbf", rng.standard_normal((100, 12, 3)).astype(np.float32), "rbf", 1.3)
    with open(os.path.join(OUT, "spectral_manifest.txt"), "w") as f:
        f.write("# generated by tests/gen_spectral.py: measure x y kernel sigma kernel_y sigma_y order path expected\n")
        f.write("\n".join(lines) + "\n")
    print("wrote %d checks" % len(lines))

    if "--check-vendi" in sys.argv:
        from vendi_score import vendi as vs  # pip install vendi-score
        for x in (rng.standard_normal((20, 40)), np.asarray(xd, np.float64)):
            ours = vendi(spectrum(kernel_matrix(x, "cosine", None), x.shape[1]), 1.0)
            theirs = float(vs.score_X(x, q=1, normalize=True))
            print("vendi-score q=1: package %.12g, reference %.12g, rel %.2e" %
                  (theirs, ours, abs(theirs - ours) / ours))


if __name__ == "__main__":
    main()
