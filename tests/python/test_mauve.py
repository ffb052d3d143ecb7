"""MAUVE from Python: the reference vectors of the C suite
(tests/vectors/mauve_*.npy, written by tests/gen_mauve.py from mauve-text,
NumPy's SVD and scikit-learn's KMeans), with the same tolerances."""
from pathlib import Path

import numpy as np
import pytest

import infoest

VEC = Path(__file__).resolve().parents[1] / "vectors"


def manifest(op):
    rows = []
    for line in (VEC / "mauve_manifest.txt").read_text().splitlines():
        f = line.split()
        if f and f[0] == op:
            rows.append(f[1:])
    assert rows, op
    return rows


def normals(seed, start, count):
    """Normals start .. start+count-1 of the SplitMix64 stream of `seed`
    (Box–Muller on outputs 2j, 2j+1), as tests/gen_mauve.py and
    tests/test_mauve.c make them."""
    m = np.arange(2 * start, 2 * (start + count), dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + (m + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return np.sqrt(-2.0 * np.log(1.0 - u[0::2])) * np.cos(2.0 * np.pi * u[1::2])


def make_features(kind, seed, n_p, n_q, d, comps):
    if kind == "mix":
        centers = normals(seed, 0, comps * d).reshape(comps, d)
        noise = normals(seed, comps * d, (n_p + n_q) * d).reshape(n_p + n_q, d) * 0.25
        p = centers[np.arange(n_p) % comps] + noise[:n_p]
        q = centers[np.arange(n_q) % max(1, (comps * 7) // 10)] + noise[n_p:]
    else:
        w = normals(seed, 0, comps * d).reshape(comps, d)
        off = comps * d
        a = normals(seed, off, (n_p + n_q) * comps).reshape(n_p + n_q, comps)
        a *= 1.0 / np.sqrt(1.0 + np.arange(comps))
        off += (n_p + n_q) * comps
        noise = normals(seed, off, (n_p + n_q) * d).reshape(n_p + n_q, d) * 0.05
        a[n_p:, :4] += 0.6
        x = a @ w + noise
        p, q = x[:n_p], x[n_p:]
    return p.astype(np.float32), q.astype(np.float32)


@pytest.mark.parametrize("case", manifest("hist"), ids=lambda c: c[0])
def test_histograms_vectors(case):
    name, grid, scaling, pf, qf, ef, cf = case
    p, q, want, curve = (np.load(VEC / f) for f in (pf, qf, ef, cf))
    r = infoest.mauve_histograms(p, q, grid=int(grid), scaling=float(scaling), details=True)
    got = np.array([r.mauve, r.frontier_integral, r.mauve_star, r.frontier_integral_star])
    assert np.abs(got - want).max() <= 1e-12, (got, want)
    assert r.divergence_curve.shape == (int(grid) + 2, 2)
    assert np.abs(r.divergence_curve - curve).max() <= 1e-12
    assert r.mauve_std == 0 and r.clusters is None
    assert infoest.mauve_histograms(p, q, grid=int(grid), scaling=float(scaling)) == r.mauve
    if p.dtype == np.float64 and (p == np.round(p)).all():          # counts as int64
        assert infoest.mauve_histograms(p.astype(np.int64), q.astype(np.int64), grid=int(grid),
                                        scaling=float(scaling)) == r.mauve


@pytest.mark.parametrize("case", manifest("features"), ids=lambda c: c[0])
def test_features_vectors(case):
    name, kind, seed, n_p, n_q, d, comps, k, ef = case
    e = np.load(VEC / ef)
    p, q = make_features(kind, int(seed), int(n_p), int(n_q), int(d), int(comps))
    r = infoest.mauve(p, q, clusters=int(k), seed=1, seeds=5, details=True)
    assert r.pca_dims == int(e[8]) and abs(r.explained - e[9]) <= 1e-6
    assert r.inertia <= e[10] * 1.01                  # no worse than scikit-learn's best of 5
    assert r.clusters == int(k) and r.p_hist.sum() == int(n_p) and r.q_hist.sum() == int(n_q)
    assert r.divergence_curve.shape == (27, 2)
    if not np.isnan(e[12]):                           # clusters recovered: the true scores
        got = [r.mauve, r.frontier_integral, r.mauve_star, r.frontier_integral_star]
        assert np.abs(np.array(got) - e[12:16]).max() <= 1e-9, (got, e[12:16])
        assert r.mauve_std == 0 and abs(r.mauve - e[11]) <= 0.01
    else:                                             # within mauve-text's seed spread
        assert abs(r.mauve - e[0]) <= max(0.02, 3 * e[1])
        assert abs(r.frontier_integral - e[2]) <= max(0.02, 3 * e[3])
        assert abs(r.mauve_star - e[4]) <= max(0.02, 3 * e[5])
        assert 0 < r.mauve_std < 0.05


def test_several_sets_and_determinism():
    p, q = make_features("mix", 21, 300, 200, 64, 6)
    _, far = make_features("lowrank", 22, 10, 250, 64, 8)
    one = infoest.mauve(p, q, seed=4)
    both = infoest.mauve(p, [q, far], seed=4, details=True)
    assert len(both) == 2 and both[0].q_hist.sum() == 200 and both[1].q_hist.sum() == 250
    assert (both[0].p_hist == both[1].p_hist).all()
    assert both[0].clusters == infoest.mauve_default_clusters(300, 200)
    assert both[1].mauve < both[0].mauve
    assert infoest.mauve(p, q, seed=4) == one        # the same seed: the same bits
    # the histograms' frontier is what mauve computes from its own histograms
    h = infoest.mauve_histograms(both[0].p_hist, both[0].q_hist, details=True)
    assert h.mauve == both[0].mauve and np.array_equal(h.divergence_curve, both[0].divergence_curve)


def test_errors():
    p, q = make_features("mix", 3, 50, 40, 16, 4)
    bad = q.copy()
    bad[7, 3] = np.nan
    with pytest.raises(infoest.NonFiniteError, match=r"q\[1\] row 7"):
        infoest.mauve(p, [q, bad], clusters=4)
    with pytest.raises(infoest.ShapeError):
        infoest.mauve(p, q[:, :8], clusters=4)
    with pytest.raises(infoest.OptionError):
        infoest.mauve(p, q, clusters=1)
    with pytest.raises(infoest.OptionError):
        infoest.mauve(p, q, explained_variance=1.5)
    with pytest.raises(infoest.OptionError):
        infoest.mauve(p, q, clusters=1000)            # more clusters than rows
    with pytest.raises(infoest.NegativeError, match=r"p_counts\[1\]"):
        infoest.mauve_histograms([1.0, -2.0, 3.0], [1.0, 1.0, 1.0])
    with pytest.raises(infoest.EmptyRowError):
        infoest.mauve_histograms([0, 0], [1, 1])
