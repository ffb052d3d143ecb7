#!/usr/bin/env python3
"""Inputs and peers of the discrete-information rows (bench/discrete.sh).

  discrete.py inputs DIR [--pairs N] [--seed S]
      DIR/joints.npy    1000 joints [1000, 2, 2, 2] (float64, Dirichlet(1) masses)
      DIR/ami_a.npy, DIR/ami_b.npy   10^6 labels in 1000 clusters each (int64):
                        b is a with probability 0.6, else uniform
      DIR/tokens.npy, DIR/experts.npy  N (token, expert) pairs as top-8 routing:
                        tokens [N/8] Zipf(1.1) over 32000 ids (int32), experts
                        [N/8, 8] int32 over 256 experts, the first expert tied
                        to the token, the other seven random (distinct or not:
                        counting does not care)
  discrete.py broja DIR --sample 20      dit's PID_BROJA (cone solver) on the
                        first 20 joints, one at a time; JSON line
  discrete.py ami DIR --repeats 3        scikit-learn's adjusted_mutual_info_score
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np


def inputs(d, pairs, seed):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    j = rng.dirichlet(np.ones(8), size=1000).reshape(1000, 2, 2, 2)
    np.save(os.path.join(d, "joints.npy"), j)
    n = 1_000_000
    a = rng.integers(0, 1000, n, dtype=np.int64)
    keep = rng.random(n) < 0.6
    b = np.where(keep, a, rng.integers(0, 1000, n, dtype=np.int64))
    np.save(os.path.join(d, "ami_a.npy"), a)
    np.save(os.path.join(d, "ami_b.npy"), b)
    rows, k = pairs // 8, 8
    # Written in chunks through memory maps: 10^9 pairs are 4 GB of experts.
    tok = np.lib.format.open_memmap(os.path.join(d, "tokens.npy"), mode="w+", dtype=np.int32, shape=(rows,))
    exp = np.lib.format.open_memmap(os.path.join(d, "experts.npy"), mode="w+", dtype=np.int32, shape=(rows, k))
    step = 1 << 22
    for r0 in range(0, rows, step):
        m = min(step, rows - r0)
        t = (rng.zipf(1.1, m) - 1) % 32000
        tok[r0:r0 + m] = t
        e = rng.integers(0, 256, (m, k), dtype=np.int32)
        e[:, 0] = (t * 2654435761 % 256).astype(np.int32)
        exp[r0:r0 + m] = e
    tok.flush()
    exp.flush()
    del tok, exp


def broja(d, sample):
    import dit
    from dit.pid import PID_BROJA
    j = np.load(os.path.join(d, "joints.npy"))
    times, cpu, syn = [], [], []
    for b in range(sample):
        p = j[b] / j[b].sum()
        outcomes, probs = [], []
        for s1 in range(2):
            for s2 in range(2):
                for t in range(2):
                    outcomes.append((s1, s2, t))
                    probs.append(p[s1, s2, t])
        dist = dit.Distribution(outcomes, probs)
        t0, c0 = time.perf_counter(), time.process_time()
        pid = PID_BROJA(dist, [[0], [1]], [2], method="cone")
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        syn.append(float(pid.get_pi(((0, 1),))) * np.log(2))  # bits -> nats
    per = statistics.median(times)
    print(json.dumps({"case": "broja", "peer": "dit %s PID_BROJA(method='cone')" % dit.__version__,
                      "sample": sample, "joints": int(j.shape[0]), "per_joint_median_s": per,
                      "scaled_s": per * j.shape[0], "samples": times,
                      "cpu_per_joint_median_s": statistics.median(cpu),
                      "mean_synergy_sample_nats": float(np.mean(syn))}))


def ami(d, repeats):
    import sklearn
    from sklearn.metrics import adjusted_mutual_info_score
    a = np.load(os.path.join(d, "ami_a.npy"))
    b = np.load(os.path.join(d, "ami_b.npy"))
    times, cpu, v = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        v = adjusted_mutual_info_score(a, b)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(json.dumps({"case": "ami", "peer": "scikit-learn %s adjusted_mutual_info_score" % sklearn.__version__,
                      "labels": int(a.size), "ami": float(v), "samples": times,
                      "cpu_median_s": statistics.median(cpu), "median_s": statistics.median(times)}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["inputs", "broja", "ami"])
    p.add_argument("dir")
    p.add_argument("--pairs", type=int, default=100_000_000)
    p.add_argument("--seed", type=int, default=22)
    p.add_argument("--sample", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if a.what == "inputs":
        inputs(a.dir, a.pairs, a.seed)
    elif a.what == "broja":
        broja(a.dir, a.sample)
    else:
        ami(a.dir, a.repeats)


if __name__ == "__main__":
    sys.exit(main())
