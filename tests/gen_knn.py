#!/usr/bin/env python3
"""Reference vectors for the k-nearest-neighbour estimators (docs/SPEC.md §5), in
float64 NumPy/SciPy.

Writes tests/vectors/knn_*.npy and tests/vectors/knn_manifest.txt (removing
only its own previous files: tests/vectors is shared).  Independent of the C
code: every distance comes from scipy.spatial.distance.cdist on the float32
points widened to float64 (brute force, all pairs), neighbours are ordered by
np.lexsort on (index, distance), and the estimators are docs/SPEC.md §5 written out
with scipy.special.digamma / gammaln.

Manifest, one check a line, whitespace separated:
  search NAME Q R k metric self IDX DIST
  entropy NAME X k alpha|- EXPECTED
  kl NAME X Y k EXPECTED
  renyi NAME X Y k alpha EXPECTED
  nnr NAME X Y k kind alpha|- beta|- EXPECTED
  mi NAME X Y k EXPECTED
Files are relative to tests/vectors; metric is euclidean | chebyshev; self
is 0 or 1; EXPECTED is %.17g.

Usage: python3 tests/gen_knn.py [--check-sklearn]  (the flag cross-checks the
search against sklearn.neighbors.NearestNeighbors(algorithm='brute')).
"""
import glob
import os
import sys

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import digamma, gammaln

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors")
rng = np.random.default_rng(20240618)
lines = []


def save(name, a):
    fn = "knn_%s.npy" % name
    np.save(os.path.join(OUT, fn), np.ascontiguousarray(a))
    return fn


def pts(n, d, scale=1.0, offset=0.0):
    return (rng.standard_normal((n, d)) * scale + offset).astype(np.float32)


def neighbours(q, r, k, metric="euclidean", self=False):
    """The k nearest rows of r for each row of q: (indices, distances),
    sorted by distance, ties to the smaller index; float64 brute force."""
    D = cdist(q.astype(np.float64), r.astype(np.float64),
              "chebyshev" if metric == "chebyshev" else "euclidean")
    if self:
        np.fill_diagonal(D, np.inf)
    n = r.shape[0]
    idx = np.empty((q.shape[0], k), dtype=np.int64)
    for i in range(q.shape[0]):
        order = np.lexsort((np.arange(n), D[i]))
        idx[i] = order[:k]
    return idx, np.take_along_axis(D, idx, axis=1)


def kth(q, r, k, self):
    return neighbours(q, r, k, "euclidean", self)[1][:, k - 1]


def log_vd(d):
    return 0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1)


# ---- the estimators, docs/SPEC.md §5 ----------------------------------------------

def kl_entropy(x, k):
    n, d = x.shape
    rho = kth(x, x, k, True)
    return digamma(n) - digamma(k) + log_vd(d) + d / n * np.sum(np.log(rho))


def lps_entropy(x, k, a):
    n, d = x.shape
    rho = kth(x, x, k, True)
    if a == 1:
        log_ck = -digamma(k)
    else:
        log_ck = (gammaln(k) - gammaln(k + 1 - a)) / (1 - a)
    log_zeta = np.log(n - 1) + log_ck + log_vd(d) + d * np.log(rho)
    if a == 1:
        return np.mean(log_zeta)
    t = 1 - a
    mx = np.max(t * log_zeta)
    return (mx + np.log(np.mean(np.exp(t * log_zeta - mx)))) / t


def wkv_kl(x, y, k):
    n, d = x.shape
    m = y.shape[0]
    rho = kth(x, x, k, True)
    nu = kth(x, y, k, False)
    return d / n * np.sum(np.log(nu / rho)) + np.log(m / (n - 1))


def ps_renyi(x, y, k, a):
    n, d = x.shape
    m = y.shape[0]
    rho = kth(x, x, k, True)
    nu = kth(x, y, k, False)
    logB = 2 * gammaln(k) - gammaln(k - a + 1) - gammaln(k + a - 1)
    t = np.log((n - 1) / m) + d * (np.log(rho) - np.log(nu))
    u = (1 - a) * t
    mx = np.max(u)
    return (logB + mx + np.log(np.mean(np.exp(u - mx)))) / (a - 1)


