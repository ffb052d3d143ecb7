#!/usr/bin/env python3
"""Divergences and entropy from probabilities (input="probs") against PyTorch's
composition, on the CPU, on the same float32 rows.

The rows are language-model-like probabilities (docs/SPEC.md §1): the softmax,
in float64, of logits with a Zipf-like bias −1.2·log(rank), Gaussian noise of
2.5 and 30% of rows with a top logit 25 above the rest; q is p's logits plus
noise of 0.5, shifted by 0.5.  Both sides get float32 probabilities and
normalise them (SPEC: "each row is divided by its own sum").

Each round times one call of ours, then one of PyTorch's, for every kind;
medians over the rounds (a shared machine's load falls on both alike).  The
PyTorch compositions are what a user would write:
  kl       Σ xlogy(p̂, p̂) − xlogy(p̂, q̂)
  js       ½ Σ (xlogy(p̂, p̂) − xlogy(p̂, m̂)) + ½ Σ (xlogy(q̂, q̂) − xlogy(q̂, m̂)), m̂ = (p̂ + q̂)/2
  tv       ½ Σ |p̂ − q̂|
  hellinger   ½ Σ (√p̂ − √q̂)²
  bhattacharyya  −log Σ √(p̂ q̂)
  chi2     Σ (p̂ − q̂)²/q̂
  alpha    (1 − Σ p̂^½ q̂^½)/(½·½)            (order ½)
  renyi    log Σ p̂² q̂^{−1}                  (order 2)
  entropy  −Σ xlogy(p̂, p̂)
and ours must agree with them to 1e-5 relative or 1e-6 absolute (checked on
every row, both in float64 from the same float32 values).

  PYTHONPATH=build/python bench/.venv/bin/python bench/probs_peers.py \\
      [--rows 256] [--cols 128256] [--rounds 9] [--threads 2]
"""
import sys

import numpy as np
import torch

import infoest
from lm_peers import alternate, lm_logits, size_args, torch_js_tv


def rows(rng, b, v):
    a, c = lm_logits(rng, b, v)

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    return softmax(a), softmax(c)


def torch_kind(kind, p, q):
    p = p / p.sum(1, keepdim=True)
    q = q / q.sum(1, keepdim=True)
    if kind == "kl":
        return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(1)
    if kind in ("js", "tv"):
        return torch_js_tv(kind, p, q)
    if kind == "hellinger":
        return 0.5 * ((p.sqrt() - q.sqrt()) ** 2).sum(1)
    if kind == "bhattacharyya":
        return -torch.log((p * q).sqrt().sum(1))
    if kind == "chi2":
        return ((p - q) ** 2 / q).sum(1)
    if kind == "alpha":
        return (1 - (p ** 0.5 * q ** 0.5).sum(1)) / 0.25
    if kind == "renyi":
        return torch.log((p ** 2 * q ** -1.0).sum(1))
    if kind == "entropy":
        return -torch.xlogy(p, p).sum(1)
    raise ValueError(kind)


def ours_kind(kind, p, q, ctx):
    if kind == "entropy":
        return infoest.entropy(p, input="probs", reduction="none", context=ctx)
    alpha = {"alpha": 0.5, "renyi": 2.0}.get(kind)
    return infoest.divergence(p, q, kind, alpha=alpha, input="probs", reduction="none", context=ctx)


def reference(kind, p, q):
    p = p.astype(np.float64)
    q = q.astype(np.float64)
    p /= p.sum(1, keepdims=True)
    q /= q.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "kl":
            return np.where(p > 0, p * np.log(p / q), 0).sum(1)
        if kind == "js":
            m = 0.5 * (p + q)
            return 0.5 * np.where(p > 0, p * np.log(p / m), 0).sum(1) + \
                0.5 * np.where(q > 0, q * np.log(q / m), 0).sum(1)
        if kind == "tv":
            return 0.5 * np.abs(p - q).sum(1)
        if kind == "hellinger":
            return 0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum(1)
        if kind == "bhattacharyya":
            return -np.log(np.sqrt(p * q).sum(1))
        if kind == "chi2":
            return ((p - q) ** 2 / q).sum(1)
        if kind == "alpha":
            return (1 - np.sqrt(p * q).sum(1)) / 0.25
        if kind == "renyi":
            return np.log((p * p / q).sum(1))
        return -np.where(p > 0, p * np.log(p), 0).sum(1)


def main():
    a = size_args(__doc__, 9)
    torch.set_num_threads(a.threads)
    ctx = infoest.Context("cpu", threads=a.threads)
    p, q = rows(np.random.default_rng(0), a.rows, a.cols)
    tp, tq = torch.from_numpy(p), torch.from_numpy(q)
    kinds = ["kl", "js", "tv", "hellinger", "bhattacharyya", "chi2", "alpha", "renyi", "entropy"]
    worst = 0.0
    for k in kinds:
        got, e = np.asarray(ours_kind(k, p, q, ctx)), reference(k, p, q)
        worst = max(worst, float((np.abs(got - e) / np.maximum(1e-5 * np.abs(e), 1e-6)).max()))
    print(f"# {a.rows} x {a.cols} float32 probabilities, {a.threads} threads, {a.rounds} rounds; "
          f"infoest {infoest.__version__}, torch {torch.__version__}")
    print(f"# worst error of ours against float64 NumPy, as a share of SPEC's tolerance: {worst:.3g}")
    alternate(kinds, lambda k: ours_kind(k, p, q, ctx), lambda k: torch_kind(k, tp, tq), a.rounds)
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
