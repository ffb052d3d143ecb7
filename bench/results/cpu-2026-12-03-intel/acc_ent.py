#!/usr/bin/env python3
"""acc_ent.py INFOEST...: Shannon entropy of each build (its command line) against
float64 NumPy on language-model-like rows; prints the worst |error|/tolerance."""
import os, sys, subprocess, tempfile, numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests"))
import stress_rows as sr, gen_vectors as gv
bins = sys.argv[1:]
worst = {b: 0.0 for b in bins}
with tempfile.TemporaryDirectory() as tmp:
    for s in range(1, 16):
        rng = np.random.default_rng(2000 + s)
        dt = ["f32", "bf16", "f16"][s % 3]
        T = [1.0, 0.7, 2.0, 0.4, 0.33][s % 5]
        a, b = sr.lm_batch(rng, 64, 32000 + 37 * s)
        if s % 4 == 0:
            a[::2, 7] += 40  # very confident rows
        sa, va = gv.store(a, dt)
        if dt == "bf16":
            fp = sr.write_bf16(tmp, "p", sa)
        else:
            fp = tmp + "/p.npy"; np.save(fp, sa)
        lp = gv.log_probs(va, "logits", T)
        exp = gv.entropy_ref(lp, "shannon", 0.0)
        for bn in bins:
            out = tmp + "/o.npy"
            r = subprocess.run([bn, "entropy", "--logits", fp, "--temperature", repr(T), "--backend", "cpu", "--out", out, "--no-progress"], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            g = np.load(out).astype(np.float64).ravel()
            tol = np.maximum(1e-5 * np.abs(exp), 1e-6)
            e_ = float(np.max(np.abs(g - exp) / tol)); worst[bn] = max(worst[bn], e_)
            if e_ > 0.3: i_ = int(np.argmax(np.abs(g - exp) / tol)); print(bn[-20:], s, dt, T, round(e_, 3), exp[i_], g[i_])
for bn in bins: print(bn, round(worst[bn], 4))
