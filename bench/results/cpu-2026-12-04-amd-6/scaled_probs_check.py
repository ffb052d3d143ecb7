"""Worst error, as a share of SPEC §1's tolerance, of every divergence kind and
entropy from unnormalised float32 probability rows (language-model rows,
tests/gen_vectors.py's lm_batch, 12 x 3000, p times sp and q times sq), per
backend, against float64 NumPy on the same values.

  PYTHONPATH=build/python .venv/bin/python scaled_probs_check.py
"""
import sys

import numpy as np

sys.path.insert(0, "tests")
import gen_vectors as g  # noqa: E402
import infoest  # noqa: E402

np.seterr(all="ignore")
rng = np.random.default_rng(7)
a, b = g.lm_batch(rng, 12, 3000)
pa = np.exp(a - a.max(1, keepdims=True))
pb = np.exp(b - b.max(1, keepdims=True))
print(f"{'sp':>7} {'sq':>7} {'backend':>7}  worst  (kind)")
for sp, sq in [(1.0, 1.0), (1e-6, 1e3), (1e6, 1e6), (1e-6, 1e-6), (1e5, 1.0), (1e-9, 1e-9), (1e-12, 1.0)]:
    x, y = (pa * sp).astype(np.float32), (pb * sq).astype(np.float32)
    lp = g.log_probs(x.astype(np.float64), "probs", 1.0)
    lq = g.log_probs(y.astype(np.float64), "probs", 1.0)
    for be in ("cpu", "opencl"):
        worst, where = 0.0, ""
        with infoest.Context(backend=be):
            for kind in g.DIV_KINDS:
                for par in g.div_params(kind):
                    alpha = par if (par is not None and kind != "js") else 0.0
                    beta = par if kind == "js" else 0.5
                    ref = g.divergence_ref(kind, lp, lq, alpha, beta)
                    kw = {"beta": beta} if kind == "js" else {}
                    if kind in ("alpha", "renyi", "tsallis"):
                        kw["alpha"] = alpha
                    v = np.asarray(infoest.divergence(x, y, kind, input="probs", reduction="none", **kw))
                    fin = np.isfinite(ref)
                    assert (v[~fin] == ref[~fin]).all()
                    w = float((np.abs(v - ref)[fin] / np.maximum(1e-6, 1e-5 * np.abs(ref[fin]))).max())
                    if w > worst:
                        worst, where = w, f"{kind}{'' if par is None else f' {par}'}"
            for ek, al in (("shannon", 1.0), ("renyi", 0.5), ("renyi", 2.0), ("tsallis", 2.0)):
                ref = g.entropy_ref(lp, ek, al)
                kw = {} if ek == "shannon" else {"alpha": al}
                v = np.asarray(infoest.entropy(x, input="probs", kind=ek, reduction="none", **kw))
                w = float((np.abs(v - ref) / np.maximum(1e-6, 1e-5 * np.abs(ref))).max())
                if w > worst:
                    worst, where = w, f"entropy {ek} {al}"
        print(f"{sp:7g} {sq:7g} {be:>7}  {worst:.3f}  ({where})")
