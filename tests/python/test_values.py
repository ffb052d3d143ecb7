"""Values of every function against float64 NumPy/SciPy references computed
here, on the same (rounded) input values, never with infoest itself."""
import math

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln, log_softmax as sp_log_softmax, logsumexp as sp_lse

import infoest
from conftest import close, lm_logits

# ---- references ---------------------------------------------------------------------


def ref_logp(a, T=1.0):
    return sp_log_softmax(np.asarray(a, np.float64) / T, axis=-1)


def xlogy_ratio(p, lp, lq):
    """Σ p (lp − lq) with 0·anything = 0."""
    with np.errstate(invalid="ignore"):
        t = np.where(p > 0, p * (lp - lq), 0.0)
    return t.sum(-1)


def ref_divergence(kind, lp, lq, alpha=None, beta=0.5):
    p, q = np.exp(lp), np.exp(lq)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "kl":
            return xlogy_ratio(p, lp, lq)
        if kind == "reverse-kl":
            return xlogy_ratio(q, lq, lp)
        if kind == "jeffreys":
            return xlogy_ratio(p, lp, lq) + xlogy_ratio(q, lq, lp)
        if kind == "cross-entropy":
            return -np.where(p > 0, p * lq, 0.0).sum(-1)
        if kind == "js":
            lm = np.logaddexp(np.log(beta) + lp, np.log1p(-beta) + lq)
            return beta * xlogy_ratio(p, lp, lm) + (1 - beta) * xlogy_ratio(q, lq, lm)
        if kind == "tv":
            return 0.5 * np.abs(p - q).sum(-1)
        if kind == "hellinger":
            return 0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum(-1)
        if kind == "bhattacharyya":
            return -sp_lse(0.5 * (lp + lq), axis=-1)
        if kind == "chi2":
            return ((p - q) ** 2 / q).sum(-1)
        if kind == "cauchy-schwarz":
            return -(sp_lse(lp + lq, axis=-1) - 0.5 * sp_lse(2 * lp, axis=-1) - 0.5 * sp_lse(2 * lq, axis=-1))
        s = np.exp(sp_lse(alpha * lp + (1 - alpha) * lq, axis=-1))
        if kind == "alpha":
            return (1 - s) / (alpha * (1 - alpha))
        if kind == "renyi":
            return sp_lse(alpha * lp + (1 - alpha) * lq, axis=-1) / (alpha - 1)
        if kind == "tsallis":
            return (s - 1) / (alpha - 1)
    raise AssertionError(kind)


# ---- one distribution a row -----------------------------------------------------------


@pytest.mark.parametrize("T", [1.0, 0.7])
def test_softmax_family(lm, T):
    want = ref_logp(lm, T)
    close(infoest.log_softmax(lm, temperature=T), want)
    close(infoest.softmax(lm, temperature=T), np.exp(want))
    close(infoest.logsumexp(lm, temperature=T), sp_lse(lm.astype(np.float64) / T, axis=-1))
    out = infoest.log_softmax(lm, temperature=T)
    assert out.dtype == np.float32 and out.shape == lm.shape
    assert infoest.log_softmax(lm, out_dtype="float64").dtype == np.float64


def test_log_softmax_into_out_and_3d(rng):
    x = lm_logits(rng, 6, 300).reshape(2, 3, 300)
    out = np.empty((2, 3, 300), np.float64)
    got = infoest.log_softmax(x, out=out)
    assert got is out
    close(out, ref_logp(x))
    lse = infoest.logsumexp(x)
    assert lse.shape == (2, 3)
    close(lse, sp_lse(x.astype(np.float64), axis=-1))


def test_float16_input(lm):
    h = lm.astype(np.float16)
    close(infoest.entropy(h, reduction="none"), ref_entropy(ref_logp(h.astype(np.float64))))


def ref_entropy(lp):
    p = np.exp(lp)
    with np.errstate(invalid="ignore"):
        return -np.where(p > 0, p * lp, 0.0).sum(-1)


