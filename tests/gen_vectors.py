#!/usr/bin/env python3
"""Test vectors for infoest: inputs and float64 references, computed with
NumPy/SciPy only (never with the C code under test).

Re-run from the repository root with:

    python3 tests/gen_vectors.py            # writes tests/vectors/

and commit tests/vectors/.  The output is deterministic (fixed seeds), so a
re-run on the same NumPy gives the same bytes.

Layout of tests/vectors/:

  MANIFEST          one line per case (read by tests/test_vectors.c):
                      case NAME key=value key=value ...
                    keys: op (entropy | lse | log_softmax | softmax | nll |
                    divergence), kind, alpha, beta, T, p_input, q_input,
                    dtype_p, dtype_q (f32 | f16 | bf16 | f64), ignore (an int,
                    or none), stride_p, stride_q (row stride in elements for the
                    C side to copy the rows into; 0 = compact), rows, cols,
                    exact0 (1: every expected value is 0 and must be exactly
                    0), x, y, labels, expect (file names, - for none).
                    Reals are written with repr(): inf, -inf, 0.5, ...
  NAME.x.npy        first input (logits / p); bf16 is stored as uint16 bits
  NAME.y.npy        second input (q), divergences only
  NAME.labels.npy   labels (int64 or int32), nll only
  NAME.expect.npy   float64 expected values: [B] per row, or [B, V] for
                    log_softmax / softmax
  io/               small files for tests/test_io.c (.npy in every version
                    and dtype, broken files, .safetensors good and broken)

Every reference follows docs/SPEC.md §2–§3: natural logs, 0·log 0 = 0, +inf where
the quantity is infinite, limits at α = 1 / q = 1, Rényi α = ∞.  The inputs
are first rounded to their storage dtype (fp16 via astype(np.float16); bf16
by round-to-nearest-even of the fp32 bits), and the reference is computed in
float64 from exactly those rounded values.  Where the SciPy formula is
numerically usable (no float64 underflow), the log-space reference used here
is cross-checked against scipy.special.rel_entr / entr and
scipy.spatial.distance.jensenshannon, and the script stops if they disagree.
"""
import json
import os
import struct
import sys

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.special import entr, logsumexp, rel_entr

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")
NEG_INF = -np.inf
SEED0 = 20240611

# ---------------------------------------------------------------- rounding


