#!/usr/bin/env python3
"""Inputs and peer of the MAUVE row of issue 19 (bench/mauve.sh).

  mauve.py inputs DIR [--n 5000] [--d 1280] [--rank 50] [--seed S]
      DIR/p.npy, DIR/q.npy  n × d float32 features with low-rank structure:
                  rank-`rank` latent factors with decaying scales (1/sqrt(1+i)),
                  drawn around 200 mixture centres in the latent space,
                  mapped to d through a fixed random basis, plus isotropic
                  noise (0.05).  Q draws from the same centres with
                  different weights (the last 30% of centres twice as
                  likely) and its first four factors shifted by 0.3, so
                  MAUVE is well inside (0, 1).
  mauve.py peer DIR [--repeats 1] [--seed 25]
      mauve-text's compute_mauve(p_features, q_features) with its defaults
      (num_buckets 'auto' = n/10 = 500, kmeans_num_redo 5, kmeans_max_iter
      500, kmeans_explained_var 0.9, device_id -1: faiss k-means on the CPU,
      scikit-learn PCA); wall and process CPU time of each call; JSON line.
  mauve.py ensemble DIR [--seeds 6]
      the same call with seeds 1 … N (untimed): MAUVE and the frontier
      integral of each, their means and sample standard deviations; JSON
      line.  One seed's MAUVE moves by about 0.01 between seeds (mauve-text
      issue #11), so the scores are compared as ensembles.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

# This file is itself named mauve.py: drop its folder from the path so that
# `import mauve` finds mauve-text.
sys.path = [x for x in sys.path if os.path.abspath(x or ".") != os.path.dirname(os.path.abspath(__file__))]


def inputs(d_out, n, d, rank, seed):
    os.makedirs(d_out, exist_ok=True)
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, d)) / np.sqrt(rank)
    scale = 1.0 / np.sqrt(1.0 + np.arange(rank))
    centres = rng.standard_normal((200, rank)) * 1.5

    def draw(weights, shift):
        lab = rng.choice(200, size=n, p=weights / weights.sum())
        a = (centres[lab] + rng.standard_normal((n, rank))) * scale
        a[:, :4] += shift
        return (a @ basis + 0.05 * rng.standard_normal((n, d))).astype(np.float32)

    w_p = np.ones(200)
    w_q = np.ones(200)
    w_q[140:] = 2.0
    np.save(os.path.join(d_out, "p.npy"), draw(w_p, 0.0))
    np.save(os.path.join(d_out, "q.npy"), draw(w_q, 0.3))


def peer(d_in, repeats, seed):
    import faiss
    import mauve
    import sklearn
    from importlib.metadata import version
    p = np.load(os.path.join(d_in, "p.npy"))
    q = np.load(os.path.join(d_in, "q.npy"))
    times, cpu, vals = [], [], []
    out = None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = mauve.compute_mauve(p_features=p, q_features=q, device_id=-1, seed=seed, verbose=False)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        vals.append(float(out.mauve))
    print(json.dumps({"case": "mauve", "peer": "mauve-text %s (faiss %s, scikit-learn %s) compute_mauve defaults" % (
                          version("mauve-text"), faiss.__version__, sklearn.__version__),
                      "n_p": int(p.shape[0]), "n_q": int(q.shape[0]), "d": int(p.shape[1]), "seed": seed,
                      "clusters": int(len(out.p_hist)), "mauve": vals, "frontier_integral": float(out.frontier_integral),
                      "samples": times, "cpu_samples": cpu,
                      "median_s": statistics.median(times), "cpu_median_s": statistics.median(cpu)}), flush=True)


def ensemble(d_in, seeds):
    import mauve
    p = np.load(os.path.join(d_in, "p.npy"))
    q = np.load(os.path.join(d_in, "q.npy"))
    m, fi = [], []
    for seed in range(1, seeds + 1):
        out = mauve.compute_mauve(p_features=p, q_features=q, device_id=-1, seed=seed, verbose=False)
        m.append(float(out.mauve))
        fi.append(float(out.frontier_integral))
    print(json.dumps({"case": "mauve-ensemble", "seeds": seeds, "mauve": m, "frontier_integral": fi,
                      "mauve_mean": statistics.mean(m), "mauve_std": statistics.stdev(m),
                      "frontier_integral_mean": statistics.mean(fi),
                      "frontier_integral_std": statistics.stdev(fi)}), flush=True)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("what", choices=["inputs", "peer", "ensemble"])
    a.add_argument("dir")
    a.add_argument("--n", type=int, default=5000)
    a.add_argument("--d", type=int, default=1280)
    a.add_argument("--rank", type=int, default=50)
    a.add_argument("--seed", type=int, default=None)
    a.add_argument("--repeats", type=int, default=1)
    a.add_argument("--seeds", type=int, default=6)
    o = a.parse_args()
    if o.what == "inputs":
        inputs(o.dir, o.n, o.d, o.rank, 19 if o.seed is None else o.seed)
    elif o.what == "ensemble":
        if o.seeds < 2:
            a.error("--seeds must be at least 2")
        ensemble(o.dir, o.seeds)
    else:
        peer(o.dir, o.repeats, 25 if o.seed is None else o.seed)


if __name__ == "__main__":
    sys.exit(main())
