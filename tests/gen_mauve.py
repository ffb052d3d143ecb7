#!/usr/bin/env python3
"""Reference vectors for MAUVE (docs/SPEC.md §8), from the `mauve-text` package.

Writes tests/vectors/mauve_*.npy and tests/vectors/mauve_manifest.txt.  The C
suite (tests/test_mauve.c) reads them; it does not need mauve-text.

  hist NAME grid scaling P.npy Q.npy EXPECT.npy CURVE.npy
      Given count histograms.  EXPECT = [mauve, frontier_integral, mauve_star,
      frontier_integral_star] from mauve-text's own functions
      (get_divergence_curve_for_multinomials, sklearn's auc as compute_mauve
      uses it, get_fronter_integral) on the normalised and the +½ histograms;
      CURVE its divergence curve.  Exact to rounding.

  features NAME KIND SEED n_p n_q d comps k EXPECT.npy
      Features made by the portable generator below (the C suite makes the
      same numbers; SplitMix64 + Box–Muller), EXPECT = [mauve mean, std,
      frontier_integral mean, std, mauve_star mean, std, fi_star mean, std,
      pca_dims, explained variance share, sklearn KMeans inertia, mauve
      median, then (mix) the four scores of the true clusters' histograms,
      which a k-means that recovers the clusters must give (NaN for lowrank)] where the
      means and standard deviations (ddof 1) are over mauve-text's
      compute_mauve(p_features, q_features, num_buckets=k) with seeds
      1..5; pca_dims from NumPy's SVD of the unit rows (the fewest components
      reaching 0.9); the inertia that of scikit-learn's KMeans(k, n_init=5,
      random_state=0) on those rows projected in float32.
      KIND mix: a mixture of `comps` Gaussian clusters; P samples them
      evenly, Q only the first 70% of them.  KIND lowrank: rank-`comps`
      features with decaying scales plus noise, Q's factors shifted.

Usage: <venv with mauve-text, faiss-cpu, scikit-learn>/bin/python tests/gen_mauve.py
(for example bench/.venv after bench/setup.sh).
"""
import os

import numpy as np

import importlib

from sklearn.cluster import KMeans
from sklearn.metrics import auc

mc = importlib.import_module("mauve.compute_mauve")  # the module, not the function

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors")
lines = []

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
GAMMA = np.uint64(0x9E3779B97F4A7C15)


