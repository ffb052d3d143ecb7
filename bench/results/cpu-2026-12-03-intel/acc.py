#!/usr/bin/env python3
"""acc.py INFOEST...: each kind of KINDS (default: the KL family and TV; `js:0.45`
a kind with its β or α) of each build (its command line) against float64 NumPy
on language-model-like rows; prints the worst |error|/tolerance.  DTYPE (f32,
bf16 or f16: every seed in it; default by seed), ROWS and COLS (default 64 and
32000) set the rows."""
import os, sys, subprocess, tempfile, numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests"))
import stress_rows as sr, gen_vectors as gv
bins = sys.argv[1:]
kinds = os.environ.get("KINDS", "kl,reverse-kl,jeffreys,tv").split(",")
worst = {b: {k: 0.0 for k in kinds} for b in bins}
neg = {b: 0 for b in bins}
with tempfile.TemporaryDirectory() as tmp:
    for s in range(1, 13):
        rng = np.random.default_rng(1000 + s)
        dt = os.environ.get("DTYPE") or ["f32", "bf16", "f16"][s % 3]
        T = [1.0, 0.7, 2.0, 0.4][s % 4]
        a, b = sr.lm_batch(rng, int(os.environ.get("ROWS", 64)), int(os.environ.get("COLS", 32000)))
        if s % 5 == 0:  # far rows: another row's student
            b = b[::-1].copy()
        sa, va = gv.store(a, dt); sb, vb = gv.store(b, dt)
        if dt == "bf16":
            fp, fq = sr.write_bf16(tmp, "p", sa), sr.write_bf16(tmp, "q", sb)
        else:
            fp, fq = tmp + "/p.npy", tmp + "/q.npy"; np.save(fp, sa); np.save(fq, sb)
        lp, lq = gv.log_probs(va, "logits", T), gv.log_probs(vb, "logits", T)
        for k in kinds:
            name, _, par = k.partition(":")
            par = float(par) if par else None
            exp = sr.div_ref(name, par, lp, lq)
            flag = [] if par is None else ["--beta" if name == "js" else "--alpha", repr(par)]
            for bn in bins:
                out = tmp + "/o.npy"
                r = subprocess.run([bn, "divergence", "--kind", name, *flag, "--p", fp, "--q", fq, "--temperature", repr(T), "--backend", "cpu", "--out", out, "--no-progress"], capture_output=True, text=True)
                assert r.returncode == 0, r.stderr
                g = np.load(out).astype(np.float64).ravel()
                tol = np.maximum(1e-5 * np.abs(exp), 1e-6)
                e_ = float(np.max(np.abs(g - exp) / tol)); worst[bn][k] = max(worst[bn][k], e_)
                if e_ > 0.5: i_ = int(np.argmax(np.abs(g - exp) / tol)); print(bn[-20:], s, dt, T, k, round(e_, 2), i_, exp[i_], g[i_])
                neg[bn] += int(np.sum(g < 0))
for bn in bins:
    print(bn, {k: round(v, 3) for k, v in worst[bn].items()}, "negatives", neg[bn])
