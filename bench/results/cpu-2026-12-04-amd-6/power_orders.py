"""α, Rényi and Tsallis from probabilities at orders without a special form,
ours only (medians of 7 calls), 256 x 128256 f32 language-model-like rows
(bench/probs_peers.py's), 2 threads.

  PYTHONPATH=build/python bench/.venv/bin/python power_orders.py
"""
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, "bench")
from probs_peers import rows  # noqa: E402
import infoest  # noqa: E402

p, q = rows(np.random.default_rng(0), 256, 128256)
ctx = infoest.Context("cpu", threads=2)
for kind in ("alpha", "renyi", "tsallis"):
    for order in (0.3, 0.7, 1.5):
        ts = []
        for _ in range(7):
            t0 = time.perf_counter()
            infoest.divergence(p, q, kind, alpha=order, input="probs", reduction="none", context=ctx)
            ts.append(time.perf_counter() - t0)
        print(f"{kind:<8} {order:4}  {statistics.median(ts) * 1e3:8.2f} ms")