def test_entropy_kinds(lm):
    lp = ref_logp(lm)
    H = ref_entropy(lp)
    close(infoest.entropy(lm, reduction="none"), H)
    close(infoest.entropy(lm), H.mean())
    close(infoest.entropy(lm, reduction="sum"), H.sum())
    for a in (0.5, 2.0, 3.0):
        close(infoest.entropy(lm, kind="renyi", alpha=a, reduction="none"),
              sp_lse(a * lp, axis=-1) / (1 - a))
        close(infoest.entropy(lm, kind="tsallis", alpha=a, reduction="none"),
              (1 - np.exp(sp_lse(a * lp, axis=-1))) / (a - 1))
    close(infoest.entropy(lm, kind="renyi", alpha=math.inf, reduction="none"), -lp.max(-1))


def test_entropy_probs_and_weights(rng):
    p = rng.random((7, 50))
    p[2, :10] = 0
    lp = np.log(p / p.sum(-1, keepdims=True), where=p > 0, out=np.full_like(p, -np.inf))
    H = ref_entropy(lp)
    close(infoest.entropy(p, input="probs", reduction="none"), H)
    mask = np.array([1, 0, 1, 1, 0, 0, 1], dtype=bool)
    close(infoest.entropy(p, input="probs", row_weights=mask), H[mask].mean())
    w = rng.random(7)
    close(infoest.entropy(p, input="probs", row_weights=w), (w * H).sum() / w.sum())
    close(infoest.entropy(p, input="probs", row_weights=w, reduction="sum"), (w * H).sum())


def test_entropy_list_input():
    close(infoest.entropy([[0.5, 0.5], [1, 0]], input="probs", reduction="none"), [math.log(2), 0.0])


def test_nll(rng):
    x = lm_logits(rng, 24, 1000).reshape(4, 6, 1000)
    y = rng.integers(0, 1000, size=(4, 6))
    y[1, 2] = -100
    lp = ref_logp(x)
    per = -np.take_along_axis(lp, np.where(y < 0, 0, y)[..., None], -1)[..., 0]
    per[y == -100] = 0
    got = infoest.nll(x, y, ignore_index=-100, reduction="none")
    assert got.shape == (4, 6)
    close(got, per)
    close(infoest.nll(x, y, ignore_index=-100), per[y != -100].mean())
    close(infoest.nll(x, y.astype(np.int32), ignore_index=-100, reduction="sum"), per.sum())
    close(infoest.nll(x, y, ignore_index=-100, temperature=2.0, reduction="none"),
          np.where(y == -100, 0, -np.take_along_axis(ref_logp(x, 2.0), np.where(y < 0, 0, y)[..., None], -1)[..., 0]))


# ---- two distributions a row ----------------------------------------------------------

KINDS = [("kl", None), ("reverse-kl", None), ("jeffreys", None), ("cross-entropy", None),
         ("js", None), ("tv", None), ("hellinger", None), ("bhattacharyya", None),
         ("chi2", None), ("cauchy-schwarz", None), ("alpha", 0.5), ("alpha", 2.0),
         ("renyi", 0.5), ("renyi", 2.0), ("tsallis", 0.5), ("tsallis", 1.5)]


def test_every_kind_is_listed():
    assert sorted({k for k, _ in KINDS}) == sorted(infoest.DIVERGENCE_KINDS)


@pytest.mark.parametrize("kind,alpha", KINDS)
def test_divergence_student_teacher(rng, kind, alpha):
    teacher = lm_logits(rng, 9, 3001)
    student = (teacher + rng.standard_normal(teacher.shape) * 0.3).astype(np.float32)
    lp, lq = ref_logp(student), ref_logp(teacher)
    want = ref_divergence(kind, lp, lq, alpha)
    got = infoest.divergence(student, teacher, kind, alpha=alpha, reduction="none")
    close(got, want)
    assert (got >= 0).all()
    close(infoest.divergence(student, teacher, kind, alpha=alpha), want.mean())