def ksg(x, y, k):
    n = x.shape[0]
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    Dx = cdist(xf, xf, "chebyshev")
    Dy = cdist(yf, yf, "chebyshev")
    Dj = np.maximum(Dx, Dy)
    np.fill_diagonal(Dj, np.inf)
    eps = np.sort(Dj, axis=1)[:, k - 1]
    np.fill_diagonal(Dx, np.inf)
    np.fill_diagonal(Dy, np.inf)
    nx = np.sum(Dx < eps[:, None], axis=1)
    ny = np.sum(Dy < eps[:, None], axis=1)
    return digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))


def nnr_ratios(x, y, k):
    n, m = x.shape[0], y.shape[0]
    z = np.concatenate([x, y]).astype(np.float64)
    D = cdist(y.astype(np.float64), z, "euclidean")
    r = np.empty(m)
    for i in range(m):
        D[i, n + i] = np.inf  # itself
        order = np.lexsort((np.arange(n + m), D[i]))[:k]
        ni = np.sum(order < n)
        r[i] = (m / n) * ni / (k - ni + 1)
    return r


def xlogx(t):
    return np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0.0)


def nnr(x, y, k, kind, a, b):
    r = nnr_ratios(x, y, k)
    if kind == "renyi":
        return np.log(np.mean(r ** a)) / (a - 1)
    if kind == "bhattacharyya":
        return -np.log(np.mean(np.sqrt(r)))
    with np.errstate(divide="ignore"):
        if kind == "kl":
            g = xlogx(r)
        elif kind == "reverse-kl":
            g = -np.log(r)
        elif kind == "jeffreys":
            g = (r - 1) * np.log(r)
        elif kind == "js":
            u = b * r + 1 - b
            g = b * np.where(r > 0, r * np.log(np.where(r > 0, r, 1) / u), 0) - (1 - b) * np.log(u)
        elif kind == "tv":
            g = 0.5 * np.abs(r - 1)
        elif kind == "hellinger":
            g = 0.5 * (np.sqrt(r) - 1) ** 2
        elif kind == "chi2":
            g = (r - 1) ** 2
        elif kind == "alpha":
            g = (r ** a - a * r - (1 - a)) / (a * (a - 1))
        elif kind == "tsallis":
            g = (r ** a - r) / (a - 1)
        else:
            raise ValueError(kind)
    return np.mean(g)


# ---- cases --------------------------------------------------------------------------