def splitmix(seed, start, count):
    """Outputs start .. start+count-1 of the SplitMix64 stream x_m = seed + (m+1)γ."""
    m = np.arange(start, start + count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + (m + np.uint64(1)) * GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


def normals(seed, start, count):
    """Normal j = sqrt(−2 log(1 − u_{2j})) cos(2π u_{2j+1}), u = (x >> 11) 2^-53,
    j counted from `start`."""
    z = splitmix(seed, 2 * start, 2 * count)
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return np.sqrt(-2.0 * np.log(1.0 - u[0::2])) * np.cos(2.0 * np.pi * u[1::2])


def make_features(kind, seed, n_p, n_q, d, comps):
    """As tests/test_mauve.c make_features: float32 P, Q."""
    if kind == "mix":
        centers = normals(seed, 0, comps * d).reshape(comps, d)
        off = comps * d
        noise = normals(seed, off, (n_p + n_q) * d).reshape(n_p + n_q, d) * 0.25
        cp = np.arange(n_p) % comps
        q_span = max(1, (comps * 7) // 10)
        cq = np.arange(n_q) % q_span
        p = centers[cp] + noise[:n_p]
        q = centers[cq] + noise[n_p:]
    elif kind == "lowrank":
        w = normals(seed, 0, comps * d).reshape(comps, d)
        scale = 1.0 / np.sqrt(1.0 + np.arange(comps))
        off = comps * d
        a = normals(seed, off, (n_p + n_q) * comps).reshape(n_p + n_q, comps) * scale
        off += (n_p + n_q) * comps
        noise = normals(seed, off, (n_p + n_q) * d).reshape(n_p + n_q, d) * 0.05
        a[n_p:, :4] += 0.6  # Q's factors shifted
        x = a @ w + noise
        p, q = x[:n_p], x[n_p:]
    else:
        raise ValueError(kind)
    return p.astype(np.float32), q.astype(np.float32)


def save(name, a):
    fn = "mauve_%s.npy" % name
    np.save(os.path.join(OUT, fn), np.ascontiguousarray(a))
    return fn


def frontier_reference(pc, qc, grid, c):
    """mauve-text's own steps (compute_mauve after cluster_feats)."""
    pc = np.asarray(pc, dtype=np.float64)
    qc = np.asarray(qc, dtype=np.float64)
    p, q = pc / pc.sum(), qc / qc.sum()
    ps, qs = (pc + 0.5) / (pc + 0.5).sum(), (qc + 0.5) / (qc + 0.5).sum()
    w = np.linspace(1e-6, 1 - 1e-6, grid)

    def score(a, b):
        curve = mc.get_divergence_curve_for_multinomials(a, b, w, c)
        x, y = curve.T
        i1, i2 = np.argsort(x), np.argsort(y)
        return 0.5 * (auc(x[i1], y[i1]) + auc(y[i2], x[i2])), curve

    m, curve = score(p, q)
    ms, _ = score(ps, qs)
    return np.array([m, mc.get_fronter_integral(p, q), ms, mc.get_fronter_integral(ps, qs)]), curve


def hist_case(name, pc, qc, grid=25, c=5.0):
    exp, curve = frontier_reference(pc, qc, grid, c)
    lines.append("hist %s %d %r %s %s %s %s" % (name, grid, c, save(name + "_p", np.asarray(pc, np.float64)),
                                                save(name + "_q", np.asarray(qc, np.float64)),
                                                save(name + "_expect", exp), save(name + "_curve", curve)))


def feature_case(name, kind, seed, n_p, n_q, d, comps, k):
    p, q = make_features(kind, seed, n_p, n_q, d, comps)
    runs = []
    for s in range(1, 6):
        o = mc.compute_mauve(p_features=p, q_features=q, num_buckets=k, seed=s)
        runs.append([o.mauve, o.frontier_integral, o.mauve_star, o.frontier_integral_star])
    runs = np.array(runs)
    mean, std = runs.mean(0), runs.std(0, ddof=1)
    x = np.vstack([q, p]).astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    xc = x - x.mean(0)
    sv = np.linalg.svd(xc, compute_uv=False)
    ratio = sv ** 2 / (sv ** 2).sum()
    cum = np.cumsum(ratio)
    r = int(np.argmax(cum >= 0.9)) + 1
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    y = (xc @ vt[:r].T).astype(np.float32)
    km = KMeans(n_clusters=k, n_init=5, random_state=0).fit(y)
    truth = np.full(4, np.nan)
    if kind == "mix":
        cp = np.bincount(np.arange(n_p) % comps, minlength=comps)
        cq = np.bincount(np.arange(n_q) % max(1, (comps * 7) // 10), minlength=comps)
        truth, _ = frontier_reference(cp, cq, 25, 5.0)
    exp = np.concatenate([[mean[0], std[0], mean[1], std[1], mean[2], std[2], mean[3], std[3], r, cum[r - 1],
                           km.inertia_, np.median(runs[:, 0])], truth])
    print("%s: mauve-text mauve %.4f ± %.4f (runs %s), fi %.4f ± %.4f, mauve* %.4f ± %.4f; pca %d; "
          "sklearn inertia %.6g; true clusters' mauve %.4f"
          % (name, mean[0], std[0], np.round(runs[:, 0], 4), mean[1], std[1], mean[2], std[2], r, km.inertia_,
             truth[0]))
    lines.append("features %s %s %d %d %d %d %d %d %s" % (name, kind, seed, n_p, n_q, d, comps, k,
                                                         save(name + "_expect", exp)))


def main():
    rng = np.random.default_rng(20261202)
    # Given histograms: the common shapes of k-means counts.
    hist_case("random", rng.integers(0, 40, 50), rng.integers(0, 40, 50))
    hist_case("zeros", np.array([10, 0, 5, 0, 3, 7, 0, 1]), np.array([0, 4, 5, 2, 0, 7, 0, 9]))
    hist_case("identical", np.array([3, 9, 1, 0, 4]), np.array([3, 9, 1, 0, 4]))
    hist_case("scaled", np.array([3, 9, 1, 0, 4]), np.array([6, 18, 2, 0, 8]))  # same shares
    hist_case("disjoint", np.array([5, 3, 0, 0]), np.array([0, 0, 2, 8]))
    hist_case("near", np.array([1000000000, 1000000001, 3]), np.array([1000000001, 1000000000, 5]))
    hist_case("k500", rng.integers(0, 30, 500), rng.integers(0, 30, 500))
    hist_case("grid7_c2", rng.integers(0, 9, 20), rng.integers(0, 9, 20), grid=7, c=2.0)
    hist_case("fractional", rng.random(30) * 3, rng.random(30) ** 3)
    # Features: clusters k-means recovers, and dense low-rank ones.
    feature_case("mix", "mix", 11, 600, 500, 768, 10, 10)
    feature_case("lowrank", "lowrank", 12, 800, 800, 256, 32, 80)
    with open(os.path.join(OUT, "mauve_manifest.txt"), "w") as f:
        f.write("# MAUVE vectors: written by tests/gen_mauve.py from mauve-text; do not edit.\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
