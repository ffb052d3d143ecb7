#!/usr/bin/env python3
"""Sinkhorn test vectors (docs/SPEC.md §4): float64 references from POT.

Writes tests/vectors/sinkhorn_<case>.{a,b,cost,x,y,expect}.npy and
tests/vectors/sinkhorn_MANIFEST (one `case` line each, key=value tokens).

Inputs are stored as float32 (every backend takes them); the references are
computed in float64 on exactly those float32 values.  expect.npy is [B, 4]:
transport_cost (POT's <P, M> of ot.sinkhorn, or ot.bregman.sinkhorn_log
when exp(-M/eps) could underflow or a weight is 0, or of
ot.unbalanced.sinkhorn_unbalanced with reg_type="kl"), the objective
<P,M> + eps·KL(P || a⊗b) (+ rho·KL marginals when unbalanced) computed from
POT's plan, the debiased divergence (NaN when not asked), and ot.emd2.

Run: python3 tests/gen_sinkhorn.py   (needs numpy and POT: pip install pot)
"""
import os
import sys

import numpy as np
import ot

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors")
THR = 1e-12
ITERS = 1_000_000


def f32(x):
    return np.asarray(x, dtype=np.float32)


def cost_of(x, y, metric):
    d2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    if metric == "sqeuclidean":
        return d2
    if metric == "half-sqeuclidean":
        return 0.5 * d2
    return np.sqrt(d2)


def gkl(p, q):
    """Generalised KL  sum p log(p/q) - p + q  (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = p > 0
    return float((p[m] * np.log(p[m] / q[m])).sum() - p.sum() + q.sum())


def solve(a, b, M, eps, rho):
    """POT's plan for one problem; (transport_cost, objective)."""
    a = a / a.sum()
    b = b / b.sum()
    if rho:
        P = ot.unbalanced.sinkhorn_unbalanced(a, b, M, eps, rho, reg_type="kl",
                                              method="sinkhorn_stabilized",
                                              numItermax=ITERS, stopThr=THR)
    elif M.max() / eps < 200 and a.min() > 0 and b.min() > 0:
        # exp(-M/eps) cannot underflow: the plain (fast) scaling iterations.
        P = ot.sinkhorn(a, b, M, eps, method="sinkhorn", numItermax=ITERS, stopThr=THR)
    else:
        P = ot.bregman.sinkhorn_log(a, b, M, eps, numItermax=ITERS, stopThr=THR)
    cost = float((P * M).sum())
    obj = cost + eps * gkl(P.ravel(), np.outer(a, b).ravel())
    if rho:
        obj += rho * (gkl(P.sum(1), a) + gkl(P.sum(0), b))
    return cost, obj


def emd(a, b, M):
    return float(ot.emd2(a / a.sum(), b / b.sum(), M, numItermax=10_000_000))


cases = []


def save(name, arrays, meta, expect):
    files = {}
    for k, v in arrays.items():
        fn = f"sinkhorn_{name}.{k}.npy"
        np.save(os.path.join(OUT, fn), v)
        files[k] = fn
    fn = f"sinkhorn_{name}.expect.npy"
    np.save(os.path.join(OUT, fn), np.asarray(expect, dtype=np.float64))
    files["expect"] = fn
    tok = [f"{k}={v}" for k, v in meta.items()] + [f"{k}={v}" for k, v in files.items()]
    cases.append(f"case {name} " + " ".join(tok))


def weights(rng, n, zeros=0):
    w = rng.uniform(0.1, 1.0, n)
    if zeros:
        w[rng.choice(n, zeros, replace=False)] = 0
    return f32(w / w.sum())


def matrix_case(name, a, b, C, eps_rel, rho=0.0, eps_scaling=0):
    """a [B, n] or [n], b, C [B, n, m] or [n, m], all float32."""
    B = max(a.shape[0] if a.ndim == 2 else 1, b.shape[0] if b.ndim == 2 else 1,
            C.shape[0] if C.ndim == 3 else 1)
    eps = float(eps_rel * np.median(C.astype(np.float64)))
    rows = []
    for k in range(B):
        ak = (a[k] if a.ndim == 2 else a).astype(np.float64)
        bk = (b[k] if b.ndim == 2 else b).astype(np.float64)
        Ck = (C[k] if C.ndim == 3 else C).astype(np.float64)
        cost, obj = solve(ak, bk, Ck, eps, rho)
        rows.append([cost, obj, np.nan, emd(ak, bk, Ck)])
    n, m = C.shape[-2], C.shape[-1]
    save(name, {"a": a, "b": b, "cost": C},
         {"src": "matrix", "metric": "-", "eps": repr(eps), "rho": repr(rho), "B": B, "n": n, "m": m,
          "d": 0, "div": 0, "scaling": eps_scaling}, rows)