def search_case(name, q, r, k, metric, self):
    idx, dist = neighbours(q, r, k, metric, self)
    fq = save(name + ".q", q)
    fr = fq if self else save(name + ".r", r)
    lines.append("search %s %s %s %d %s %d %s %s" % (name, fq, fr, k, metric, int(self),
                                                      save(name + ".idx", idx),
                                                      save(name + ".dist", dist)))
    return idx, dist


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in glob.glob(os.path.join(OUT, "knn_*.npy")) + [os.path.join(OUT, "knn_manifest.txt")]:
        if os.path.exists(f):
            os.remove(f)

    # Search: brute-force float64 reference, ties to the smaller index.
    x = pts(500, 3)
    search_case("self_d3", x, x, 5, "euclidean", True)
    search_case("cross_d16", pts(300, 16), pts(700, 16), 7, "euclidean", False)
    x = pts(400, 12, scale=1e-3, offset=1e4)  # far from the origin, tightly clustered
    search_case("offset_d12", x, x, 6, "euclidean", True)
    x = pts(450, 5)
    search_case("cheb_d5", x, x, 4, "chebyshev", True)
    g = np.array([[i, j] for i in range(12) for j in range(12)], dtype=np.float32)
    search_case("grid_ties", g, g, 9, "euclidean", True)
    search_case("grid_ties_cheb", g, g, 9, "chebyshev", True)
    x = pts(200, 10)
    x[100:150] = x[0:50]  # duplicates: distance exactly 0
    search_case("dups_d10", x, x, 3, "euclidean", True)
    x = pts(180, 4)
    search_case("all_k", x, x, 179, "euclidean", True)
    search_case("wide_k", pts(50, 9), pts(3000, 9), 2500, "euclidean", False)

    # Estimators on the same float32 points.
    for d, n, k in ((1, 800, 1), (3, 1000, 3), (8, 1200, 5), (20, 600, 4)):
        x = pts(n, d)
        fx = save("ent_d%d" % d, x)
        lines.append("entropy ent_d%d %s %d - %.17g" % (d, fx, k, kl_entropy(x, k)))
        for a in (0.5, 0.999, 1.0, 2.0, 3.5):
            if a < k + 1:
                lines.append("entropy ent_d%d_a%g %s %d %.17g %.17g" % (d, a, fx, k, a, lps_entropy(x, k, a)))

    for d, n, m, k in ((1, 700, 900, 2), (4, 900, 600, 3), (12, 800, 1000, 5)):
        x = pts(n, d)
        y = pts(m, d, scale=1.3, offset=0.4)
        fx, fy = save("div_d%d.x" % d, x), save("div_d%d.y" % d, y)
        lines.append("kl div_d%d %s %s %d %.17g" % (d, fx, fy, k, wkv_kl(x, y, k)))
        for a in (0.5, 0.9, 1.5):
            if k > abs(a - 1):
                lines.append("renyi div_d%d_a%g %s %s %d %.17g %.17g" % (d, a, fx, fy, k, a, ps_renyi(x, y, k, a)))
        for kind, a, b in (("renyi", 2.0, None), ("renyi", 0.5, None), ("kl", None, None),
                           ("reverse-kl", None, None), ("jeffreys", None, None), ("js", None, 0.5),
                           ("js", None, 0.3), ("tv", None, None), ("hellinger", None, None),
                           ("chi2", None, None), ("alpha", 0.5, None), ("tsallis", 2.0, None),
                           ("bhattacharyya", None, None)):
            v = nnr(x, y, k, kind, a, b)
            lines.append("nnr div_d%d_%s %s %s %d %s %s %s %.17g" % (
                d, kind, fx, fy, k, kind, "-" if a is None else "%.17g" % a,
                "-" if b is None else "%.17g" % b, v))

    for dx, dy, n, k, rho in ((1, 1, 1000, 3, 0.6), (2, 3, 800, 4, 0.4), (1, 1, 600, 1, 0.0)):
        z = rng.standard_normal((n, dx + dy))
        z[:, dx] = rho * z[:, 0] + np.sqrt(1 - rho * rho) * z[:, dx]
        x, y = z[:, :dx].astype(np.float32), z[:, dx:].astype(np.float32)
        name = "mi_%dx%d_k%d" % (dx, dy, k)
        lines.append("mi %s %s %s %d %.17g" % (name, save(name + ".x", x), save(name + ".y", y), k, ksg(x, y, k)))
    # Discretised data: many ties in the marginals (strict counts matter).
    z = rng.integers(0, 6, size=(500, 2)).astype(np.float32)
    z[:, 1] = np.where(rng.random(500) < 0.5, z[:, 0], z[:, 1])
    z += rng.random((500, 2)).astype(np.float32) * np.float32(0.25)
    x, y = z[:, :1].copy(), z[:, 1:].copy()
    lines.append("mi mi_ties %s %s %d %.17g" % (save("mi_ties.x", x), save("mi_ties.y", y), 3, ksg(x, y, 3)))

    # The CPU's k-d tree (d <= 8) over many leaves: ties, duplicates, queries
    # from another set, one dimension; its range counts (marginals of d >= 2).
    x = pts(3000, 2)
    search_case("kd_d2", x, x, 5, "euclidean", True)
    search_case("kd_d2_cheb", x, x, 7, "chebyshev", True)
    g = np.floor(pts(2500, 3) * 2)  # a coarse grid: many ties and duplicates
    search_case("kd_ties_d3", g, g, 12, "euclidean", True)
    search_case("kd_ties_d3_cheb", g, g, 12, "chebyshev", True)
    search_case("kd_cross_d8", pts(400, 8, scale=2.0), pts(2000, 8), 9, "euclidean", False)
    x = pts(1500, 1)
    x[700:900] = x[0:200]
    search_case("kd_d1_dups", x, x, 4, "chebyshev", True)
    search_case("kd_d1_wide_k", pts(50, 1), x, 1400, "euclidean", False)
    # The float32 GEMM candidates (d > 8): duplicates, several tiles.
    x = pts(2600, 64)
    x[2000:2100] = x[0:100]
    search_case("gemm_d64", x, x, 5, "euclidean", True)
    search_case("gemm_cross_d20", pts(300, 20, offset=3.0), pts(4500, 20), 6, "euclidean", False)
    for dx, dy, n, k in ((2, 2, 2500, 3), (3, 1, 2000, 5)):
        z = rng.standard_normal((n, dx + dy))
        z[:, dx] = 0.5 * z[:, 0] + np.sqrt(0.75) * z[:, dx]
        x, y = z[:, :dx].astype(np.float32), z[:, dx:].astype(np.float32)
        name = "mi_kd_%dx%d_k%d" % (dx, dy, k)
        lines.append("mi %s %s %s %d %.17g" % (name, save(name + ".x", x), save(name + ".y", y), k, ksg(x, y, k)))
    z = np.floor(rng.standard_normal((1500, 3)) * 3).astype(np.float32)  # ties in 2-D marginals
    z[:, 2] += z[:, 0]
    x, y = z[:, :2].copy(), z[:, 2:].copy()
    x += rng.random(x.shape).astype(np.float32) * np.float32(0.125)
    y += rng.random(y.shape).astype(np.float32) * np.float32(0.125)
    lines.append("mi mi_kd_ties %s %s %d %.17g" % (save("mi_kd_ties.x", x), save("mi_kd_ties.y", y), 4, ksg(x, y, 4)))

    # The GPUs' two-stage Euclidean search (float32 GEMM filter, exact keys;
    # src/kernels/knn.cl): sizes that are no multiple of its tiles (32 queries,
    # 32 references, 16 coordinates), k = 1, 5, 20.  Own generator, so the
    # cases above keep their points.
    t = np.random.default_rng(20261203)

    def tpts(n, d, scale=1.0, offset=0.0):
        return (t.standard_normal((n, d)) * scale + offset).astype(np.float32)

    for d, k, n in ((1, 1, 333), (2, 5, 517), (3, 20, 401), (64, 5, 1001), (128, 20, 555)):
        x = tpts(n, d)
        search_case("tile_d%d_k%d" % (d, k), x, x, k, "euclidean", True)
    search_case("tile_cross_d64_k1", tpts(77, 64), tpts(1234, 64), 1, "euclidean", False)
    # Far from the origin: N(1000, 1), the GEMM form's worst case.
    x = tpts(777, 64, offset=1000.0)
    search_case("tile_offset_d64_k5", x, x, 5, "euclidean", True)
    x = tpts(300, 3, scale=0.01, offset=-5000.0)
    search_case("tile_offset_d3_k20", x, x, 20, "euclidean", True)
    # Exact duplicates and ties: a grid (many points at one distance), every
    # point three times, and a few coincident clusters.
    g = np.stack(np.meshgrid(np.arange(9), np.arange(7), indexing="ij"), -1).reshape(-1, 2)
    g = np.repeat(g.astype(np.float32), 3, axis=0)
    search_case("tile_grid_dups_d2_k20", g, g, 20, "euclidean", True)
    x = tpts(90, 64)
    x = np.concatenate([x, x[:40], x[:40]])
    search_case("tile_dups_d64_k5", x, x, 5, "euclidean", True)
    # Clustered "real-looking" embeddings: normalised, 12 centres, points near
    # them (d = 64 and 384), queries from the same clusters.
    for d, n, m, k in ((64, 700, 45, 5), (384, 260, 33, 20)):
        c = t.standard_normal((12, d))
        lab = t.integers(0, 12, n + m)
        e = c[lab] + 0.35 * t.standard_normal((n + m, d))
        e = (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)
        search_case("tile_embed_d%d_k%d" % (d, k), e[n:], e[:n], k, "euclidean", False)
        search_case("tile_embed_self_d%d_k%d" % (d, k), e[:n], e[:n], k, "euclidean", True)

    with open(os.path.join(OUT, "knn_manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d checks to %s" % (len(lines), os.path.join(OUT, "knn_manifest.txt")))

    if "--check-sklearn" in sys.argv:
        from sklearn.neighbors import NearestNeighbors
        for ln in lines:
            p = ln.split()
            if p[0] != "search" or p[6] == "1" and p[5] == "chebyshev":
                continue
            q = np.load(os.path.join(OUT, p[2])).astype(np.float64)
            r = np.load(os.path.join(OUT, p[3])).astype(np.float64)
            k, self = int(p[4]), p[6] == "1"
            nn = NearestNeighbors(n_neighbors=k + self, algorithm="brute", metric=p[5]).fit(r)
            dist, _ = nn.kneighbors(q)
            ref = np.load(os.path.join(OUT, p[8]))
            got = dist[:, 1:] if self else dist
            err = np.max(np.abs(got - ref) / np.maximum(ref, 1e-300)) if ref.size else 0
            print("sklearn %-16s max rel distance difference %.2e" % (p[1], err))


if __name__ == "__main__":
    main()