def bf16_bits(x):
    """fp32 -> bf16 bits (uint16), round to nearest, ties to even."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    u = x.view(np.uint32).astype(np.uint64)
    nan = np.isnan(x)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    r[nan] = 0x7FC0
    return r


def bf16_to_f64(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def store(a, dtype):
    """Round a float64 array to `dtype`; return (array to save, float64 of the
    rounded values)."""
    a = np.asarray(a, dtype=np.float64)
    if dtype == "f32":
        s = a.astype(np.float32)
        return s, s.astype(np.float64)
    if dtype == "f16":
        s = a.astype(np.float16)
        return s, s.astype(np.float64)
    if dtype == "bf16":
        s = bf16_bits(a.astype(np.float32))
        return s, bf16_to_f64(s)
    if dtype == "f64":
        return a.copy(), a.copy()
    raise ValueError(dtype)


# ---------------------------------------------------------------- references


def log_probs(x, kind, T):
    """float64 log-probabilities per row: logits -> log_softmax(a/T);
    probs -> log(x)/T renormalised.  -inf for probability 0."""
    x = np.asarray(x, dtype=np.float64)
    if kind == "logits":
        z = x / T
    else:
        with np.errstate(divide="ignore"):
            z = np.log(x) / T
    # Shift by the row max first: (z - m) is exact for equal entries, whereas
    # z - lse(z) loses log V entirely when |z| ~ 1e30.
    m = z.max(axis=1, keepdims=True)
    d = z - m
    lp = d - logsumexp(d, axis=1, keepdims=True)
    lp[np.isneginf(z)] = NEG_INF
    return lp


def lse_ref(x, T):
    return logsumexp(np.asarray(x, np.float64) / T, axis=1)


def entropy_ref(lp, kind, alpha):
    p = np.exp(lp)
    fin = np.isfinite(lp)
    plogp = np.where(fin, p * np.where(fin, lp, 0.0), 0.0)
    shannon = -plogp.sum(axis=1)
    if kind == "shannon" or alpha == 1.0:
        return shannon
    if kind == "renyi":
        if alpha == np.inf:
            return -lp.max(axis=1)
        if alpha == 0.0:
            return np.log(fin.sum(axis=1).astype(np.float64))
        return logsumexp(np.where(fin, alpha * lp, NEG_INF), axis=1) / (1.0 - alpha)
    if kind == "tsallis":
        if alpha == 0.0:
            return fin.sum(axis=1).astype(np.float64) - 1.0
        L = logsumexp(np.where(fin, alpha * lp, NEG_INF), axis=1)
        return -np.expm1(L) / (alpha - 1.0)
    raise ValueError(kind)


def sum_pow(lp, lq, a):
    """log Σ p^a q^(1-a) with docs/SPEC.md conventions; returns (L, inf_row)."""
    if np.isfinite(lp).all() and np.isfinite(lq).all():
        return logsumexp(a * lp + (1.0 - a) * lq, axis=1)
    B, V = lp.shape
    L = np.empty(B)
    for b in range(B):
        terms = []
        inf = False
        for i in range(V):
            pz, qz = lp[b, i] == NEG_INF, lq[b, i] == NEG_INF
            if pz and qz:
                continue
            if pz:  # p = 0
                if a > 0:
                    continue
                inf = True
                break
            if qz:  # q = 0
                if a < 1:
                    continue
                inf = True
                break
            terms.append(a * lp[b, i] + (1.0 - a) * lq[b, i])
        if inf:
            L[b] = np.inf
        elif not terms:
            L[b] = NEG_INF
        else:
            L[b] = logsumexp(np.array(terms))
    return L


def kl_ref(lp, lq):
    fin = np.isfinite(lp)
    bad = (fin & np.isneginf(lq)).any(axis=1)
    t = np.where(fin, np.exp(lp) * (np.where(fin, lp, 0) - np.where(np.isfinite(lq), lq, 0)), 0.0)
    r = t.sum(axis=1)
    r[bad] = np.inf
    return r


def divergence_ref(kind, lp, lq, alpha, beta):
    p, q = np.exp(lp), np.exp(lq)
    fp, fq = np.isfinite(lp), np.isfinite(lq)
    if kind == "kl":
        return kl_ref(lp, lq)
    if kind == "reverse-kl":
        return kl_ref(lq, lp)
    if kind == "jeffreys":
        return kl_ref(lp, lq) + kl_ref(lq, lp)
    if kind == "cross-entropy":
        bad = (fp & ~fq).any(axis=1)
        r = -np.where(fp & fq, p * np.where(fq, lq, 0), 0.0).sum(axis=1)
        r[bad] = np.inf
        return r
    if kind == "js":
        lb, l1b = np.log(beta), np.log1p(-beta)
        lm = np.logaddexp(lb + lp, l1b + lq)
        tp = np.where(fp, beta * p * (np.where(fp, lp, 0) - np.where(fp, lm, 0)), 0.0)
        tq = np.where(fq, (1 - beta) * q * (np.where(fq, lq, 0) - np.where(fq, lm, 0)), 0.0)
        return tp.sum(axis=1) + tq.sum(axis=1)
    if kind == "tv":
        return 0.5 * np.abs(p - q).sum(axis=1)
    if kind == "hellinger":
        return 0.5 * ((np.exp(lp / 2) - np.exp(lq / 2)) ** 2).sum(axis=1)
    if kind == "bhattacharyya":
        with np.errstate(divide="ignore"):
            return -logsumexp((lp + lq) / 2, axis=1)
    if kind == "chi2":
        bad = (fp & ~fq).any(axis=1)
        # (p - q)^2 / q = q (e^(lp - lq) - 1)^2, in log space so that
        # probabilities too small for float64 give their true (tiny or huge) term
        d = np.where(fp, lp, NEG_INF) - np.where(fq, lq, 0.0)
        ld = np.where(d > 30, d + np.log1p(-np.exp(-np.abs(d))), np.log(np.abs(np.expm1(d))))
        r = np.where(fq, np.exp(np.where(fq, lq, 0.0) + 2 * ld), 0.0).sum(axis=1)
        r[bad] = np.inf
        return r
    if kind in ("alpha", "renyi", "tsallis"):
        if alpha == 1.0:
            return kl_ref(lp, lq)
        if kind == "alpha" and alpha == 0.0:
            return kl_ref(lq, lp)
        if kind == "renyi" and alpha == np.inf:
            d = np.where(fp, np.where(fp, lp, 0) - np.where(fq, lq, NEG_INF), NEG_INF)
            return d.max(axis=1)
        L = sum_pow(lp, lq, alpha)
        with np.errstate(over="ignore", invalid="ignore"):
            if kind == "renyi":
                return L / (alpha - 1.0)
            if kind == "tsallis":
                return np.expm1(L) / (alpha - 1.0)
            return -np.expm1(L) / (alpha * (1.0 - alpha))
    if kind == "cauchy-schwarz":
        with np.errstate(divide="ignore"):
            spq = logsumexp(lp + lq, axis=1)
            return -(spq - 0.5 * logsumexp(2 * lp, axis=1) - 0.5 * logsumexp(2 * lq, axis=1))
    raise ValueError(kind)


def crosscheck_divergence(kind, lp, lq, beta, got, alpha=0.0):
    """Independent SciPy formulas on the probabilities (rows where no
    probability underflows float64)."""
    p, q = np.exp(lp), np.exp(lq)
    ok = ((p > 1e-290) | np.isneginf(lp)).all(axis=1) & ((q > 1e-290) | np.isneginf(lq)).all(axis=1)
    if not ok.any():
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "kl":
            ref = rel_entr(p, q).sum(axis=1)
        elif kind == "reverse-kl":
            ref = rel_entr(q, p).sum(axis=1)
        elif kind == "js" and beta == 0.5:
            ref = jensenshannon(p, q, axis=1) ** 2
        elif kind == "cross-entropy":
            ref = rel_entr(p, q).sum(axis=1) + entr(p).sum(axis=1)
        elif kind == "chi2":
            ref = np.where(q > 0, (p - q) ** 2 / np.where(q > 0, q, 1), np.where(p > 0, np.inf, 0)).sum(axis=1)
        elif kind == "hellinger":
            ref = 1.0 - np.sqrt(p * q).sum(axis=1)
        elif kind == "bhattacharyya":
            ref = -np.log(np.sqrt(p * q).sum(axis=1))
        elif kind == "cauchy-schwarz":
            ref = -np.log((p * q).sum(axis=1) / np.sqrt((p * p).sum(axis=1) * (q * q).sum(axis=1)))
        elif kind in ("renyi", "tsallis", "alpha") and alpha not in (0.0, 1.0, np.inf):
            t = np.where(p > 0, p ** alpha * np.where(q > 0, q, 1) ** (1 - alpha), 0.0)
            t = np.where((q == 0) & (p > 0), 0.0 if alpha < 1 else np.inf, t)
            S = t.sum(axis=1)
            ref = {"renyi": np.log(S) / (alpha - 1), "tsallis": (S - 1) / (alpha - 1),
                   "alpha": (1 - S) / (alpha * (1 - alpha))}[kind]
        else:
            return
    for b in np.nonzero(ok)[0]:
        g, r = got[b], ref[b]
        if np.isinf(r) or np.isinf(g):
            assert g == r, (kind, b, g, r)
        else:
            assert abs(g - r) <= 1e-9 * max(1.0, abs(r)), (kind, b, g, r)


def crosscheck_entropy(lp, got):
    ref = entr(np.exp(lp)).sum(axis=1)
    ok = ((np.exp(lp) > 1e-290) | np.isneginf(lp)).all(axis=1)
    for b in np.nonzero(ok)[0]:
        assert abs(got[b] - ref[b]) <= 1e-10 * max(1.0, abs(ref[b])), (b, got[b], ref[b])


# ---------------------------------------------------------------- writing

MANIFEST = []
SAVED = set()
CASE_SEEDS = set()


def rng_for(name):
    # A fixed seed per case, different across cases.
    h = 0
    for ch in name.encode():
        h = (h * 131 + ch) % (2**31)
    seed = SEED0 + h
    assert seed not in CASE_SEEDS, name
    CASE_SEEDS.add(seed)
    return np.random.default_rng(seed)


def fmt(v):
    if v is None:
        return "none"
    if isinstance(v, float):
        if v == np.inf:
            return "inf"
        if v == -np.inf:
            return "-inf"
        return repr(v)
    return str(v)


def save(fname, arr):
    SAVED.add(fname)
    np.save(os.path.join(OUT, fname), np.ascontiguousarray(arr), allow_pickle=False)


def add_case(name, op, x, expect, *, kind="-", alpha=0.0, beta=0.5, T=1.0,
             p_input="logits", q_input="logits", dtype_p="f32", dtype_q="-",
             y=None, labels=None, ignore=None, stride_p=0, stride_q=0,
             exact0=0, x_file=None, y_file=None):
    # A file named explicitly may be shared by several cases: written once.
    xf = x_file or f"{name}.x.npy"
    if xf not in SAVED:
        save(xf, x)
        SAVED.add(xf)
    yf = "-"
    if y is not None or y_file is not None:
        yf = y_file or f"{name}.y.npy"
        if yf not in SAVED:
            save(yf, y)
            SAVED.add(yf)
    lf = "-"
    if labels is not None:
        lf = f"{name}.labels.npy"
        save(lf, labels)
    ef = f"{name}.expect.npy"
    expect = np.asarray(expect, dtype=np.float64)
    assert not np.isnan(expect).any(), name
    if exact0:
        assert (expect == 0).all(), (name, expect)
    save(ef, expect)
    rows, cols = x.shape
    MANIFEST.append(
        f"case {name} op={op} kind={kind} alpha={fmt(float(alpha))} beta={fmt(float(beta))} "
        f"T={fmt(float(T))} p_input={p_input} q_input={q_input} dtype_p={dtype_p} "
        f"dtype_q={dtype_q} ignore={fmt(ignore)} stride_p={stride_p} stride_q={stride_q} "
        f"rows={rows} cols={cols} exact0={exact0} x={xf} y={yf} labels={lf} expect={ef}")


def logits(rng, B, V, scale=1.0, loc=0.0):
    return rng.normal(loc, scale, size=(B, V))


def dirichlet(rng, B, V, conc=1.0, zero_frac=0.0):
    p = rng.dirichlet(np.full(V, conc), size=B)
    if zero_frac > 0:
        mask = rng.random((B, V)) < zero_frac
        for b in range(B):  # keep at least one non-zero
            if mask[b].all():
                mask[b, rng.integers(V)] = False
        p = np.where(mask, 0.0, p)
    return p


# ---------------------------------------------------------------- cases


def single_ops():
    # lse / entropy kinds on plain random logits and probs
    for dt in ("f32", "f16", "bf16", "f64"):
        name = f"lse_{dt}"
        r = rng_for(name)
        s, v = store(logits(r, 40, 37, scale=3.0, loc=1.5), dt)
        add_case(name, "lse", s, lse_ref(v, 1.0), dtype_p=dt)
    name = "lse_temp"
    r = rng_for(name)
    s, v = store(logits(r, 33, 50, scale=4.0), "f32")
    add_case(name, "lse", s, lse_ref(v, 0.35), T=0.35)

    ent = [("shannon", 0.0), ("shannon", 1.0), ("renyi", 0.0), ("renyi", 0.5), ("renyi", 1.0),
           ("renyi", 2.0), ("renyi", np.inf), ("tsallis", 0.0), ("tsallis", 0.5),
           ("tsallis", 1.0), ("tsallis", 2.0)]
    for kind, a in ent:
        tag = "inf" if a == np.inf else str(a).replace(".", "p")
        for inp in ("logits", "probs"):
            name = f"ent_{kind}_{tag}_{inp}"
            r = rng_for(name)
            if inp == "logits":
                a0 = logits(r, 50, 29, scale=2.5)
                a0[r.random(a0.shape) < 0.15] = NEG_INF  # some zero probabilities
                a0[:, 0] = r.normal(size=50)  # keep every row non-empty
                s, v = store(a0, "f32")
            else:
                s, v = store(dirichlet(r, 50, 29, conc=0.6, zero_frac=0.2), "f32")
            lp = log_probs(v, inp, 1.0)
            e = entropy_ref(lp, kind, a)
            if kind == "shannon" or a == 1.0:
                crosscheck_entropy(lp, e)
            add_case(name, "entropy", s, e, kind=kind, alpha=a, p_input=inp)

    # entropy in every input dtype, with temperature
    for dt in ("f16", "bf16", "f64"):
        for inp in ("logits", "probs"):
            name = f"ent_{dt}_{inp}"
            r = rng_for(name)
            if inp == "logits":
                s, v = store(logits(r, 64, 100, scale=2.0), dt)
            else:
                s, v = store(dirichlet(r, 64, 100, conc=0.3), dt)
            add_case(name, "entropy", s, entropy_ref(log_probs(v, inp, 1.0), "shannon", 0),
                     kind="shannon", p_input=inp, dtype_p=dt)
    for inp, T in (("logits", 2.5), ("logits", 0.2), ("probs", 0.5), ("probs", 3.0)):
        name = f"ent_temp_{inp}_{str(T).replace('.', 'p')}"
        r = rng_for(name)
        if inp == "logits":
            s, v = store(logits(r, 30, 64, scale=3.0), "f32")
        else:
            s, v = store(dirichlet(r, 30, 64, conc=0.5, zero_frac=0.1), "f32")
        lp = log_probs(v, inp, T)
        add_case(name, "entropy", s, entropy_ref(lp, "renyi", 2.0), kind="renyi", alpha=2.0,
                 p_input=inp, T=T)
        name2 = name + "_sh"
        add_case(name2, "entropy", s, entropy_ref(lp, "shannon", 0), kind="shannon",
                 p_input=inp, T=T, x_file=f"{name}.x.npy")

    # special rows, logits: -inf entries, all equal, huge, tiny, one finite
    name = "ent_special_logits"
    r = rng_for(name)
    V = 16
    rows = [
        np.full(V, 3.7),                                     # all equal -> log V
        np.full(V, -1e30),                                   # all equal, huge negative
        np.concatenate([[1e30], np.full(V - 1, 0.0)]),       # huge -> one-hot
        np.concatenate([[1e30, 1e30], np.full(V - 2, -1e30)]),  # two tied at huge
        r.normal(size=V) * 1e-30,                            # tiny -> uniform
        np.concatenate([[0.5], np.full(V - 1, NEG_INF)]),    # one finite entry
        np.where(np.arange(V) % 2 == 0, NEG_INF, r.normal(size=V)),  # half -inf
        np.concatenate([[-1e30, 5.0], r.normal(size=V - 2)]),
        r.normal(size=V) * 30.0,                             # peaked
        r.normal(size=V) * 1e-7 + 100.0,                     # nearly uniform, offset
    ]
    s, v = store(np.array(rows), "f32")
    for kind, a in (("shannon", 0.0), ("renyi", 0.5), ("renyi", 0.0), ("renyi", 2.0),
                    ("renyi", np.inf), ("tsallis", 2.0), ("tsallis", 0.5)):
        tag = "inf" if a == np.inf else str(a).replace(".", "p")
        add_case(f"{name}_{kind}_{tag}", "entropy", s,
                 entropy_ref(log_probs(v, "logits", 1.0), kind, a), kind=kind, alpha=a,
                 x_file=f"{name}.x.npy")
    add_case(f"{name}_lse", "lse", s, lse_ref(v, 1.0), x_file=f"{name}.x.npy")

    # special rows, probs: one-hot, zeros, unnormalised, tiny and huge scale
    name = "ent_special_probs"
    r = rng_for(name)
    rows = [
        np.eye(V)[3],                                    # one-hot -> 0
        np.eye(V)[0] * 7.5,                              # unnormalised one-hot
        np.full(V, 1.0 / V),                             # uniform
        np.full(V, 1e-30),                               # tiny, uniform
        np.full(V, 1e30),                                # huge, uniform
        np.where(np.arange(V) < 3, 1.0, 0.0),            # three equal, rest 0
        r.dirichlet(np.full(V, 0.05)),                   # very peaked
        np.where(r.random(V) < 0.5, 0.0, r.random(V) * 1e20) + np.eye(V)[1],
    ]
    s, v = store(np.array(rows), "f32")
    for kind, a in (("shannon", 0.0), ("renyi", 0.0), ("renyi", np.inf), ("tsallis", 2.0)):
        tag = "inf" if a == np.inf else str(a).replace(".", "p")
        first = (kind, a) == ("shannon", 0.0)
        add_case(f"{name}_{kind}_{tag}" if not first else name, "entropy", s,
                 entropy_ref(log_probs(v, "probs", 1.0), kind, a), kind=kind, alpha=a,
                 p_input="probs", x_file=f"{name}.x.npy")

    # Rényi / Tsallis entropies over rows wider than a chunk at orders next to
    # 1, where log Σ p^α − α·log S cancels
    name = "ent_power_wide"
    r = rng_for(name)
    s, v = store(logits(r, 6, 3000, scale=2.5), "f32")
    for kind in ("renyi", "tsallis"):
        for a in (0.9999, 1.0001):
            for T in (1.0, 3.0):
                add_case(f"{name}_{kind}_{str(a).replace('.', 'p')}_T{int(T)}", "entropy", s,
                         entropy_ref(log_probs(v, "logits", T), kind, a), kind=kind, alpha=a,
                         T=T, x_file=f"{name}.x.npy")

    # Entropies of logits far from 0 (3000 + a spread of 2.5) at temperatures
    # whose 1/T is not a float: a/T rounded to float is off by ~1e-4 there,
    # so the shifts must come from differences a − max before the scaling;
    # and of a row dominated by one entry (entropy ~1e-3, its digits in S − 1)
    name = "ent_offset"
    r = rng_for(name)
    x = logits(r, 6, 3000, scale=2.5) + 3000.0
    x[5, 1234] = 3060.0
    s, v = store(x, "f32")
    for kind, a in (("shannon", 0.0), ("renyi", 2.0), ("renyi", 0.9999), ("tsallis", 0.5)):
        for T in (1.0, 3.0, 0.7):
            add_case(f"{name}_{kind}_{str(a).replace('.', 'p')}_T{str(T).replace('.', 'p')}",
                     "entropy", s, entropy_ref(log_probs(v, "logits", T), kind, a), kind=kind,
                     alpha=a, T=T, x_file=f"{name}.x.npy")

    # The general float kernels (f16 / bf16 inputs, and f32 rows with masked
    # -inf entries) on logits at 3000 with 1/T = 1/0.7 not a float: their
    # log-weights must come from differences before the scaling
    name = "float_offset"
    for dt in ("f32", "bf16"):
        r = rng_for(f"{name}_{dt}")
        a0 = logits(r, 6, 3000, scale=2.5) + 3000.0
        b0 = a0 + r.normal(0, 0.5, size=a0.shape)
        if dt == "f32":  # masked entries send every row to the general kernels
            a0[:, ::7] = NEG_INF
            b0[:, ::7] = NEG_INF
        a0[5, 1234] = 3060.0
        sx, vx = store(a0, dt)
        sy, vy = store(b0, dt)
        T = 0.7
        lp, lq = log_probs(vx, "logits", T), log_probs(vy, "logits", T)
        xf, yf = f"{name}_{dt}.x.npy", f"{name}_{dt}.y.npy"
        save(yf, sy)
        lab = r.integers(0, 3000, size=6)
        lab[lab % 7 == 0] += 1
        add_case(f"{name}_{dt}_entropy", "entropy", sx, entropy_ref(lp, "shannon", 0),
                 kind="shannon", T=T, dtype_p=dt, x_file=xf)
        add_case(f"{name}_{dt}_nll", "nll", sx, -lp[np.arange(6), lab],
                 labels=lab.astype(np.int64), T=T, dtype_p=dt, x_file=xf)
        add_case(f"{name}_{dt}_lse", "lse", sx, lse_ref(vx, T), T=T, dtype_p=dt, x_file=xf)
        add_case(f"{name}_{dt}_log_softmax", "log_softmax", sx, lp, T=T, dtype_p=dt, x_file=xf)
        for kind in ("kl", "reverse-kl", "jeffreys", "cross-entropy"):
            e = divergence_ref(kind, lp, lq, 0.0, 0.5)
            crosscheck_divergence(kind, lp, lq, 0.5, e)
            add_case(f"{name}_{dt}_{kind}", "divergence", sx, e, kind=kind, T=T, dtype_p=dt,
                     dtype_q=dt, x_file=xf, y_file=yf)

    # Entries masked with -3e38 (finite; /0.7 leaves float's range) ahead of
    # logits at 3000, and one row without them: entropies stay finite (at
    # T = 1, a rescale's (m − m')·S leaves float's range)
    name = "ent_hugeneg"
    r = rng_for(name)
    x = logits(r, 3, 2000, scale=2.0) + 3000.0
    x[:2, :600] = -3.0e38
    s, v = store(x, "f32")
    for kind, a in (("shannon", 0.0), ("renyi", 2.0)):
        for T in (0.7, 1.0):
            add_case(f"{name}_{kind}_T{str(T).replace('.', 'p')}", "entropy", s,
                     entropy_ref(log_probs(v, "logits", T), kind, a), kind=kind, alpha=a, T=T,
                     x_file=f"{name}.x.npy")

    # The same masking in both rows of each pair (and a row without it):
    # the KL family and JS of rows whose shifted logits (x − max)/T leave
    # float's range, finite in float64.  The AVX-512 loops take no clamp on
    # exp's argument and pass such rows to the double kernels; the value
    # must not notice.
    name = "div_hugeneg"
    r = rng_for(name)
    x = logits(r, 3, 2000, scale=2.0) + 3000.0
    y = x + r.normal(size=x.shape) * 0.5
    x[:2, :600] = -3.0e38
    y[:2, :600] = -3.0e38
    sx, vx = store(x, "f32")
    sy, vy = store(y, "f32")
    for T in (0.7, 1.0):
        lp, lq = log_probs(vx, "logits", T), log_probs(vy, "logits", T)
        for kind in ("kl", "reverse-kl", "jeffreys", "cross-entropy", "js"):
            e = divergence_ref(kind, lp, lq, 0.0, 0.5)
            add_case(f"{name}_{kind}_T{str(T).replace('.', 'p')}", "divergence", sx, e, kind=kind,
                     T=T, dtype_p="f32", dtype_q="f32", y=sy, x_file=f"{name}.x.npy",
                     y_file=f"{name}.y.npy")

    # V = 1
    name = "v1"
    r = rng_for(name)
    s, v = store(r.normal(size=(9, 1)) * 10, "f32")
    add_case(name + "_entropy", "entropy", s, np.zeros(9), kind="shannon", x_file=f"{name}.x.npy")
    add_case(name + "_renyi2", "entropy", s, np.zeros(9), kind="renyi", alpha=2.0,
             x_file=f"{name}.x.npy")
    add_case(name + "_lse", "lse", s, lse_ref(v, 1.0), x_file=f"{name}.x.npy")
    add_case(name + "_log_softmax", "log_softmax", s, np.zeros((9, 1)), x_file=f"{name}.x.npy")
    add_case(name + "_softmax", "softmax", s, np.ones((9, 1)), x_file=f"{name}.x.npy")
    add_case(name + "_kl", "divergence", s, np.zeros(9), kind="kl", y=store(r.normal(size=(9, 1)), "f32")[0],
             dtype_q="f32", x_file=f"{name}.x.npy")

    # batch of many short rows
    name = "batch_5000x7"
    r = rng_for(name)
    s, v = store(logits(r, 5000, 7, scale=2.0), "f32")
    add_case(name, "entropy", s, entropy_ref(log_probs(v, "logits", 1.0), "shannon", 0),
             kind="shannon")
    add_case(name + "_lse", "lse", s, lse_ref(v, 1.0), x_file=f"{name}.x.npy")

    # one 262144-wide row pair (shared by several ops)
    name = "wide"
    r = rng_for(name)
    s, v = store(logits(r, 2, 262144, scale=2.0), "f32")
    lpw = log_probs(v, "logits", 1.0)
    add_case(name + "_entropy", "entropy", s, entropy_ref(lpw, "shannon", 0), kind="shannon",
             x_file=f"{name}.x.npy")
    add_case(name + "_lse", "lse", s, lse_ref(v, 1.0), x_file=f"{name}.x.npy")
    add_case(name + "_renyi0p5", "entropy", s, entropy_ref(lpw, "renyi", 0.5), kind="renyi",
             alpha=0.5, x_file=f"{name}.x.npy")
    sq, vq = store(logits(r, 2, 262144, scale=1.5), "bf16")
    lqw = log_probs(vq, "logits", 1.0)
    save(f"{name}.y.npy", sq)
    for kind in ("kl", "js", "tv", "cauchy-schwarz"):
        e = divergence_ref(kind, lpw, lqw, 0.0, 0.5)
        crosscheck_divergence(kind, lpw, lqw, 0.5, e)
        add_case(f"{name}_{kind}", "divergence", s, e, kind=kind, dtype_q="bf16",
                 x_file=f"{name}.x.npy", y_file=f"{name}.y.npy")
    name = "wide_f16"
    r = rng_for(name)
    s, v = store(logits(r, 1, 262144, scale=3.0), "f16")
    add_case(name + "_log_softmax", "log_softmax", s, log_probs(v, "logits", 1.0), dtype_p="f16")

    # log_softmax / softmax
    for dt in ("f32", "f16", "bf16", "f64"):
        name = f"lsm_{dt}"
        r = rng_for(name)
        a0 = logits(r, 20, 45, scale=3.0)
        a0[r.random(a0.shape) < 0.1] = NEG_INF
        a0[:, 7] = 0.25
        s, v = store(a0, dt)
        lp = log_probs(v, "logits", 1.0)
        add_case(name, "log_softmax", s, lp, dtype_p=dt)
        add_case(name + "_softmax", "softmax", s, np.exp(lp), dtype_p=dt, x_file=f"{name}.x.npy")
    name = "lsm_temp_strided"
    r = rng_for(name)
    s, v = store(logits(r, 17, 31, scale=5.0), "f32")
    lp = log_probs(v, "logits", 0.6)
    add_case(name, "log_softmax", s, lp, T=0.6, stride_p=40)
    add_case(name + "_softmax", "softmax", s, np.exp(lp), T=0.6, stride_p=33,
             x_file=f"{name}.x.npy")
    name = "lsm_special"
    s, v = store(np.array(rows_special_logits()), "f32")
    lp = log_probs(v, "logits", 1.0)
    add_case(name, "log_softmax", s, lp)
    add_case(name + "_softmax", "softmax", s, np.exp(lp), x_file=f"{name}.x.npy")

    # strided entropy / lse
    name = "ent_strided"
    r = rng_for(name)
    s, v = store(logits(r, 25, 19, scale=2.0), "f32")
    add_case(name, "entropy", s, entropy_ref(log_probs(v, "logits", 1.0), "tsallis", 0.5),
             kind="tsallis", alpha=0.5, stride_p=24)
    add_case(name + "_lse", "lse", s, lse_ref(v, 1.0), stride_p=19 + 64, x_file=f"{name}.x.npy")


def rows_special_logits():
    V = 12
    return [
        np.full(V, -2.0),
        np.concatenate([[1e30], np.zeros(V - 1)]),
        np.concatenate([[-1e30], np.zeros(V - 1)]),
        np.concatenate([[3.0], np.full(V - 1, NEG_INF)]),
        np.linspace(-1e-30, 1e-30, V),
        np.linspace(-80, 80, V),
        np.where(np.arange(V) % 3 == 0, NEG_INF, np.linspace(-5, 5, V)),
    ]


def nll_cases():
    for dt, ldt in (("f32", np.int64), ("f16", np.int32), ("bf16", np.int64), ("f64", np.int32)):
        name = f"nll_{dt}"
        r = rng_for(name)
        B, V = 60, 23
        a0 = logits(r, B, V, scale=2.5)
        a0[3, :] = 0.0
        a0[5, 4] = NEG_INF            # label on a -inf logit -> +inf
        lab = r.integers(0, V, size=B)
        lab[5] = 4
        lab[[7, 19, 40]] = -100       # ignored rows
        lab[11] = V - 1
        lab[12] = 0
        s, v = store(a0, dt)
        T = 1.0 if dt != "f32" else 1.7
        lp = log_probs(v, "logits", T)
        e = np.array([0.0 if lab[b] == -100 else -lp[b, lab[b]] for b in range(B)])
        assert e[5] == np.inf
        add_case(name, "nll", s, e, labels=lab.astype(ldt), ignore=-100, dtype_p=dt, T=T)
    name = "nll_noignore"
    r = rng_for(name)
    s, v = store(logits(r, 30, 1000, scale=4.0), "f32")
    lab = r.integers(0, 1000, size=30)
    lp = log_probs(v, "logits", 1.0)
    add_case(name, "nll", s, -lp[np.arange(30), lab], labels=lab.astype(np.int64), stride_p=1003)
    name = "nll_ignore_valid_label"  # ignore index inside [0, V)
    r = rng_for(name)
    s, v = store(logits(r, 20, 5), "f32")
    lab = r.integers(0, 5, size=20)
    lp = log_probs(v, "logits", 1.0)
    e = np.where(lab == 2, 0.0, -lp[np.arange(20), lab])
    add_case(name, "nll", s, e, labels=lab.astype(np.int64), ignore=2)


DIV_KINDS = ["kl", "reverse-kl", "jeffreys", "cross-entropy", "js", "tv", "hellinger",
             "bhattacharyya", "chi2", "alpha", "renyi", "tsallis", "cauchy-schwarz"]
# Kinds whose identical rows give exactly +0: every kind at every order but
# cross-entropy (the entropy there).
EXACT0 = set(DIV_KINDS) - {"cross-entropy"}


def div_params(kind):
    if kind == "alpha":
        return [0.5, 2.0, 1.0, 0.0, 0.3]
    if kind == "renyi":
        return [0.5, 2.0, 1.0, np.inf]
    if kind == "tsallis":
        return [0.5, 2.0, 1.0]
    if kind == "js":
        return [0.5, 0.3]  # beta
    return [None]


def div_case(name, kind, par, sp, vp, sq, vq, p_input, q_input, dp, dq, T=1.0, **kw):
    alpha = par if (par is not None and kind != "js") else 0.0
    beta = par if kind == "js" else 0.5
    lp = log_probs(vp, p_input, T)
    lq = log_probs(vq, q_input, T)
    e = divergence_ref(kind, lp, lq, alpha, beta)
    crosscheck_divergence(kind, lp, lq, beta, e, alpha)
    add_case(name, "divergence", sp, e, kind=kind, alpha=alpha, beta=beta, T=T,
             p_input=p_input, q_input=q_input, dtype_p=dp, dtype_q=dq, y=sq, **kw)


def ptag(kind, par):
    if par is None:
        return ""
    return "_" + ("inf" if par == np.inf else str(par).replace(".", "p"))


def divergence_cases():
    # every kind and parameter: logits/logits, probs/probs with zeros, mixed
    for kind in DIV_KINDS:
        for par in div_params(kind):
            t = ptag(kind, par)
            name = f"div_{kind}{t}_logits"
            r = rng_for(name)
            ap = logits(r, 40, 33, scale=2.0)
            aq = ap + logits(r, 40, 33, scale=1.0)
            sp, vp = store(ap, "f32")
            sq, vq = store(aq, "f32")
            div_case(name, kind, par, sp, vp, sq, vq, "logits", "logits", "f32", "f32")

            name = f"div_{kind}{t}_probs"
            r = rng_for(name)
            pp = dirichlet(r, 40, 21, conc=0.7, zero_frac=0.15)
            qq = dirichlet(r, 40, 21, conc=0.7)
            # q has zeros only where p does in half of the rows (finite KL),
            # anywhere in the others (some +inf rows)
            qz = r.random(qq.shape) < 0.15
            qz[:20] &= pp[:20] == 0
            qq = np.where(qz, 0.0, qq)
            for b in range(40):
                if (qq[b] == 0).all():
                    qq[b, 0] = 0.5
            sp, vp = store(pp, "f32")
            sq, vq = store(qq, "f32")
            div_case(name, kind, par, sp, vp, sq, vq, "probs", "probs", "f32", "f32")

            name = f"div_{kind}{t}_mixed"
            r = rng_for(name)
            ap = logits(r, 16, 40, scale=1.5)
            qq = dirichlet(r, 16, 40, conc=2.0)
            sp, vp = store(ap, "bf16")
            sq, vq = store(qq, "f16")
            div_case(name, kind, par, sp, vp, sq, vq, "logits", "probs", "bf16", "f16",
                     stride_p=48, stride_q=41)

            name = f"div_{kind}{t}_identical"
            r = rng_for(name)
            ap = logits(r, 12, 18, scale=2.0)
            ap[2, 5:] = NEG_INF
            ap[4, :] = 0.0
            sp, vp = store(ap, "f32")
            lp = log_probs(vp, "logits", 1.0)
            alpha = par if (par is not None and kind != "js") else 0.0
            beta = par if kind == "js" else 0.5
            e = divergence_ref(kind, lp, lp, alpha, beta)
            if kind in EXACT0:
                e[:] = 0.0  # identical rows: exactly 0, never −0
                ex = 1
            else:
                ex = 0
            if kind == "cross-entropy":
                ex = 0
                e = entropy_ref(lp, "shannon", 0)
            add_case(name, "divergence", sp, e, kind=kind, alpha=alpha, beta=beta,
                     dtype_q="f32", y_file=f"{name}.x.npy", exact0=ex)

            name = f"div_{kind}{t}_disjoint"
            r = rng_for(name)
            V = 10
            pp = np.zeros((4, V))
            qq = np.zeros((4, V))
            pp[0, :5] = r.random(5) + 0.1
            qq[0, 5:] = r.random(5) + 0.1        # fully disjoint
            pp[1, :6] = r.random(6) + 0.1
            qq[1, 4:] = r.random(6) + 0.1        # overlap on 2
            pp[2, :3] = r.random(3) + 0.1
            qq[2, :] = r.random(V) + 0.1         # supp p inside supp q
            pp[3, :] = r.random(V) + 0.1
            qq[3, :3] = r.random(3) + 0.1        # supp q inside supp p
            sp, vp = store(pp, "f32")
            sq, vq = store(qq, "f32")
            div_case(name, kind, par, sp, vp, sq, vq, "probs", "probs", "f32", "f32")

    # JS with underflowing mixtures (fp32 probabilities far below the
    # smallest normal / subnormal), and JS at its maximum log 2
    name = "js_underflow"
    r = rng_for(name)
    V = 24
    ap = np.empty((6, V))
    aq = np.empty((6, V))
    ap[0] = np.linspace(0, -200, V)
    aq[0] = np.linspace(-200, 0, V)
    ap[1] = r.normal(size=V) - 100.0 * (np.arange(V) > 0)
    aq[1] = r.normal(size=V) - 100.0 * (np.arange(V) < V - 1)
    ap[2] = np.where(np.arange(V) < 12, 0.0, -95.0)
    aq[2] = np.where(np.arange(V) < 12, -95.0, 0.0)
    ap[3] = np.where(np.arange(V) == 0, 0.0, -120.0)
    aq[3] = np.where(np.arange(V) == 1, 0.0, -120.0)
    ap[4] = np.where(np.arange(V) < 12, 0.0, NEG_INF)
    aq[4] = np.where(np.arange(V) < 12, NEG_INF, 0.0)   # disjoint: log 2
    ap[5] = r.normal(size=V) * 40
    aq[5] = r.normal(size=V) * 40
    # a shared head with tails far below fp32's smallest subnormal
    ap = np.vstack([ap, np.concatenate([[0, -1.0], -90 - 5 * np.arange(V - 2)])[None],
                    np.concatenate([[0, -0.3, -2], -104 - np.arange(V - 3)])[None]])
    aq = np.vstack([aq, np.concatenate([[0, -1.5], -100 - 3 * np.arange(V - 2)])[None],
                    np.concatenate([[-0.2, 0, -3], -98 - 2 * np.arange(V - 3)])[None]])
    sp, vp = store(ap, "f32")
    sq, vq = store(aq, "f32")
    for beta in (0.5, 0.2):
        div_case(f"{name}_{str(beta).replace('.', 'p')}", "js", beta, sp, vp, sq, vq,
                 "logits", "logits", "f32", "f32")
    lp, lq = log_probs(vp, "logits", 1), log_probs(vq, "logits", 1)
    assert abs(divergence_ref("js", lp, lq, 0, 0.5)[4] - np.log(2)) < 1e-15

    # huge / tiny logits on both sides, temperature, all-equal rows
    name = "div_special"
    V = 8
    ap = np.array([np.concatenate([[1e30], np.zeros(V - 1)]),
                   np.full(V, 2.0),
                   np.full(V, 1e-30),
                   np.concatenate([[-1e30], np.ones(V - 1)]),
                   np.linspace(-3, 3, V)])
    aq = np.array([np.concatenate([[1e30], np.ones(V - 1)]),
                   np.full(V, -7.0),
                   np.linspace(-1e-30, 1e-30, V),
                   np.linspace(-3, 3, V),
                   np.concatenate([[-1e30], np.ones(V - 1)])])
    sp, vp = store(ap, "f32")
    sq, vq = store(aq, "f32")
    save(f"{name}.x.npy", sp)
    save(f"{name}.y.npy", sq)
    for kind in DIV_KINDS:
        for par in div_params(kind):
            for T in (1.0, 3.0):
                alpha = par if (par is not None and kind != "js") else 0.0
                beta = par if kind == "js" else 0.5
                lp = log_probs(vp, "logits", T)
                lq = log_probs(vq, "logits", T)
                e = divergence_ref(kind, lp, lq, alpha, beta)
                add_case(f"{name}_{kind}{ptag(kind, par)}_T{int(T)}", "divergence", sp, e,
                         kind=kind, alpha=alpha, beta=beta, T=T, dtype_q="f32",
                         x_file=f"{name}.x.npy", y_file=f"{name}.y.npy")

    # the power family over rows wider than a chunk: orders next to the
    # limits (where log Σ p^α q^{1−α} cancels), large orders on far-apart
    # rows (where p^α q^{1−α} overflows), temperatures a float does and does
    # not hold (0.5, 3)
    name = "div_power_wide"
    r = rng_for(name)
    V = 3000
    ap = logits(r, 6, V, scale=2.0)
    aq = ap + logits(r, 6, V, scale=0.05)      # close
    aq[2:4] = ap[2:4] + logits(r, 2, V, scale=1.0)
    aq[4:] = logits(r, 2, V, scale=6.0)         # far apart
    ap[5, 1700] = 40.0                          # a max that jumps mid-row
    sp, vp = store(ap, "f32")
    sq, vq = store(aq, "f32")
    save(f"{name}.x.npy", sp)
    save(f"{name}.y.npy", sq)
    for kind, pars in (("alpha", (0.9999, 1.0001, 1e-4, 7.0)), ("renyi", (0.9999, 1.0001, 40.0)),
                       ("tsallis", (0.9999, 1.0001, 0.3)), ("bhattacharyya", (None,)),
                       ("cauchy-schwarz", (None,))):
        for par in pars:
            for T in (1.0, 0.5, 3.0):
                alpha = par if par is not None else 0.0
                lp = log_probs(vp, "logits", T)
                lq = log_probs(vq, "logits", T)
                e = divergence_ref(kind, lp, lq, alpha, 0.5)
                if alpha < 10:  # the cross-check's p^α overflows
                    crosscheck_divergence(kind, lp, lq, 0.5, e, alpha)
                tag = ptag(kind, par).replace("0p0001", "1em4")
                add_case(f"{name}_{kind}{tag}_T{str(T).replace('.', 'p')}", "divergence", sp, e,
                         kind=kind, alpha=alpha, T=T, dtype_q="f32",
                         x_file=f"{name}.x.npy", y_file=f"{name}.y.npy")

    # f64 and f16 inputs on both sides, temperature on probs
    name = "div_kl_f64"
    r = rng_for(name)
    sp, vp = store(dirichlet(r, 30, 50, conc=0.4), "f64")
    sq, vq = store(dirichlet(r, 30, 50, conc=0.4), "f64")
    div_case(name, "kl", None, sp, vp, sq, vq, "probs", "probs", "f64", "f64")
    name = "div_js_f16_temp"
    r = rng_for(name)
    sp, vp = store(dirichlet(r, 30, 50, conc=0.4, zero_frac=0.1), "f16")
    sq, vq = store(logits(r, 30, 50, scale=2.0), "f16")
    div_case(name, "js", 0.5, sp, vp, sq, vq, "probs", "logits", "f16", "f16", T=1.8)
    name = "div_hellinger_batch"
    r = rng_for(name)
    sp, vp = store(dirichlet(r, 3000, 5, conc=1.0), "f32")
    sq, vq = store(dirichlet(r, 3000, 5, conc=1.0), "f32")
    div_case(name, "hellinger", None, sp, vp, sq, vq, "probs", "probs", "f32", "f32")


# ---------------------------------------------------------------- language-model rows

LM_NOISE = [0.0, 1e-4, 1e-3, 1e-2, 0.05, 0.3, 1.0]  # student's distance, by row


def lm_batch(rng, B, V, noise=LM_NOISE):
    """Teacher and student logits shaped like a language model's (docs/SPEC.md §1):
    a Zipf-like bias −1.2·log(rank) over a shuffled vocabulary, Gaussian
    noise of 2.5, 30% of rows with a top logit 25 above the rest; the
    student is the teacher plus noise of a size that cycles through `noise`
    by row (0: the same distribution), shifted by 0.5."""
    rank = np.argsort(rng.random((B, V)), axis=1) + 1.0
    p = -1.2 * np.log(rank) + rng.normal(0.0, 2.5, size=(B, V))
    confident = rng.random(B) < 0.3
    top = rng.integers(0, V, size=B)
    p[confident, top[confident]] = p[confident].max(axis=1) + 25.0
    size = np.array([noise[i % len(noise)] for i in range(B)])[:, None]
    return p, p + size * rng.normal(size=(B, V)) + 0.5


def every_divergence(name, sx, lp, lq, T, dt, xf, yf):
    """A case of every divergence kind at each of its parameters on the rows
    whose log-probabilities are lp, lq (inputs in files xf, yf)."""
    for kind in DIV_KINDS:
        for par in div_params(kind):
            alpha = par if (par is not None and kind != "js") else 0.0
            beta = par if kind == "js" else 0.5
            e = divergence_ref(kind, lp, lq, alpha, beta)
            add_case(f"{name}_{kind}{ptag(kind, par)}", "divergence", sx, e, kind=kind,
                     alpha=alpha, beta=beta, T=T, dtype_p=dt, dtype_q=dt, x_file=xf, y_file=yf)


def js_near_half(name, sx, lp, lq, T, dt, xf, yf):
    """JS at β = 0.45 and 0.55: β ≠ ½ within the range of the CPU's vector
    loop (src/cpu/kl_simd.h, ie__js_chunk), whose β = ½ has one weight."""
    for beta in (0.45, 0.55):
        add_case(f"{name}_js{ptag('js', beta)}", "divergence", sx,
                 divergence_ref("js", lp, lq, 0.0, beta), kind="js", beta=beta, T=T,
                 dtype_p=dt, dtype_q=dt, x_file=xf, y_file=yf)


def lm_cases():
    """Every row-wise op on language-model-like rows, in every input dtype:
    the rows where float sums cancel (peaky rows, near-identical p and q,
    whose KL is 1e-9 of its terms) and that the vectors above never drew."""
    for dt in ("f32", "bf16", "f16"):
        name = f"lm_{dt}"
        r = rng_for(name)
        a, b = lm_batch(r, 35, 3000)
        a[4, 2000] = a[4].max() + 60.0  # a max that jumps late in the row
        b[4, 2000] = a[4, 2000] + 0.5
        sx, vx = store(a, dt)
        sy, vy = store(b, dt)
        xf, yf = f"{name}.x.npy", f"{name}.y.npy"
        save(yf, sy)
        lab = r.integers(0, 3000, size=35)
        lab[::2] = np.argmax(vx[::2], axis=1)  # confident and right: NLL near 0
        for T in (1.0, 0.7):
            tt = str(T).replace(".", "p")
            lp, lq = log_probs(vx, "logits", T), log_probs(vy, "logits", T)
            add_case(f"{name}_T{tt}_lse", "lse", sx, lse_ref(vx, T), T=T, dtype_p=dt, x_file=xf)
            add_case(f"{name}_T{tt}_nll", "nll", sx, -lp[np.arange(35), lab],
                     labels=lab.astype(np.int64), T=T, dtype_p=dt, x_file=xf)
            for kind, al in (("shannon", 0.0), ("renyi", 2.0), ("renyi", 0.5), ("renyi", np.inf),
                             ("tsallis", 2.0), ("tsallis", 0.5)):
                add_case(f"{name}_T{tt}_ent_{kind}{ptag(kind, al if kind != 'shannon' else None)}",
                         "entropy", sx, entropy_ref(lp, kind, al), kind=kind, alpha=al, T=T,
                         dtype_p=dt, x_file=xf)
            every_divergence(f"{name}_T{tt}", sx, lp, lq, T, dt, xf, yf)
            js_near_half(f"{name}_T{tt}", sx, lp, lq, T, dt, xf, yf)
            # the rows whole: log-softmax at T = 0.7, softmax at 1 (f16 left
            # out for the vectors' size)
            if dt != "f16":
                if T == 0.7:
                    add_case(f"{name}_T{tt}_log_softmax", "log_softmax", sx, lp, T=T,
                             dtype_p=dt, x_file=xf)
                else:
                    add_case(f"{name}_T{tt}_softmax", "softmax", sx, np.exp(lp), T=T,
                             dtype_p=dt, x_file=xf)

    # The same rows as probabilities (softmax in float64, then rounded), every
    # divergence: TV, Hellinger, Bhattacharyya and χ² take the CPU's direct
    # path (src/cpu/rows.c, probs_row_direct), the others log p; and the
    # rows against themselves, exactly +0 for every kind but cross-entropy
    for dt in ("f32", "bf16"):
        name = f"lm_probs_{dt}"
        r = rng_for(name)
        a, b = lm_batch(r, 24, 3000)
        pa = np.exp(a - a.max(axis=1, keepdims=True))
        pb = np.exp(b - b.max(axis=1, keepdims=True))
        sx, vx = store(pa / pa.sum(axis=1, keepdims=True), dt)
        sy, vy = store(pb / pb.sum(axis=1, keepdims=True), dt)
        xf, yf = f"{name}.x.npy", f"{name}.y.npy"
        save(yf, sy)
        lp, lq = log_probs(vx, "probs", 1.0), log_probs(vy, "probs", 1.0)
        for kind, al in (("shannon", 0.0), ("renyi", 2.0), ("renyi", np.inf), ("tsallis", 0.5)):
            add_case(f"{name}_ent_{kind}{ptag(kind, al if kind != 'shannon' else None)}",
                     "entropy", sx, entropy_ref(lp, kind, al), kind=kind, alpha=al,
                     p_input="probs", dtype_p=dt, x_file=xf)
        for kind in DIV_KINDS:
            for par in div_params(kind):
                alpha = par if (par is not None and kind != "js") else 0.0
                beta = par if kind == "js" else 0.5
                tag = f"{kind}{ptag(kind, par)}"
                add_case(f"{name}_{tag}", "divergence", sx,
                         divergence_ref(kind, lp, lq, alpha, beta), kind=kind, alpha=alpha,
                         beta=beta, p_input="probs", q_input="probs", dtype_p=dt, dtype_q=dt,
                         x_file=xf, y_file=yf)
                if dt == "f32" and kind in EXACT0:
                    add_case(f"{name}_same_{tag}", "divergence", sx, np.zeros(24), kind=kind,
                             alpha=alpha, beta=beta, p_input="probs", q_input="probs",
                             dtype_p=dt, dtype_q=dt, x_file=xf, y_file=xf, exact0=1)

    # Unnormalised probability rows whose sums are far apart (1e-9 to 1e4),
    # p's largest entry zeroed in some rows (p̂ ≪ m̂ where q has its mass):
    # p̂ − q̂ and the ratios lose digits there unless formed with care
    name = "lm_probs_scaled_f32"
    r = rng_for(name)
    a, b = lm_batch(r, 12, 3000)
    pa = np.exp(a - a.max(axis=1, keepdims=True))
    pb = np.exp(b - b.max(axis=1, keepdims=True))
    pa[::3, :] *= 1.0 / pa[::3].max(axis=1, keepdims=True)
    pa[np.arange(0, 12, 2), np.argmax(pa[::2], axis=1)] = 0.0
    # (the GPU kernels once took log x in float, off by |log x|·6e-8: row 5,
    # p at 1e-6 and q at 1e3, put α = ½ at 1.2 times the tolerance); and
    # the entropies, and two kinds at T = 0.7, of the same rows
    pa *= (10.0 ** np.array([-9, -3, 0, 2, 4, -6] * 2))[:, None]
    pb *= (10.0 ** np.array([0, 4, -9, 1, -2, 3] * 2))[:, None]
    sx, vx = store(pa, "f32")
    sy, vy = store(pb, "f32")
    xf, yf = f"{name}.x.npy", f"{name}.y.npy"
    save(yf, sy)
    lp, lq = log_probs(vx, "probs", 1.0), log_probs(vy, "probs", 1.0)
    for kind in DIV_KINDS:
        for par in div_params(kind):
            alpha = par if (par is not None and kind != "js") else 0.0
            beta = par if kind == "js" else 0.5
            add_case(f"{name}_{kind}{ptag(kind, par)}", "divergence", sx,
                     divergence_ref(kind, lp, lq, alpha, beta), kind=kind, alpha=alpha,
                     beta=beta, p_input="probs", q_input="probs", dtype_p="f32",
                     dtype_q="f32", x_file=xf, y_file=yf)
    for kind, al in (("shannon", 0.0), ("renyi", 2.0), ("renyi", np.inf), ("tsallis", 0.5)):
        add_case(f"{name}_ent_{kind}{ptag(kind, al if kind != 'shannon' else None)}",
                 "entropy", sx, entropy_ref(lp, kind, al), kind=kind, alpha=al,
                 p_input="probs", dtype_p="f32", x_file=xf)
    T = 0.7
    lpt, lqt = log_probs(vx, "probs", T), log_probs(vy, "probs", T)
    for kind, al in (("kl", 0.0), ("alpha", 0.5)):
        add_case(f"{name}_T0.7_{kind}", "divergence", sx,
                 divergence_ref(kind, lpt, lqt, al, 0.5), kind=kind, alpha=al, T=T,
                 p_input="probs", q_input="probs", dtype_p="f32", dtype_q="f32",
                 x_file=xf, y_file=yf)

    # Logits of very different scale or offset: a teacher's rows against a
    # student's taken x1000, x300, x30, x3 or x1e28 (and the other way), or
    # shifted by 70, at T = 1, 0.05 and 1e-3 (where both rows are one-hot).
    # p − q rounded in float was the KL family's and Bhattacharyya's error
    # on the CPU (5e-3 where the value is 0) and the GPU kernels' (8 times
    # the tolerance); the GPU far terms' δ in double kept no digit of the
    # gaps near 1e30 (the power family gave 0 for 2.8).
    name = "lm_scale_apart_f32"
    r = rng_for(name)
    a, b = lm_batch(r, 14, 3000)
    a *= np.array([1000, 1, 300, 1, 3, 1, 1, 1000, 1, 30, 1, 1, 1e28, 1])[:, None]
    b *= np.array([1, 1000, 1, 300, 1, 3, 1, 1, 30, 1, 1, 1, 1, 1e25])[:, None]
    b[6] += 70.0
    b[10] -= 70.0
    sx, vx = store(a, "f32")
    sy, vy = store(b, "f32")
    xf, yf = f"{name}.x.npy", f"{name}.y.npy"
    save(yf, sy)
    for T in (1.0, 0.05, 1e-3):
        tt = f"{T:g}".replace(".", "p").replace("-", "m")
        every_divergence(f"{name}_T{tt}", sx, log_probs(vx, "logits", T),
                         log_probs(vy, "logits", T), T, "f32", xf, yf)

    # Logits past float's range from each other: entries of ±3e38 (masks
    # written as a huge finite value, rows scaled to 3e38) whose differences
    # and gaps to the max are no float.  The float kernels took such an
    # entry as probability 0, and a KL, cross-entropy or NLL of it as +inf,
    # where the value in double is finite (1e37 to 1e40 here).
    name = "logits_past_float_f32"
    r = rng_for(name)
    a, b = lm_batch(r, 8, 400)
    a[0, :5] = -3e38
    a[1, 0], a[1, 1:4], b[1, 0] = 3e38, -3e38, 3e38
    b[2, 10:20], a[2, 10] = -3.4e38, 3e38
    a[3] *= 3e38 / np.abs(a[3]).max()
    b[3] *= 2e38 / np.abs(b[3]).max()
    a[4, ::7], a[4, 3] = -3e38, 3e38
    b[4] = a[4]
    b[6, :3], a[6, 100] = 3e38, -3e38
    a[7, 0], b[7, 0] = -3e38, 3e38
    sx, vx = store(a, "f32")
    sy, vy = store(b, "f32")
    xf, yf = f"{name}.x.npy", f"{name}.y.npy"
    save(yf, sy)
    lab = np.array([0, 1, 10, 5, 7, 9, 100, 0], dtype=np.int64)
    for T in (1.0, 0.1, 3.0):
        tt = f"{T:g}".replace(".", "p")
        lp, lq = log_probs(vx, "logits", T), log_probs(vy, "logits", T)
        every_divergence(f"{name}_T{tt}", sx, lp, lq, T, "f32", xf, yf)
        for kind, al in (("shannon", 0.0), ("renyi", 2.0), ("renyi", 0.5), ("tsallis", 2.0)):
            add_case(f"{name}_T{tt}_ent_{kind}{ptag(kind, al) if al else ''}", "entropy", sx,
                     entropy_ref(lp, kind, al), kind=kind, alpha=al, T=T, x_file=xf)
        add_case(f"{name}_T{tt}_nll", "nll", sx, -lp[np.arange(8), lab], labels=lab, T=T, x_file=xf)
        add_case(f"{name}_T{tt}_lse", "lse", sx, lse_ref(vx, T), T=T, x_file=xf)
    # At T = 1e-20 cross-entropy reaches 6e58 here, past the GPU kernels'
    # B kept in float times 2^-64 (+inf before ROWS_B_RAW_IT).
    lp, lq = log_probs(vx, "logits", 1e-20), log_probs(vy, "logits", 1e-20)
    for kind in ("cross-entropy", "kl", "jeffreys"):
        add_case(f"{name}_T1em20_{kind}", "divergence", sx, divergence_ref(kind, lp, lq, 0.0, 0.5),
                 kind=kind, T=1e-20, dtype_p="f32", dtype_q="f32", x_file=xf, y_file=yf)

    # Probabilities whose float log's error (|log|·6e-8) the far terms
    # multiply: against logits at T = 1e-3 and 0.05 (χ² near 1e130 was 3e-5
    # off on the GPU kernels), and at high orders at T = 1 (order 10: 8e-6,
    # 0.8 of the tolerance).  p as probabilities (softmax times 10^k), q
    # as logits or probabilities.
    name = "probs_far_gain_f32"
    r = rng_for(name)
    a, b = lm_batch(r, 12, 700)
    b[::3] = lm_batch(r, 4, 700)[0]  # far rows: another teacher
    pa = np.exp(a - a.max(axis=1, keepdims=True))
    pa *= 10.0 ** r.integers(-25, 5, size=(12, 1)) / pa.sum(axis=1, keepdims=True)
    pb = np.exp(b - b.max(axis=1, keepdims=True))
    pb *= 10.0 ** r.integers(-25, 5, size=(12, 1)) / pb.sum(axis=1, keepdims=True)
    sx, vx = store(pa, "f32")
    sy, vy = store(b, "f32")
    sz, vz = store(pb, "f32")
    xf, yf, zf = f"{name}.x.npy", f"{name}.y.npy", f"{name}.z.npy"
    save(yf, sy)
    save(zf, sz)
    for T, qin, qs, qv, qf in ((1e-3, "logits", sy, vy, yf), (0.05, "logits", sy, vy, yf),
                               (1.0, "logits", sy, vy, yf), (1.0, "probs", sz, vz, zf)):
        tt = f"{T:g}".replace(".", "p").replace("-", "m")
        lp, lq = log_probs(vx, "probs", T), log_probs(qv, qin, T)
        for kind, al in (("chi2", 0.0), ("alpha", 10.0), ("tsallis", 10.0), ("renyi", 10.0),
                         ("alpha", 2.0), ("alpha", -3.0), ("kl", 0.0), ("js", 0.0)):
            add_case(f"{name}_{qin}_T{tt}_{kind}{ptag(kind, al) if al else ''}", "divergence", sx,
                     divergence_ref(kind, lp, lq, al, 0.5), kind=kind, alpha=al, T=T,
                     p_input="probs", q_input=qin, dtype_p="f32", dtype_q="f32", x_file=xf,
                     y_file=qf)

    # Rows of subnormal probabilities (every entry below float's normal range,
    # or some): the GPU kernels take log(x/m) and fall back to double logs
    # where the ratio is not a normal float
    name = "probs_subnormal_f32"
    r = rng_for(name)
    pa, pb = r.random((4, 500)) * 1e-39, r.random((4, 500)) * 1e-39
    pa[1] *= 1e30
    pb[2, :250] = 0.0
    pa[3, ::2] *= 1e36
    sx, vx = store(pa, "f32")
    sy, vy = store(pb, "f32")
    xf, yf = f"{name}.x.npy", f"{name}.y.npy"
    save(yf, sy)
    lp, lq = log_probs(vx, "probs", 1.0), log_probs(vy, "probs", 1.0)
    for kind, al in (("kl", 0.0), ("js", 0.0), ("tv", 0.0), ("hellinger", 0.0), ("chi2", 0.0),
                     ("alpha", 0.5), ("renyi", np.inf), ("cross-entropy", 0.0)):
        add_case(f"{name}_{kind}", "divergence", sx, divergence_ref(kind, lp, lq, al, 0.5),
                 kind=kind, alpha=al, p_input="probs", q_input="probs", dtype_p="f32",
                 dtype_q="f32", x_file=xf, y_file=yf)
    add_case(f"{name}_ent_shannon", "entropy", sx, entropy_ref(lp, "shannon", 0.0),
             kind="shannon", p_input="probs", dtype_p="f32", x_file=xf)

    # One wide row (and two): softmax splits a row over its threads where a
    # batch has fewer rows than threads; the max in the second half
    for dt in ("f32", "bf16"):
        name = f"lm_wide_{dt}"
        r = rng_for(name)
        a, _ = lm_batch(r, 2, 50000)
        a[0, 41000] = a[0].max() + 9.0
        sx, vx = store(a[:1], dt)
        lp = log_probs(vx, "logits", 0.7)
        add_case(f"{name}_log_softmax", "log_softmax", sx, lp, T=0.7, dtype_p=dt,
                 x_file=f"{name}.x.npy")
        add_case(f"{name}_softmax", "softmax", sx, np.exp(lp), T=0.7, dtype_p=dt,
                 x_file=f"{name}.x.npy")
        add_case(f"{name}_lse", "lse", sx, lse_ref(vx, 0.7), T=0.7, dtype_p=dt,
                 x_file=f"{name}.x.npy")

    # Far rows: q another row's student, so that a peaky row meets one whose
    # peak is elsewhere (terms e^{±35} apart at T = 0.7): the power family's
    # large |(1 − α)δ|, χ² past float's range, references far from C
    for dt in ("f32", "f16"):
        name = f"lm_far_{dt}"
        r = rng_for(name)
        a, b = lm_batch(r, 8, 16000)
        b = b[::-1].copy()
        sx, vx = store(a, dt)
        sy, vy = store(b, dt)
        xf, yf = f"{name}.x.npy", f"{name}.y.npy"
        save(yf, sy)
        for T in (1.0, 0.7):
            tt = str(T).replace(".", "p")
            lp, lq = log_probs(vx, "logits", T), log_probs(vy, "logits", T)
            every_divergence(f"{name}_T{tt}", sx, lp, lq, T, dt, xf, yf)
            js_near_half(f"{name}_T{tt}", sx, lp, lq, T, dt, xf, yf)

    # One such pair (row 6 of a 64-row draw, f16, T = 0.7; its χ² 6.3e27)
    # whose sums are finite on the first read and pass float's range on the
    # second, against the final reference: a row for the double kernels
    a, b = lm_batch(np.random.default_rng(1005), 64, 32000)
    sx, vx = store(a[6:7], "f16")
    sy, vy = store(b[57:58], "f16")
    save("lm_far_again.y.npy", sy)
    lp, lq = log_probs(vx, "logits", 0.7), log_probs(vy, "logits", 0.7)
    for kind, par in (("chi2", None), ("alpha", 2.0), ("renyi", 2.0), ("tsallis", 2.0)):
        e = divergence_ref(kind, lp, lq, par or 0.0, 0.5)
        add_case(f"lm_far_again_{kind}{ptag(kind, par)}", "divergence", sx, e, kind=kind,
                 alpha=par or 0.0, T=0.7, dtype_p="f16", dtype_q="f16",
                 x_file="lm_far_again.x.npy", y_file="lm_far_again.y.npy")

    # A row whose q's max rises by 29 at its eleventh chunk of 512 (T = 2:
    # 14.6 after the temperature, bf16): the CPU keeps such a chunk's sums
    # and scales its stored exps to the new max (src/cpu/rows.c,
    # rise_in_place); stored against the old one, TV's p − q cancelled
    a, b = lm_batch(np.random.default_rng(1010), 64, 32000, noise=LM_NOISE + [0.0])
    sx, vx = store(a[16:17], "bf16")
    sy, vy = store(b[::-1][16:17], "bf16")
    save("lm_rise.y.npy", sy)
    lp, lq = log_probs(vx, "logits", 2.0), log_probs(vy, "logits", 2.0)
    every_divergence("lm_rise", sx, lp, lq, 2.0, "bf16", "lm_rise.x.npy", "lm_rise.y.npy")

    # A term past float's range from an entry far below both maxima (p 116
    # and q 416 below theirs: p²/q = e^{184} of the row): no float sum holds
    # it, whatever the ISA's exp does below e^−88
    a = np.full((2, 45), -1.0)
    a[:, 1:] -= np.linspace(0, 3, 44)
    b = a.copy()
    a[:, 20], b[:, 20] = -116.0, -416.0
    b[1] = b[1, ::-1]  # (row 1: the far entry of q elsewhere)
    sx, vx = store(a, "f32")
    sy, vy = store(b, "f32")
    save("far_tail.y.npy", sy)
    lp, lq = log_probs(vx, "logits", 1.0), log_probs(vy, "logits", 1.0)
    for kind, par in (("chi2", None), ("alpha", 2.0), ("renyi", 2.0), ("kl", None)):
        e = divergence_ref(kind, lp, lq, par or 0.0, 0.5)
        add_case(f"far_tail_{kind}{ptag(kind, par)}", "divergence", sx, e, kind=kind,
                 alpha=par or 0.0, dtype_q="f32", x_file="far_tail.x.npy", y_file="far_tail.y.npy")

    # Masked vocabulary (-inf entries: the general kernels) and p = q
    # exactly (every kind that vanishes there gives exactly 0)
    name = "lm_masked"
    r = rng_for(name)
    a, b = lm_batch(r, 21, 2500)
    a[:, 2400:] = NEG_INF
    b[:, 2400:] = NEG_INF
    a[3::4, 7::9] = NEG_INF
    b[3::4, 7::9] = NEG_INF
    sx, vx = store(a, "f32")
    sy, vy = store(b, "f32")
    save(f"{name}.y.npy", sy)
    lp, lq = log_probs(vx, "logits", 0.7), log_probs(vy, "logits", 0.7)
    lab = np.argmax(vx, axis=1)
    add_case(f"{name}_nll", "nll", sx, -lp[np.arange(21), lab], labels=lab.astype(np.int64),
             T=0.7, x_file=f"{name}.x.npy")
    add_case(f"{name}_shannon", "entropy", sx, entropy_ref(lp, "shannon", 0), kind="shannon",
             T=0.7, x_file=f"{name}.x.npy")
    add_case(f"{name}_log_softmax", "log_softmax", sx, lp, T=0.7, x_file=f"{name}.x.npy")
    add_case(f"{name}_softmax", "softmax", sx, np.exp(lp), T=0.7, x_file=f"{name}.x.npy")
    every_divergence(name, sx, lp, lq, 0.7, "f32", f"{name}.x.npy", f"{name}.y.npy")
    for kind in [k for k in DIV_KINDS if k in EXACT0]:  # p = q: exactly 0
        for par in div_params(kind):
            alpha = par if (par is not None and kind != "js") else 0.0
            beta = par if kind == "js" else 0.5
            add_case(f"{name}_{kind}{ptag(kind, par)}_same", "divergence", sx, np.zeros(21),
                     kind=kind, alpha=alpha, beta=beta, T=0.7, dtype_q="f32",
                     x_file=f"{name}.x.npy", y_file=f"{name}.x.npy", exact0=1)


# ---------------------------------------------------------------- io fixtures


def io_fixtures():
    d = os.path.join(OUT, "io")
    os.makedirs(d, exist_ok=True)
    r = np.random.default_rng(SEED0 - 1)
    a = r.normal(size=(3, 5))
    arrays = {
        "f2": a.astype(np.float16), "f4": a.astype(np.float32), "f8": a,
        "i4": (a * 100).astype(np.int32), "i8": (a * 1e6).astype(np.int64),
        "u1": (np.abs(a) * 50).astype(np.uint8), "b1": a > 0,
    }
    for k, v in arrays.items():
        np.save(os.path.join(d, f"{k}.npy"), v)
        # the same values as raw little-endian bytes, for the C test to compare
        with open(os.path.join(d, f"{k}.raw"), "wb") as f:
            f.write(v.tobytes())
    from numpy.lib import format as npf
    for ver in ((2, 0), (3, 0)):
        with open(os.path.join(d, f"v{ver[0]}.npy"), "wb") as f:
            npf.write_array(f, arrays["f4"], version=ver)
    np.save(os.path.join(d, "fortran.npy"), np.asfortranarray(arrays["f4"]))
    np.save(os.path.join(d, "fortran_1d.npy"), np.asfortranarray(arrays["f4"][0]))  # C == F
    np.save(os.path.join(d, "bigendian.npy"), arrays["f4"].astype(">f4"))
    np.save(os.path.join(d, "complex.npy"), a.astype(np.complex64))
    np.save(os.path.join(d, "structured.npy"), np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    np.save(os.path.join(d, "scalar.npy"), np.float32(2.5))
    np.save(os.path.join(d, "empty.npy"), np.zeros((0, 7), np.float32))
    good = open(os.path.join(d, "f4.npy"), "rb").read()
    with open(os.path.join(d, "truncated_data.npy"), "wb") as f:
        f.write(good[:-7])
    with open(os.path.join(d, "truncated_header.npy"), "wb") as f:
        f.write(good[:40])
    with open(os.path.join(d, "tiny.npy"), "wb") as f:
        f.write(good[:4])
    bad = bytearray(good)
    bad[8] = 0xF0  # header length beyond the file
    bad[9] = 0xFF
    with open(os.path.join(d, "hlen_beyond.npy"), "wb") as f:
        f.write(bad)
    # shape whose element count overflows 64 bits
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }"
    hdr = hdr + " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
    with open(os.path.join(d, "shape_overflow.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + b"\0" * 64)
    # a garbage header
    hdr = "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3, 5), }"
    hdr = hdr + " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
    with open(os.path.join(d, "bad_header.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + good[128:])

    # .safetensors, written by hand (8-byte LE length, JSON, data)
    def st(fname, tensors, meta=None, hdr_override=None, cut=0, pad=True):
        header = {}
        if meta is not None:
            header["__metadata__"] = meta
        blob = b""
        for name, (dt, arr) in tensors.items():
            raw = arr.tobytes()
            header[name] = {"dtype": dt, "shape": list(arr.shape),
                            "data_offsets": [len(blob), len(blob) + len(raw)]}
            blob += raw
        if hdr_override is not None:
            hdr_override(header)
        h = json.dumps(header).encode()
        if pad:
            h += b" " * ((8 - len(h) % 8) % 8)
        data = struct.pack("<Q", len(h)) + h + blob
        if cut:
            data = data[:-cut]
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)

    bf = bf16_bits(arrays["f4"])
    lab = np.array([3, 1, 4, 1, 5], dtype=np.int64)
    good_t = {"logits": ("F32", arrays["f4"]), "half": ("F16", arrays["f2"]),
              "brain": ("BF16", bf), "dbl": ("F64", arrays["f8"]),
              "i32": ("I32", arrays["i4"]), "labels": ("I64", lab),
              "u8": ("U8", arrays["u1"]), "weird \"name\" é": ("F32", arrays["f4"][:1]),
              "mask": ("BOOL", arrays["b1"])}  # last: truncated.safetensors cuts into it
    st("good.safetensors", good_t, meta={"format": "pt", "note": "a \\ b \u00e9 \ud83d\ude00"})
    with open(os.path.join(d, "brain.raw"), "wb") as f:
        f.write(bf.tobytes())
    st("single.safetensors", {"only": ("F32", arrays["f4"])})
    st("truncated.safetensors", good_t, cut=5)
    with open(os.path.join(d, "good.safetensors"), "rb") as f:
        g = f.read()
    with open(os.path.join(d, "hlen_beyond.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(g) + 100) + g[8:])
    with open(os.path.join(d, "short.safetensors"), "wb") as f:
        f.write(g[:5])
    with open(os.path.join(d, "badjson.safetensors"), "wb") as f:
        h = b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},,}'
        f.write(struct.pack("<Q", len(h)) + h + b"\0\0\0\0")

    def mism(h):
        h["logits"]["data_offsets"][1] -= 4
    st("offsets_mismatch.safetensors", good_t, hdr_override=mism)

    def beyond(h):
        n = h["logits"]["data_offsets"]
        h["logits"]["data_offsets"] = [n[0] + 10**6, n[1] + 10**6]
    st("offsets_beyond.safetensors", good_t, hdr_override=beyond)

    def ovf(h):
        h["logits"]["shape"] = [2**40, 2**40, 2**10]
    st("shape_overflow.safetensors", good_t, hdr_override=ovf)

    def neg(h):
        h["logits"]["shape"] = [-3, 5]
    st("shape_negative.safetensors", good_t, hdr_override=neg)

    def f8(h):
        h["logits"]["dtype"] = "F8_E4M3"
    st("dtype_unsupported.safetensors", good_t, hdr_override=f8)


# ---------------------------------------------------------------- main


def main():
    # -inf arithmetic in unused np.where branches is expected; every
    # expected value is checked for NaN in add_case instead.
    np.seterr(all="ignore")
    os.makedirs(OUT, exist_ok=True)
    # Remove only what the previous run of this script wrote (the files its
    # MANIFEST names): tests/vectors/ is shared with other generators.
    old = os.path.join(OUT, "MANIFEST")
    if os.path.exists(old):
        with open(old) as f:
            for line in f:
                for tok in line.split()[2:]:
                    k, _, v = tok.partition("=")
                    if k in ("x", "y", "labels", "expect") and v != "-" and "/" not in v:
                        try:
                            os.remove(os.path.join(OUT, v))
                        except FileNotFoundError:
                            pass
    single_ops()
    nll_cases()
    divergence_cases()
    lm_cases()
    io_fixtures()
    names = [m.split()[1] for m in MANIFEST]
    assert len(names) == len(set(names)), "duplicate case names"
    with open(os.path.join(OUT, "MANIFEST"), "w") as f:
        f.write("# infoest test vectors: written by tests/gen_vectors.py; do not edit.\n")
        f.write("\n".join(MANIFEST) + "\n")
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, x)) for x in files)
    print(f"{len(MANIFEST)} cases, {total / 1e6:.2f} MB in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