def points_case(name, a, b, x, y, metric, eps_rel, div=0, rho=0.0, eps_scaling=0):
    """x [B, n, d] or [n, d]; y likewise."""
    B = max(a.shape[0] if a.ndim == 2 else 1, b.shape[0] if b.ndim == 2 else 1,
            x.shape[0] if x.ndim == 3 else 1, y.shape[0] if y.ndim == 3 else 1)
    xs = [(x[k] if x.ndim == 3 else x).astype(np.float64) for k in range(B)]
    ys = [(y[k] if y.ndim == 3 else y).astype(np.float64) for k in range(B)]
    eps = float(eps_rel * np.median(cost_of(xs[0], ys[0], metric)))
    rows = []
    for k in range(B):
        ak = (a[k] if a.ndim == 2 else a).astype(np.float64)
        bk = (b[k] if b.ndim == 2 else b).astype(np.float64)
        C = cost_of(xs[k], ys[k], metric)
        cost, obj = solve(ak, bk, C, eps, rho)
        dv = np.nan
        if div:
            _, oaa = solve(ak, ak, cost_of(xs[k], xs[k], metric), eps, rho)
            _, obb = solve(bk, bk, cost_of(ys[k], ys[k], metric), eps, rho)
            dv = obj - 0.5 * oaa - 0.5 * obb
        rows.append([cost, obj, dv, emd(ak, bk, C)])
    save(name, {"a": a, "b": b, "x": x, "y": y},
         {"src": "points", "metric": metric, "eps": repr(eps), "rho": repr(rho), "B": B,
          "n": x.shape[-2], "m": y.shape[-2], "d": x.shape[-1], "div": div, "scaling": eps_scaling},
         rows)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240611)

    # A given matrix, n != m.
    matrix_case("matrix_7x5", weights(rng, 7), weights(rng, 5), f32(rng.uniform(0, 3, (7, 5))), 0.05)
    # Point clouds with each metric; n != m; the divergence.
    x = f32(rng.normal(size=(20, 3)))
    y = f32(rng.normal(size=(15, 3)) + 0.5)
    for metric in ("sqeuclidean", "half-sqeuclidean", "euclidean"):
        points_case("points_" + metric.replace("-", "_"), weights(rng, 20), weights(rng, 15), x, y,
                    metric, 0.05, div=1)
    # Zero-mass points on both sides.
    matrix_case("zero_mass", weights(rng, 9, zeros=3), weights(rng, 8, zeros=2),
                f32(rng.uniform(0, 1, (9, 8))), 0.1)
    # eps = 1e-4 x median cost (with eps-scaling on our side).
    matrix_case("tiny_eps", weights(rng, 6), weights(rng, 5), f32(rng.uniform(1, 2, (6, 5))), 1e-4,
                eps_scaling=1)
    # Costs spanning 1e6.
    matrix_case("span_1e6", weights(rng, 8), weights(rng, 6),
                f32(np.exp(rng.uniform(0, np.log(1e6), (8, 6)))), 0.05)
    # n = 1 (the plan is b), and m = 1.
    matrix_case("n1", weights(rng, 1), weights(rng, 6), f32(rng.uniform(0, 1, (1, 6))), 0.1)
    matrix_case("m1", weights(rng, 5), weights(rng, 1), f32(rng.uniform(0, 1, (5, 1))), 0.1)
    # A batch of matrices, and a shared matrix with batched weights.
    B = 16
    matrix_case("batch_matrix", np.stack([weights(rng, 10) for _ in range(B)]),
                np.stack([weights(rng, 12) for _ in range(B)]), f32(rng.uniform(0, 1, (B, 10, 12))), 0.05)
    matrix_case("shared_cost", np.stack([weights(rng, 10) for _ in range(B)]),
                np.stack([weights(rng, 12, zeros=1) for _ in range(B)]), f32(rng.uniform(0, 1, (10, 12))),
                0.05)
    # 1024 problems of 64 x 64 points in the plane.
    B = 1024
    points_case("batch_1024x64", np.stack([weights(rng, 64) for _ in range(B)]),
                np.stack([weights(rng, 64) for _ in range(B)]), f32(rng.uniform(size=(B, 64, 2))),
                f32(rng.uniform(size=(B, 64, 2))), "sqeuclidean", 0.05)
    # Unbalanced (KL-relaxed marginals).
    x = f32(rng.normal(size=(12, 2)))
    y = f32(rng.normal(size=(9, 2)) + 1.0)
    points_case("unbalanced", weights(rng, 12), weights(rng, 9), x, y, "sqeuclidean", 0.1, rho=0.5)
    # Identical inputs: the divergence is 0.
    a = weights(rng, 10)
    points_case("identical", a, a.copy(), x[:10], x[:10].copy(), "sqeuclidean", 0.1, div=1)
    # More points than one block of rows and one tile of columns (ragged at
    # both ends), to be run on the built matrix and on the tiles.
    points_case("points_tiles", weights(rng, 300, zeros=7), weights(rng, 270), f32(rng.normal(size=(300, 5))),
                f32(rng.normal(size=(270, 5)) + 0.3), "euclidean", 0.02)

    with open(os.path.join(OUT, "sinkhorn_MANIFEST"), "w") as fh:
        fh.write("# Sinkhorn vectors: written by tests/gen_sinkhorn.py; do not edit.\n")
        fh.write("# expect.npy: [B, 4] = transport_cost, objective, divergence (NaN: not asked), emd2\n")
        for c in cases:
            fh.write(c + "\n")
    print(f"{len(cases)} cases written to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
