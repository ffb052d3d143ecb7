#!/usr/bin/env python3
"""Float64 logits (NumPy's default dtype) through the Python package against
PyTorch's composition in float64, on the CPU, on the same rows.

The rows are language-model-like logits (docs/SPEC.md §1): a Zipf-like bias
−1.2·log(rank), Gaussian noise of 2.5 and 30% of rows with a top logit 25
above the rest; q is p plus noise of 0.5, shifted by 0.5.  Float64 input
runs infoest's double kernels.

Each round times one call of ours, then one of PyTorch's, for every op;
medians over the rounds.  The PyTorch compositions are what a user would
write (a = log_softmax(x), b = log_softmax(y)):
  log_softmax, softmax   torch.log_softmax / torch.softmax
  kl        Σ e^a·(a − b)
  js        ½ Σ xlogy(p, p) − xlogy(p, m) + ½ Σ xlogy(q, q) − xlogy(q, m), m = (p + q)/2
  tv        ½ Σ |e^a − e^b|
  entropy   −Σ e^a·a
Every row (every entry of the matrices) of ours is checked against float64
NumPy/SciPy; the worst error is printed as a share of 1e-12 relative or
1e-14 absolute (float64 input keeps float64's digits), and of SPEC §1's
tolerance.

  PYTHONPATH=build/python bench/.venv/bin/python bench/f64_peers.py \\
      [--rows 256] [--cols 128256] [--rounds 7] [--threads 2]
"""

import numpy as np
import scipy.special
import torch

import infoest
from lm_peers import alternate, lm_logits, size_args, torch_js_tv


def torch_op(op, x, y):
    if op == "log_softmax":
        return torch.log_softmax(x, 1)
    if op == "softmax":
        return torch.softmax(x, 1)
    a = torch.log_softmax(x, 1)
    if op == "entropy":
        return -(a.exp() * a).sum(1)
    b = torch.log_softmax(y, 1)
    p, q = a.exp(), b.exp()
    if op == "kl":
        return (p * (a - b)).sum(1)
    if op in ("js", "tv"):
        return torch_js_tv(op, p, q)
    raise ValueError(op)


def ours_op(op, x, y, ctx):
    if op == "log_softmax":
        return infoest.log_softmax(x, context=ctx)
    if op == "softmax":
        return infoest.softmax(x, context=ctx)
    if op == "entropy":
        return infoest.entropy(x, reduction="none", context=ctx)
    return infoest.divergence(x, y, op, reduction="none", context=ctx)


def reference(op, x, y):
    a = scipy.special.log_softmax(x, axis=1)
    if op == "log_softmax":
        return a
    p = np.exp(a)
    if op == "softmax":
        return p
    if op == "entropy":
        return -(p * a).sum(1)
    b = scipy.special.log_softmax(y, axis=1)
    q = np.exp(b)
    if op == "kl":
        return (p * (a - b)).sum(1)
    if op == "js":
        lm = np.logaddexp(a, b) - np.log(2.0)
        return 0.5 * (p * (a - lm)).sum(1) + 0.5 * (q * (b - lm)).sum(1)
    return 0.5 * np.abs(p - q).sum(1)


def share(got, e, rel, ab):
    return float((np.abs(got - e) / np.maximum(rel * np.abs(e), ab)).max())


def main():
    a = size_args(__doc__, 7)
    torch.set_num_threads(a.threads)
    ctx = infoest.Context("cpu", threads=a.threads)
    x, y = lm_logits(np.random.default_rng(0), a.rows, a.cols)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    ops = ["log_softmax", "softmax", "kl", "js", "tv", "entropy"]
    worst64 = worst = 0.0
    for op in ops:
        got, e = np.asarray(ours_op(op, x, y, ctx)), reference(op, x, y)
        worst64 = max(worst64, share(got, e, 1e-12, 1e-14))
        worst = max(worst, share(got, e, 1e-5, 1e-6))
    print(f"# {a.rows} x {a.cols} float64 logits, {a.threads} threads, {a.rounds} rounds; "
          f"infoest {infoest.__version__}, torch {torch.__version__}")
    print(f"# worst error of ours against float64 NumPy/SciPy: {worst64:.3g} of 1e-12 relative "
          f"(1e-14 absolute), {worst:.3g} of SPEC's tolerance")
    alternate(ops, lambda op: ours_op(op, x, y, ctx), lambda op: torch_op(op, tx, ty), a.rounds)
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