@pytest.mark.parametrize("kind,alpha", KINDS)
def test_float64_input_keeps_float64_digits(rng, kind, alpha):
    """Float64 logits (NumPy's default) run the double kernels: every kind
    within 1e-11 relative (1e-13 absolute) of float64 SciPy, not only SPEC's
    1e-5.  (KL's φ series cut at float's length had left 1e-9.)"""
    teacher = lm_logits(rng, 9, 3001, np.float64)
    student = teacher + rng.standard_normal(teacher.shape) * 0.3
    lp, lq = ref_logp(student), ref_logp(teacher)
    got = infoest.divergence(student, teacher, kind, alpha=alpha, reduction="none")
    close(got, ref_divergence(kind, lp, lq, alpha), rtol=1e-11, atol=1e-13)
    # the same rows as float64 probabilities
    p, q = np.exp(lp) * 1e-3, np.exp(lq) * 7.0
    got = infoest.divergence(p, q, kind, alpha=alpha, input="probs", reduction="none")
    close(got, ref_divergence(kind, np.log(p / p.sum(-1, keepdims=True)),
                              np.log(q / q.sum(-1, keepdims=True)), alpha), rtol=1e-11, atol=1e-13)


def test_float64_input_one_distribution(rng):
    """The same for the ops of one distribution a row."""
    x = lm_logits(rng, 9, 3001, np.float64)
    lp = ref_logp(x)
    f64 = dict(rtol=1e-11, atol=1e-13)
    close(infoest.log_softmax(x), lp, **f64)
    close(infoest.softmax(x), np.exp(lp), **f64)
    close(infoest.log_softmax(x, temperature=0.7), ref_logp(x, 0.7), **f64)
    close(infoest.entropy(x, reduction="none"), ref_entropy(lp), **f64)
    close(infoest.entropy(np.exp(lp), input="probs", reduction="none"), ref_entropy(lp), **f64)
    for a in (0.5, 2.0):
        close(infoest.entropy(x, kind="renyi", alpha=a, reduction="none"),
              sp_lse(a * lp, axis=-1) / (1 - a), **f64)
        close(infoest.entropy(x, kind="tsallis", alpha=a, reduction="none"),
              (1 - np.exp(sp_lse(a * lp, axis=-1))) / (a - 1), **f64)
    y = rng.integers(0, 3001, size=9)
    close(infoest.nll(x, y, reduction="none"), -lp[np.arange(9), y], **f64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nll_at_small_temperatures(rng, dtype):
    """NLL of a label at the row's max is log Σ e^{(a − max)/T} ≥ 0, also as
    T → 0 (an FMA had made m − x·(1/T) −2e-13 at T = 0.01 in float64, and
    −1e4 at T = 1e-20); other labels keep the tolerance of their dtype."""
    x = lm_logits(rng, 9, 3001, dtype)
    top = x.argmax(-1)
    tol = dict(rtol=1e-11, atol=1e-13) if dtype == np.float64 else {}
    for t in (0.7, 0.1, 0.01, 1e-6, 1e-20):
        at_max = infoest.nll(x, top, temperature=t, reduction="none")
        assert (at_max >= 0).all(), (t, at_max.min())
        close(at_max, -ref_logp(x, t)[np.arange(9), top], **tol)
        other = (top + 17) % 3001
        close(infoest.nll(x, other, temperature=t, reduction="none"),
              -ref_logp(x, t)[np.arange(9), other], **tol)


def test_divergence_probs_mixed_and_beta(rng):
    p = rng.random((5, 40)); q = rng.random((5, 40)) + 0.01
    lp = np.log(p / p.sum(-1, keepdims=True)); lq = np.log(q / q.sum(-1, keepdims=True))
    close(infoest.divergence(p, q, "kl", input="probs", reduction="none"), ref_divergence("kl", lp, lq))
    ql = np.log(q).astype(np.float32)
    lq32 = ref_logp(ql)
    close(infoest.divergence(p, ql, "kl", p_input="probs", q_input="logits", reduction="none"),
          ref_divergence("kl", lp, lq32))
    close(infoest.divergence(p, q, "js", input="probs", beta=0.2, reduction="none"),
          ref_divergence("js", lp, lq, beta=0.2))
    # identical rows: exactly 0
    assert (infoest.divergence(p, p, "kl", input="probs", reduction="none") == 0).all()


def test_divergence_infinite_is_a_result():
    p = np.array([[0.5, 0.5]]); q = np.array([[1.0, 0.0]])
    assert infoest.divergence(p, q, "kl", input="probs") == math.inf


def test_float64_logits_whose_gaps_pass_double_range():
    # Finite float64 logits near ±DBL_MAX: an entry whose gap to its row's
    # max passes double's range has probability 0, as in the float64
    # reference (SciPy's log_softmax gives it -inf).  Before, the terms with
    # it were dropped: KL 0.0127 and Jeffreys 0.18 here where the reference
    # is +inf, cross-entropy and Shannon entropy NaN.
    one = np.array([[1.0, 0.0, 1.0]]); far = np.array([[1e308, -1e308, 1e308]])
    with np.errstate(over="ignore"):
        lp, lq = ref_logp(one), ref_logp(far)
    assert np.isneginf(lq[0, 1])
    for kind in ("kl", "jeffreys"):
        assert infoest.divergence(one, far, kind) == math.inf, kind
    assert infoest.divergence(far, one, "reverse-kl") == math.inf
    close(infoest.divergence(far, one, "kl"), ref_divergence("kl", lq, lp)[0], 1e-12, 1e-14)
    close(infoest.divergence(far, far, "cross-entropy"), math.log(2), 1e-12, 1e-14)
    assert infoest.entropy(np.array([[1e308, -1e308, 3.0]])) == 0.0
    close(infoest.entropy(np.array([[1e308, 1e308, -1e308]])), math.log(2), 1e-12, 1e-14)
    # Rényi of order ∞ from the logits themselves: their differences (2e308)
    # pass double's range, each gap over T does not
    a, b = np.array([[1.0, 0.0, 1.0]]), np.array([[1e308, -1e308, 1e308]])
    v = infoest.divergence(a, b, "renyi", alpha=math.inf, temperature=3.0)
    close(v, 2e308 / 3, 1e-12, 0.0)  # (the logs of the sums are below its last digit)
    # An entry whose p-gap passes double's range is outside p's support:
    # Rényi ∞ had taken its logits' difference (5e307 here, for 0)
    a, b = np.array([[1e308, -1e308, 0.0]]), np.array([[1e308, -1.5e308, 0.0]])
    assert infoest.divergence(a, b, "renyi", alpha=math.inf) == 0.0


def test_float64_gap_past_double_range_before_the_max_rises():
    # q's entry 0 is 1e308 below q's second chunk's max (its gap, -2.6e308,
    # passes double's range: q = 0 there) and p's is not (-1.79e308): the
    # reference's cross-entropy is +inf.  Its gap to the max of its own
    # chunk is finite, and cross-entropy summed chunk by chunk gave 0.
    p, q = np.zeros((1, 1000)), np.zeros((1, 1000))
    p[0, 900], p[0, 0] = 1.5e308, -2.9e307
    q[0, 900], q[0, 0] = 1.6e308, -1e308
    with np.errstate(over="ignore"):
        lp, lq = ref_logp(p), ref_logp(q)
    assert np.isneginf(lq[0, 0]) and np.isfinite(lp[0, 0])
    assert infoest.divergence(p, q, "cross-entropy") == math.inf
    assert infoest.divergence(p, q, "kl") == math.inf


def test_divergence_rows_with_row_stride(rng):
    big = lm_logits(rng, 6, 520)
    p, q = big[:, :500], big[:, 10:510]      # rows strided, last dim contiguous: no copy
    close(infoest.divergence(p, q, "kl", reduction="none"), ref_divergence("kl", ref_logp(p), ref_logp(q)))


# ---- Sinkhorn ---------------------------------------------------------------------------


def ref_sinkhorn(a, b, C, eps, iters=5000):
    """Log-domain Sinkhorn in float64 (SPEC §4), to convergence."""
    la, lb = np.log(a / a.sum()), np.log(b / b.sum())
    f = np.zeros(len(a)); g = np.zeros(len(b))
    for _ in range(iters):
        f = eps * la - eps * sp_lse((g[None, :] - C) / eps, axis=1)
        g = eps * lb - eps * sp_lse((f[:, None] - C) / eps, axis=0)
    P = np.exp((f[:, None] + g[None, :] - C) / eps)
    return (P * C).sum(), P


def test_sinkhorn_cost_matrix(rng):
    n, m = 20, 30
    a = rng.random(n) + 0.1; b = rng.random(m) + 0.1
    X = rng.standard_normal((n, 2)); Y = rng.standard_normal((m, 2)) + 0.5
    C = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    want, P = ref_sinkhorn(a, b, C, 0.1)
    r = infoest.sinkhorn(a, b, C, epsilon=0.1, tol=1e-10, max_iter=5000, return_plan=True,
                         return_potentials=True)
    assert isinstance(r.transport_cost, float) and r.converged is True
    close(r.transport_cost, want, rtol=1e-7)
    close(r.plan, P, rtol=1e-5, atol=1e-9)
    assert r.f.shape == (n,) and r.g.shape == (m,)
    # the same from point clouds
    r2 = infoest.sinkhorn(a, b, x=X, y=Y, epsilon=0.1, tol=1e-10, max_iter=5000)
    close(r2.transport_cost, want, rtol=1e-7)


def test_sinkhorn_batch_and_divergence(rng):
    B, n, m = 3, 8, 9
    a = rng.random((B, n)) + 0.1; b = rng.random(m) + 0.1
    C = rng.random((B, n, m))
    r = infoest.sinkhorn(a, b, C, epsilon=0.05, tol=1e-10, max_iter=5000)
    assert r.transport_cost.shape == (B,) and r.converged.dtype == bool
    for i in range(B):
        close(r.transport_cost[i], ref_sinkhorn(a[i], b, C[i], 0.05)[0], rtol=1e-7)
    X = rng.standard_normal((n, 3)); Y = rng.standard_normal((m, 3))
    d = infoest.sinkhorn(np.ones(n), np.ones(m), x=X, y=Y, epsilon=0.5, divergence=True)
    assert d.divergence >= -1e-9 and math.isfinite(d.divergence)
    same = infoest.sinkhorn(np.ones(n), np.ones(n), x=X, y=X, epsilon=0.5, divergence=True)
    assert abs(same.divergence) < 1e-6


def opencl_context():
    """An OpenCL context, or the test skipped (not built, no device)."""
    if "opencl" not in infoest.backends():
        pytest.skip("OpenCL is not built here")
    try:
        return infoest.Context(backend="opencl")
    except infoest.BackendUnavailable as e:
        pytest.skip(f"no OpenCL device: {e}")


def test_sinkhorn_single_precision(rng):
    """float32 tiles (SPEC §4): transport_cost within max(2e-6, 3e-8·r) of
    float64 on a GPU backend; ignored (double, the same bits) on the CPU."""
    n, m, eps = 300, 200, 0.05
    f32 = lambda v: v.astype(np.float32)           # what a GPU backend takes
    a = f32(rng.random(n) + 0.1); b = f32(rng.random(m) + 0.1)
    X = f32(rng.standard_normal((n, 8)) * 0.3 + 2.0)    # a cloud away from the origin
    Y = f32(rng.standard_normal((m, 8)) * 0.3 + 2.1)
    C = ((X[:, None, :].astype(np.float64) - Y[None, :, :]) ** 2).sum(-1)
    want = ref_sinkhorn(a.astype(np.float64), b.astype(np.float64), C, eps)[0]
    tol = max(2e-6, 3e-8 * np.median(C) / eps)
    kw = dict(x=X, y=Y, epsilon=eps, tol=1e-9, max_iter=5000)
    cpu = infoest.Context(backend="cpu")
    assert (infoest.sinkhorn(a, b, single_precision=True, context=cpu, **kw).transport_cost
            == infoest.sinkhorn(a, b, context=cpu, **kw).transport_cost)
    ctx = opencl_context()
    r32 = infoest.sinkhorn(a, b, single_precision=True, context=ctx, **kw)
    r64 = infoest.sinkhorn(a, b, context=ctx, **kw)
    assert r32.converged and r64.converged
    close(r64.transport_cost, want, rtol=1e-6, atol=0)
    close(r32.transport_cost, want, rtol=tol, atol=0)
    assert r32.transport_cost != r64.transport_cost   # the float32 tiles did run


# ---- k nearest neighbours -----------------------------------------------------------------


def test_knn_matches_a_kd_tree(rng):
    X = rng.standard_normal((500, 3)); Q = rng.standard_normal((40, 3))
    d, i = cKDTree(X).query(Q, k=4)
    idx, dist = infoest.knn(Q, X, 4)
    assert idx.dtype == np.int64 and (idx == i).all()
    close(dist, d, rtol=1e-12)
    d2, i2 = cKDTree(X).query(X, k=5, p=np.inf)
    idx, dist = infoest.knn(X, X, 4, metric="chebyshev", exclude_self=True)
    close(dist, d2[:, 1:], rtol=1e-12)


def log_vd(d):
    return d / 2 * math.log(math.pi) - gammaln(d / 2 + 1)


def test_knn_entropy_formula(rng):
    N, d, k = 800, 2, 4
    X = rng.standard_normal((N, d))
    rho = cKDTree(X).query(X, k=k + 1)[0][:, k]
    want = digamma(N) - digamma(k) + log_vd(d) + d * np.log(rho).mean()
    close(infoest.knn_entropy(X, k=k), want, rtol=1e-9)
    r = infoest.knn_entropy(X, k=k, details=True)
    assert (r.n, r.d, r.k) == (N, d, k)
    # 1-D samples are N points in R^1
    x1 = rng.standard_normal(600)
    rho1 = cKDTree(x1[:, None]).query(x1[:, None], k=4)[0][:, 3]
    close(infoest.knn_entropy(x1), digamma(600) - digamma(3) + math.log(2) + np.log(rho1).mean(), rtol=1e-9)


def test_knn_divergence_and_mi_formulas(rng):
    N, M, d, k = 600, 700, 2, 3
    X = rng.standard_normal((N, d)); Y = rng.standard_normal((M, d)) + 0.7
    rho = cKDTree(X).query(X, k=k + 1)[0][:, k]
    nu = cKDTree(Y).query(X, k=k)[0][:, k - 1]
    want = d * np.log(nu / rho).mean() + math.log(M / (N - 1))
    close(infoest.knn_divergence(X, Y, k=k), want, rtol=1e-9)
    # KSG (first form) with the max-norm
    x = rng.standard_normal((500, 1)); y = 0.6 * x + 0.8 * rng.standard_normal((500, 1))
    Z = np.hstack([x, y])
    eps = cKDTree(Z).query(Z, k=k + 1, p=np.inf)[0][:, k]
    tx, ty = cKDTree(x), cKDTree(y)
    nx = np.array([len(tx.query_ball_point(x[i], np.nextafter(eps[i], 0), p=np.inf)) - 1 for i in range(500)])
    ny = np.array([len(ty.query_ball_point(y[i], np.nextafter(eps[i], 0), p=np.inf)) - 1 for i in range(500)])
    want = digamma(k) + digamma(500) - (digamma(nx + 1) + digamma(ny + 1)).mean()
    close(infoest.knn_mutual_information(x, y, k=k), want, rtol=1e-9)


# ---- spectral ----------------------------------------------------------------------------


def ref_vendi(K, q=1.0):
    lam = np.linalg.eigvalsh(K / len(K))
    lam = lam[lam > 1e-12 * lam.max()]
    lam = lam / lam.sum()
    if q == 1.0:
        return math.exp(-(lam * np.log(lam)).sum())
    return math.exp(math.log((lam ** q).sum()) / (1 - q))


def test_vendi_and_matrix_entropies(rng):
    X = rng.standard_normal((60, 5))
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    K = Xn @ Xn.T
    close(infoest.vendi(X), ref_vendi(K), rtol=1e-6)
    close(infoest.vendi(X, q=2.0), ref_vendi(K, 2.0), rtol=1e-6)
    close(infoest.vendi(kernel_matrix=K), ref_vendi(K), rtol=1e-6)
    r = infoest.vendi(X, details=True)
    assert r.path == "dual" and r.n == 60
    assert infoest.vendi(X, path="primal", details=True).path == "primal"
    sig = 2.0
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    Kr = np.exp(-D2 / (2 * sig * sig))
    close(infoest.vendi(X, kernel="rbf", sigma=sig), ref_vendi(Kr), rtol=1e-6)
    close(infoest.matrix_entropy(X, kernel="rbf", sigma=sig), math.log(ref_vendi(Kr)), rtol=1e-6)
    Y = X[:, :3] + 0.1 * rng.standard_normal((60, 3))
    Yn = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    Ky = Yn @ Yn.T
    Sj = math.log(ref_vendi(K * Ky))
    close(infoest.matrix_joint_entropy(X, Y), Sj, rtol=1e-6)
    close(infoest.matrix_mutual_information(X, Y),
          math.log(ref_vendi(K)) + math.log(ref_vendi(Ky)) - Sj, rtol=1e-6)


def test_strided_views_on_opencl(rng):
    """A strided host view is staged to the device once per use: matrix MI
    stages each input twice (its own entropy, then the joint one), and the
    second staging had copied the view's first bytes as if contiguous."""
    ctx = opencl_context()
    base = rng.standard_normal((50, 6)).astype(np.float32)
    y = rng.standard_normal((50, 2)).astype(np.float32)
    for x in (base[:, :3], base[::2][:25].repeat(2, 0)[:, 1:4]):
        xc = np.ascontiguousarray(x)
        want = infoest.matrix_mutual_information(xc, y, context=ctx)
        close(want, infoest.matrix_mutual_information(xc.astype(np.float64), y.astype(np.float64)), rtol=1e-6)
        assert infoest.matrix_mutual_information(x, y, context=ctx) == want
        assert infoest.matrix_mutual_information(y, x, context=ctx) == \
            infoest.matrix_mutual_information(y, xc, context=ctx)
    xs = base[::2]
    assert infoest.matrix_mutual_information(xs, y[:25], kernel="rbf", sigma=2.0, context=ctx) == \
        infoest.matrix_mutual_information(np.ascontiguousarray(xs), y[:25], kernel="rbf", sigma=2.0, context=ctx)


def test_vendi_batch(rng):
    S = rng.standard_normal((10, 16, 4))
    got = infoest.vendi_batch(S)
    assert got.shape == (10,)
    for s in range(10):
        Xn = S[s] / np.linalg.norm(S[s], axis=1, keepdims=True)
        close(got[s], ref_vendi(Xn @ Xn.T), rtol=1e-6)


def test_contexts_agree_on_opencl(lm):
    ctx = opencl_context()
    with ctx:
        assert infoest.current_context() is ctx
        got = infoest.entropy(lm, reduction="none")
    assert infoest.current_context() is None
    close(got, ref_entropy(ref_logp(lm)))
    close(infoest.divergence(lm, lm[::-1].copy(), "js", context=ctx, reduction="none"),
          ref_divergence("js", ref_logp(lm), ref_logp(lm[::-1])))


@pytest.mark.parametrize("scale", [1e30, 1e-20])
@pytest.mark.parametrize("t", [0.05, 3.0])
def test_probabilities_far_from_one_at_any_temperature(rng, scale, t):
    """Rows of probabilities summing to 1e30 or 1e-20 at T != 1: (log x)/T
    rounded to float had carried log x's size (4x the tolerance at T = 0.05,
    a differential fuzzer's find); the float kernels now shift by a log of
    the row's own values first."""
    x = (np.exp(rng.standard_normal((6, 700)) * 0.3) * scale).astype(np.float32)
    y = (x * np.exp(rng.standard_normal(x.shape) * 0.1)).astype(np.float32)
    lp = ref_logp(np.log(x.astype(np.float64)), t)
    lq = ref_logp(np.log(y.astype(np.float64)), t)
    close(infoest.entropy(x, input="probs", temperature=t, reduction="none"), ref_entropy(lp))
    close(infoest.divergence(x, y, "kl", input="probs", temperature=t, reduction="none"),
          ref_divergence("kl", lp, lq))
