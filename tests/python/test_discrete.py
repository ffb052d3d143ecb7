"""Discrete information from Python: the same reference vectors as the C
suite (tests/vectors/disc_*.npy: np.add.at counts, float64 NumPy PMI,
scikit-learn MI/NMI/AMI, dit's PID, NumPy slogdet for the Gaussian PID), plus
float64 NumPy references computed here."""
import math
from pathlib import Path

import numpy as np
import pytest

import infoest

VEC = Path(__file__).resolve().parents[1] / "vectors"


def manifest(op):
    rows = []
    for line in (VEC / "disc_manifest.txt").read_text().splitlines():
        f = line.split()
        if f and f[0] == op:
            rows.append(f[1:])
    assert rows, op
    return rows


def load(name):
    return np.load(VEC / name)


def near(got, want, tol):
    """|got − want| <= tol·max(1, |want|) element-wise; equal infinities pass."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    same_inf = np.isinf(want) & (got == want)
    with np.errstate(invalid="ignore"):
        ok = same_inf | (np.abs(got - want) <= tol * np.maximum(1.0, np.abs(want)))
    assert ok.all(), f"got {got[~ok][:5]}, want {want[~ok][:5]}"


@pytest.mark.parametrize("case", manifest("count"), ids=lambda c: c[0])
def test_count_pairs_vectors(case):
    name, xf, yf, X, Y, ef = case
    x, y, want = load(xf), load(yf), load(ef)
    got = infoest.count_pairs(x, y, x_classes=int(X), y_classes=int(Y))
    assert got.dtype == np.int64 and got.shape == (int(X), int(Y))
    assert (got == want).all()
    # shards counted into one table: the table of all
    t = np.zeros((int(X), int(Y)), np.int64)
    h = len(x) // 3
    infoest.count_pairs(x[:h], y[:h], out=t)
    infoest.count_pairs(x[h:], y[h:], out=t)
    assert (t == want).all()


def test_count_pairs_classes_ignore_and_errors():
    x = np.array([0, 2, 2, -100, 1], np.int64)
    y = np.array([[1, 3], [0, 0], [3, 3], [-100, 2], [2, -100]], np.int32)
    want = np.zeros((3, 4), np.int64)
    for xi, row in zip(x, y):
        for yj in row:
            if xi != -100 and yj != -100:
                want[xi, yj] += 1
    got = infoest.count_pairs(x, y, ignore_label=-100)      # classes: largest label + 1
    assert got.shape == (3, 4) and (got == want).all()
    with pytest.raises(infoest.LabelError) as e:
        infoest.count_pairs(x, y)                            # -100 is a label here
    assert e.value.tensor == "x" and e.value.row == 3
    t = np.zeros((3, 3), np.int64)
    with pytest.raises(infoest.LabelError) as e:
        infoest.count_pairs(x, y, ignore_label=-100, out=t)  # y = 3 is outside [0, 3)
    assert e.value.tensor == "y" and e.value.row == 0 and e.value.column == 1
    assert (t == 0).all()                                    # nothing was added


@pytest.mark.parametrize("case", manifest("pmi"), ids=lambda c: c[0])
def test_pmi_vectors(case):
    name, cf, kind, min_count, smooth, xcf, ycf, total, ef = case
    c, want = load(cf), load(ef)
    kw = dict(kind=kind, min_count=float(min_count), smooth=float(smooth))
    if xcf != "-":
        kw.update(x_counts=load(xcf), y_counts=load(ycf), total=float(total))
    r = infoest.pmi(c, details=True, **kw)
    near(r.values, want, 1e-9)
    finite = want[np.isfinite(want)]
    assert r.rows == c.shape[0] and r.cols == c.shape[1]
    near(r.min, want.min(), 1e-9)
    near(r.max, want.max(), 1e-9)
    if kind == "npmi":
        assert (r.values >= -1).all() and (r.values <= 1).all() and finite.size


def test_pmi_against_numpy(rng):
    # a Zipf-like co-occurrence table with empty cells, float64 NumPy PMI
    c = rng.poisson(200.0 / np.outer(np.arange(1, 31), np.arange(1, 21)) ** 0.8).astype(np.int64)
    n = c.sum()
    with np.errstate(divide="ignore"):
        ref = np.log(c / n) - np.log(c.sum(1, keepdims=True) / n) - np.log(c.sum(0, keepdims=True) / n)
    near(infoest.pmi(c), ref, 1e-12)
    near(infoest.pmi(c, kind="ppmi"), np.maximum(ref, 0), 1e-12)
    out = np.empty(c.shape, np.float32)
    assert infoest.pmi(c, out=out) is out
    near(out, ref, 1e-6)


def test_pmi_contradicting_marginals_name_the_cell():
    c = np.array([[5, 1], [2, 3]])
    with pytest.raises(infoest.OptionError, match=r"row 0, column 0\) = 5 exceeds"):
        infoest.pmi(c, x_counts=np.array([4, 5]), y_counts=np.array([7, 4]))   # C_00 = 5 > C_0 = 4


@pytest.mark.parametrize("case", manifest("tmi"), ids=lambda c: c[0])
def test_table_mi_vectors(case):
    name, cf, average, ef = case
    c, want = load(cf), load(ef)
    r = infoest.table_mi(c, average=average)
    got = np.stack([np.atleast_1d(r.mi), np.atleast_1d(r.nmi), np.atleast_1d(r.ami),
                    np.atleast_1d(r.hx), np.atleast_1d(r.hy)], axis=-1)
    near(got, want.reshape(got.shape), 1e-9)
    if c.ndim == 2:
        assert isinstance(r.mi, float) and r.n == c.sum()
    else:
        assert r.mi.shape == (c.shape[0],)
    skip = infoest.table_mi(c, average=average, no_ami=True)
    assert np.isnan(skip.ami).all() and np.array_equal(skip.mi, r.mi)


def test_table_mi_against_numpy(rng):
    c = rng.integers(0, 50, (7, 9)).astype(np.float64)
    p = c / c.sum()
    px, py = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(px, py)[nz])).sum())
    hx, hy = -(px * np.log(px)).sum(), -(py * np.log(py)).sum()
    r = infoest.table_mi(c, average="geometric", no_ami=True)
    near([r.mi, r.hx, r.hy, r.nmi], [mi, hx, hy, mi / math.sqrt(hx * hy)], 1e-12)


def test_ami_of_two_labelings_of_singletons_is_one():
    """Each item its own class on both sides: I = E[I] = H, AMI's 0/0 is a
    perfect match (scikit-learn's adjusted_mutual_info_score gives 1.0).
    The rounding of I − E[I] divided by the guard ε had given 0 on the CPU
    for some N and −2 .. 4 on OpenCL."""
    ctxs = [infoest.Context("cpu")]
    try:
        ctxs.append(infoest.Context("opencl"))
    except (infoest.BackendUnavailable, infoest.OptionError):
        pass
    rng = np.random.default_rng(0)
    for n in range(2, 61):
        t = infoest.count_pairs(np.arange(n), rng.permutation(n)).astype(np.int32)
        for ctx in ctxs:
            r = infoest.table_mi(t, context=ctx, average="arithmetic")
            assert r.ami == 1.0 and abs(r.nmi - 1.0) < 1e-12, (n, ctx.backend, r)
    # one pair among singletons: no longer a perfect match, AMI < 1
    t = np.eye(10, dtype=np.int64)
    t[0, 0], t[0, 1], t[1, 1] = 1, 1, 0
    assert infoest.table_mi(t).ami < 1


@pytest.mark.parametrize("case", manifest("pid"), ids=lambda c: c[0])
def test_pid_vectors(case):
    name, jf, measure, ef = case
    j, want = load(jf), load(ef)
    r = infoest.pid(j, measure=measure)
    got = np.stack([np.atleast_1d(v) for v in r[:7]], axis=-1)
    near(got, want.reshape(got.shape), 1e-7 if measure == "broja" else 1e-9)
    rr, u1, u2, s, i1, i2, i12 = (np.atleast_1d(v) for v in r[:7])
    assert (np.abs(i1 - rr - u1) <= 1e-12 * np.maximum(1, i1)).all()
    assert (np.abs(i12 - rr - u1 - u2 - s) <= 1e-12 * np.maximum(1, i12)).all()


@pytest.mark.parametrize("case", manifest("gauss"), ids=lambda c: c[0])
def test_pid_gaussian_vectors(case):
    name, cf, a, b, c, n, ef = case
    cov, want = load(cf), load(ef)
    r = infoest.pid_gaussian(cov, (int(a), int(b), int(c)),
                             samples=int(n) if int(n) else None)
    near(list(r[:7]), want, 1e-9)


def test_pid_gaussian_against_slogdet(rng):
    a = rng.standard_normal((5, 5))
    cov = a @ a.T + 5 * np.eye(5)

    def ld(idx):
        return np.linalg.slogdet(cov[np.ix_(idx, idx)])[1]
    x1, x2, y = [0, 1], [2, 3], [4]
    i1 = 0.5 * (ld(x1) + ld(y) - ld(x1 + y))
    i2 = 0.5 * (ld(x2) + ld(y) - ld(x2 + y))
    i12 = 0.5 * (ld(x1 + x2) + ld(y) - ld(x1 + x2 + y))
    r = infoest.pid_gaussian(cov, (2, 2, 1))
    near([r.mi1, r.mi2, r.mi12, r.redundancy], [i1, i2, i12, min(i1, i2)], 1e-12)
    with pytest.raises(infoest.OptionError):
        infoest.pid_gaussian(cov, (2, 2))


def test_pid_pointwise_against_numpy(rng):
    i1, i2 = rng.standard_normal((3, 5, 7)), rng.standard_normal((3, 5, 7))
    i12 = i1 + i2 + rng.random((3, 5, 7))
    r = infoest.pid_pointwise(i1, i2, i12)
    red = np.minimum(i1, i2)
    near(r.redundancy, red, 0)
    near(r.unique1, i1 - red, 1e-15)
    near(r.unique2, i2 - red, 1e-15)
    near(r.synergy, i12 - red - (i1 - red) - (i2 - red), 1e-15)
    f = infoest.pid_pointwise(i1.astype(np.float32), i2.astype(np.float32), i12.astype(np.float32))
    assert f.synergy.dtype == np.float32
    bad = i12.copy()
    bad[2, 1, 3] = np.nan
    with pytest.raises(infoest.NonFiniteError, match="element 80 "):   # [2, 1, 3] of [3, 5, 7]
        infoest.pid_pointwise(i1, i2, bad)


def test_option_errors():
    c = np.ones((2, 2))
    for f in (lambda: infoest.pmi(c, kind="pmi2"), lambda: infoest.pmi(c, smooth=-1),
              lambda: infoest.table_mi(c, average="median"),
              lambda: infoest.pid(np.ones((2, 2, 2)), measure="wb")):
        with pytest.raises(infoest.OptionError):
            f()
    with pytest.raises(infoest.EmptyRowError):
        infoest.table_mi(np.zeros((2, 3)))


def test_empty_batches_give_empty_arrays():
    assert infoest.table_mi(np.zeros((0, 2, 2), np.int64)).mi.shape == (0,)
    assert infoest.pid(np.zeros((0, 2, 2, 2))).synergy.shape == (0,)
    r = infoest.pid(np.ones((3, 2, 2, 2)))
    assert r.synergy.shape == (3,) and r.iterations.dtype == np.int64
