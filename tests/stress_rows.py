#!/usr/bin/env python3
"""Randomized stress test of the row-wise commands on language-model-like
logits, against float64 NumPy/SciPy references (tests/gen_vectors.py).

    stress_rows.py INFOEST [--backends cpu,opencl] [--seeds N] [--rows B] [--cols V]
                   [--extreme | --probs | --apart | --f64]

Each seed draws a batch the way a language model's logits look (docs/SPEC.md §1): a
Zipf-like bias −1.2·log(rank) over a shuffled vocabulary, Gaussian noise of
2.5, a share of confident rows whose top logit stands 25 above the rest,
and a student q that is a noisy copy of the teacher p shifted by 0.5, from
identical rows (noise 0) through near-identical ones to far ones.  Inputs
are f32, f16 or bf16 at temperatures 1, 0.7, 2 and 3.  Every divergence kind,
the three entropies and the NLL are run through `infoest ... --out` on each
backend and compared row by row: within 1e-5 relative or 1e-6 absolute,
never negative (divergences, entropies), and exactly 0 for identical rows
of the kinds docs/SPEC.md says vanish there.  Exits 1 on the first seed with a
mismatch, printing every bad row of it; a backend the build lacks, or that
has no device here, is skipped with a message.

--extreme draws the same rows scaled far beyond a language model's logits
(x250, x1e4 and x2.5e28, f32, T = 1 and 0.7; docs/SPEC.md §1: the tolerance
holds on every input): orders above 1 then meet q far below p, the power
sums underflow a float, and the values reach 1e28.

--apart draws rows of very different scale: one side of each row times
10^u, u uniform in [0, 4], and half the students shifted by ±70 (f32, T = 1,
0.05 and 1e-3): the maxima then lie up to 1e7 temperatures apart, where
p − q rounded in float had been more than the tolerance.

--f64 draws the same rows in float64, scaled x1, x1e4, x1e150, x1e305 and
up to 1.7e308 (T = 1, 0.7, 2, 3; the largest scale at T = 1, where a row's
gaps pass double's range and such an entry is a probability 0, as in the
float64 references): the CPU's double kernels (the other backends take
float64 as float32, and are skipped).

--probs gives the divergences and entropies the same rows as probabilities
(`--input probs`): softmax in float64, each row then multiplied by its own
10^u, u uniform in [−12, 6] (rows of counts, rows summing to 1e-12; f16,
whose range is narrower: [−2, 4]), some
entries of p or q zeroed, and in some rows p's largest; f32, f16 or bf16
at T = 1 (the CPU's direct path), 0.7, 2, 3 and 1e-3.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_vectors as gv  # noqa: E402  (the references, float64)

KINDS = [("kl", None), ("reverse-kl", None), ("jeffreys", None), ("cross-entropy", None),
         ("js", None), ("tv", None), ("hellinger", None), ("bhattacharyya", None),
         ("chi2", None), ("alpha", 0.5), ("alpha", 2.0), ("renyi", 0.5), ("renyi", 2.0),
         ("renyi", np.inf), ("renyi", 0.999), ("alpha", 0.01), ("tsallis", 0.5),
         ("tsallis", 2.0), ("cauchy-schwarz", None)]
# Orders near 1 and large ones take either branch of rows_log_power_sum.
ENTROPIES = [("shannon", None), ("renyi", 2.0), ("renyi", 0.5), ("tsallis", 2.0),
             ("renyi", 0.999), ("renyi", 20.0), ("tsallis", 1.001)]

EXTREME_SCALES = [250.0, 1e4, 2.5e28]  # --extreme: logits times these, by seed
APART_TEMPS = [1.0, 0.05, 1e-3]  # --apart: by seed
F64_SCALES = [1.0, 1e4, 1e150, 1e305, np.inf]  # --f64, by seed (inf: to 1.7e308)


def lm_batch(rng, B, V):
    """gen_vectors.lm_batch, with every eighth row's student the teacher
    itself."""
    p, q = gv.lm_batch(rng, B, V, noise=gv.LM_NOISE + [0.0])
    q[::8] = p[::8]
    return p, q


def div_ref(kind, par, lp, lq, raw=None):
    if kind == "renyi" and np.isinf(par) and raw is not None:
        # max over p's support of lp − lq from two logit rows a, b at T:
        # ((a − b) − (ma − mb))/T − (La − Lb), the differences exact in
        # float64, so that logits near 1e29 (whose a/T carry 1e13) give
        # the value to its last digits
        # (float64 logits whose gaps pass double's range: such an entry is
        # a probability 0, docs/SPEC.md §1; where a − b overflows, the
        # difference in halves)
        a, b, T = raw
        ma, mb = a.max(axis=1, keepdims=True), b.max(axis=1, keepdims=True)
        zero_p, zero_q = np.isneginf(a - ma), np.isneginf(b - mb)
        la = gv.logsumexp((a - ma) / T, axis=1)
        lb = gv.logsumexp((b - mb) / T, axis=1)
        d = ((a - b) - (ma - mb)) / T
        halves = ((a / 2 - b / 2) - (ma / 2 - mb / 2)) * (2 / T)
        d = np.where(np.isfinite(d), d, halves)
        d = np.where(zero_q, np.inf, d)
        d = np.where(zero_p, -np.inf, d)
        return d.max(axis=1) - (la - lb)
    if kind in ("alpha", "renyi", "tsallis") and np.isfinite(par):
        # every entry finite: log Σ p^a q^(1-a) directly
        L = gv.logsumexp(par * lp + (1.0 - par) * lq, axis=1)
        return {"renyi": L / (par - 1.0), "tsallis": np.expm1(L) / (par - 1.0),
                "alpha": -np.expm1(L) / (par * (1.0 - par))}[kind]
    beta = par if kind == "js" and par is not None else 0.5
    return gv.divergence_ref(kind, lp, lq, par if par is not None else 0.0, beta)


def as_probs(rng, a, b, dt):
    """Logit rows a, b as unnormalised probability rows of dtype dt (see --probs).
    Row i's p and q keep one scale where i % 8 == 0, so that identical
    student rows stay identical."""
    B, V = a.shape
    pa = np.exp(a - a.max(axis=1, keepdims=True))
    pb = np.exp(b - b.max(axis=1, keepdims=True))
    lo, hi = (-2, 4) if dt == "f16" else (-12, 6)
    sa = 10.0 ** rng.uniform(lo, hi, size=(B, 1))
    sb = np.where(np.arange(B)[:, None] % 8 == 0, sa, 10.0 ** rng.uniform(lo, hi, size=(B, 1)))
    pa, pb = pa * sa, pb * sb
    whole_a, whole_b = pa.copy(), pb.copy()
    for i in range(B):
        if i % 8 == 0:
            continue
        if i % 5 == 1:  # q = 0 < p somewhere: KL, χ² and others +inf
            pb[i, rng.choice(V, V // 100, replace=False)] = 0.0
        elif i % 5 == 2:  # p = 0 < q somewhere
            pa[i, rng.choice(V, V // 100, replace=False)] = 0.0
        elif i % 5 == 3:  # p's mass elsewhere than q's
            pa[i, np.argmax(pa[i])] = 0.0
        # no empty rows: the rest of a confident f16 row is below f16's range
        if not (gv.store(pa[i:i + 1], dt)[1] > 0).any():
            pa[i] = whole_a[i]
        if not (gv.store(pb[i:i + 1], dt)[1] > 0).any():
            pb[i] = whole_b[i]
    return pa, pb


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stderr.strip()


def check(tag, got, exp, nonneg, exact0_rows):
    bad = []
    for i, (g, e) in enumerate(zip(got, exp)):
        tol = max(1e-5 * abs(e), 1e-6)
        if np.isnan(g) or (np.isinf(e) and g != e) or (np.isfinite(e) and not abs(g - e) <= tol):
            bad.append(f"{tag} row {i}: expected {e:.10g}, got {g:.10g}")
        elif nonneg and g < 0:
            bad.append(f"{tag} row {i}: negative {g:.10g} (expected {e:.10g})")
        elif i in exact0_rows and g != 0:
            bad.append(f"{tag} row {i}: identical rows gave {g:.10g}, not 0")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("infoest")
    ap.add_argument("--backends", default="cpu,opencl")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--seed0", type=int, default=1)
    ap.add_argument("--rows", type=int, default=48)
    ap.add_argument("--cols", type=int, default=6000)
    ap.add_argument("--extreme", action="store_true")
    ap.add_argument("--probs", action="store_true")
    ap.add_argument("--apart", action="store_true")
    ap.add_argument("--f64", action="store_true")
    args = ap.parse_args()
    if args.f64:  # the other backends take float64 as float32
        args.backends = ",".join(b for b in args.backends.split(",") if b == "cpu")
    if args.extreme or args.probs or args.apart or args.f64:  # the references meet overflowing and infinite terms there
        np.seterr(over="ignore", divide="ignore", invalid="ignore")

    backends = []
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.npy")
        np.save(probe, np.ones((1, 4), np.float32))
        for b in args.backends.split(","):
            rc, err = run([args.infoest, "entropy", "--probs", probe, "--backend", b])
            # rc 4: backend not built or no device here
            if rc == 4 and b == "cuda" and os.environ.get("IE_REQUIRE_GPU") == "1":
                print(f"stress_rows: backend cuda is unavailable with IE_REQUIRE_GPU=1: {err}")
                return 1
            if rc == 4:
                print(f"stress_rows: skipping backend {b}: {err}")
            elif rc == 0:
                backends.append(b)
            else:
                print(f"stress_rows: backend {b} fails on a 1 x 4 input: exit {rc}: {err}")
                return 1
    if not backends:
        print("stress_rows: no backend to test")
        return 0

    dtypes = ["f32", "bf16", "f16"]
    # (T = 3, distillation's: flat rows, whose float normalisers moved the
    # GPU kernels' power family by 1e-6; probabilities also at T = 1e-3:
    # p^1000, where a float log of a ratio, times 1/T, was more than the
    # tolerance on the GPU kernels)
    temps = [1.0, 0.7, 2.0, 3.0] + ([1e-3] if args.probs else [])
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for s in range(args.seed0, args.seed0 + args.seeds):
            rng = np.random.default_rng(7919 * s)
            dt = dtypes[s % len(dtypes)]
            T = temps[s % len(temps)]  # (every temperature and dtype within 12 seeds)
            a, b = lm_batch(rng, args.rows, args.cols)
            if args.extreme:
                scale = EXTREME_SCALES[s % len(EXTREME_SCALES)]
                dt, T = "f32", temps[(s // len(EXTREME_SCALES)) % 2]
                a, b = a * scale, b * scale
            if args.apart:
                dt, T = "f32", APART_TEMPS[s % len(APART_TEMPS)]
                k = 10.0 ** rng.uniform(0.0, 4.0, size=args.rows)
                side = rng.random(args.rows) < 0.5
                a[side] *= k[side, None]
                b[~side] *= k[~side, None]
                b += rng.choice([0.0, 0.0, 70.0, -70.0], size=args.rows)[:, None]
            if args.f64:
                scale = F64_SCALES[s % len(F64_SCALES)]
                dt = "f64"
                if np.isinf(scale):  # the largest entry at 1.7e308: gaps past DBL_MAX
                    scale, T = 1.7e308 / max(np.abs(a).max(), np.abs(b).max()), 1.0
                a, b = a * scale, b * scale
            inp = "probs" if args.probs else "logits"
            if args.probs:
                a, b = as_probs(rng, a, b, dt)
            sa, va = gv.store(a, dt)
            sb, vb = gv.store(b, dt)
            same = {i for i in range(args.rows) if np.array_equal(sa[i], sb[i])}
            fp, fq = os.path.join(tmp, "p.npy"), os.path.join(tmp, "q.npy")
            if dt == "bf16":  # safetensors carries bf16; .npy does not
                fp, fq = write_bf16(tmp, "p", sa), write_bf16(tmp, "q", sb)
            else:
                np.save(fp, sa)
                np.save(fq, sb)
            lp, lq = gv.log_probs(va, inp, T), gv.log_probs(vb, inp, T)
            labels = rng.integers(0, args.cols, size=args.rows)
            labels[::3] = np.argmax(va[::3], axis=1)  # confident and right
            fl = os.path.join(tmp, "labels.npy")
            np.save(fl, labels.astype(np.int64))
            out = os.path.join(tmp, "out.npy")
            jobs = []
            for kind, par in KINDS:
                cmd = ["divergence", "--kind", kind, "--p", fp, "--q", fq, "--input", inp]
                if par is not None:
                    cmd += ["--alpha", "inf" if np.isinf(par) else repr(par)]
                zero = same if kind in gv.EXACT0 else set()
                raw = None if args.probs else (va, vb, T)
                jobs.append((f"{kind}{'' if par is None else f'({par})'}", cmd,
                             div_ref(kind, par, lp, lq, raw), True, zero))
            for kind, par in ENTROPIES:
                cmd = ["entropy", f"--{inp}", fp, "--kind", kind]
                if par is not None:
                    cmd += ["--alpha", repr(par)]
                jobs.append((f"entropy {kind}{'' if par is None else f'({par})'}", cmd,
                             gv.entropy_ref(lp, kind, par or 0.0), True, set()))
            if not args.probs:  # NLL takes logits
                jobs.append(("nll", ["nll", "--logits", fp, "--labels", fl],
                             -lp[np.arange(args.rows), labels], True, set()))
            for be in backends:
                bad = []
                for tag, cmd, exp, nonneg, zero in jobs:
                    full = [args.infoest] + cmd + ["--temperature", repr(T), "--backend", be,
                                                   "--out", out, "--no-progress"]
                    rc, err = run(full)
                    if rc != 0:
                        bad.append(f"{tag}: exit {rc}: {err}")
                        continue
                    got = np.load(out).astype(np.float64).ravel()
                    bad += check(tag, got, exp, nonneg, zero)
                xs = (f", x{scale:g}" if args.extreme or args.f64 else ", probs" if args.probs
                      else ", apart" if args.apart else "")
                head = f"seed {s} ({dt}{xs}, T={T}, {args.rows}x{args.cols}) on {be}"
                if bad:
                    failures += 1
                    print(f"FAIL {head}: {len(bad)} bad rows")
                    for line in bad:
                        print("  " + line)
                else:
                    print(f"ok   {head}: {len(jobs)} ops")
    return 1 if failures else 0


def write_bf16(tmp, name, bits):
    """A .safetensors file holding bf16 `bits` as tensor `name`."""
    import json
    import struct
    head = json.dumps({name: {"dtype": "BF16", "shape": list(bits.shape),
                              "data_offsets": [0, bits.nbytes]}}).encode()
    head += b" " * (-len(head) % 8)
    path = os.path.join(tmp, name + ".safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + bits.astype("<u2").tobytes())
    return f"{path}:{name}"


if __name__ == "__main__":
    sys.exit(main())
