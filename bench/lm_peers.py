"""What bench/probs_peers.py and bench/f64_peers.py share: language-model-like
logits, and ours against a peer in alternating calls."""
import argparse
import statistics
import time

import numpy as np
import torch


def lm_logits(rng, b, v):
    """docs/SPEC.md §1's rows: a Zipf-like bias −1.2·log(rank), Gaussian noise
    of 2.5, 30% of rows with a top logit 25 above the rest; the second side
    the first plus noise of 0.5, shifted by 0.5 (float64)."""
    rank = np.argsort(rng.random((b, v)), axis=1) + 1.0
    a = -1.2 * np.log(rank) + rng.normal(0.0, 2.5, size=(b, v))
    confident = rng.random(b) < 0.3
    top = rng.integers(0, v, size=b)
    a[confident, top[confident]] = a[confident].max(axis=1) + 25.0
    return a, a + 0.5 * rng.normal(size=(b, v)) + 0.5


def torch_js_tv(kind, p, q):
    """PyTorch's composition of JS (β = ½) or TV from probability rows p, q
    that sum to 1."""
    if kind == "js":
        m = 0.5 * (p + q)
        return 0.5 * (torch.xlogy(p, p) - torch.xlogy(p, m)).sum(1) + \
            0.5 * (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(1)
    return 0.5 * (p - q).abs().sum(1)


def size_args(doc, rounds):
    """The command line both take: --rows, --cols, --rounds, --threads."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--cols", type=int, default=128256)
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--threads", type=int, default=2)
    return ap.parse_args()


def alternate(names, ours, peer, rounds):
    """Each round times ours(name), then peer(name), for every name (a shared
    machine's load falls on both alike); prints each name's medians in ms and
    the ratio peer/ours."""
    for n in names:  # warm-up
        ours(n), peer(n)
    t = {n: ([], []) for n in names}
    for _ in range(rounds):
        for n in names:
            t0 = time.perf_counter()
            ours(n)
            t1 = time.perf_counter()
            peer(n)
            t2 = time.perf_counter()
            t[n][0].append(t1 - t0)
            t[n][1].append(t2 - t1)
    print(f"{'op':<14} {'ours ms':>9} {'torch ms':>9} {'torch/ours':>11}")
    for n in names:
        o, r = statistics.median(t[n][0]) * 1e3, statistics.median(t[n][1]) * 1e3
        print(f"{n:<14} {o:9.2f} {r:9.2f} {r / o:10.2f}x")
