#!/usr/bin/env python3
"""Sinkhorn test vectors for the float32 tiles (ie_sinkhorn_options.single_precision,
docs/SPEC.md §4): float64 references from POT, as tests/gen_sinkhorn.py makes them
(its solver and file layout), on point clouds shaped like the inputs the float32
pass is for: Gaussian clouds and clustered embeddings far from the origin in
d = 64, planar and 3-D clouds with duplicated points and zero-mass entries,
n != m, batches, the three metrics, and epsilon from 1e-3 to 1 of the median cost.

Writes tests/vectors/sinkhorn_f32_<case>.{a,b,x,y,expect}.npy and
tests/vectors/sinkhorn_f32_MANIFEST (the key=value lines of sinkhorn_MANIFEST).

Run: python3 tests/gen_sinkhorn_f32.py   (needs numpy and POT: pip install pot)
"""
import os
import sys

import numpy as np

import gen_sinkhorn as gs

EPS_RELS = (1e-3, 1e-2, 1e-1, 1.0)


def embeddings(rng, n, d, centres, spread):
    """Clustered points around `centres` (an offset cloud, like sentence embeddings)."""
    k = centres.shape[0]
    lab = rng.integers(0, k, n)
    return gs.f32(centres[lab] + spread * rng.normal(size=(n, d)))


_written = {}


def save_shared(name, arrays, meta, expect):
    """gen_sinkhorn.save, but an array equal to one already written (the same
    clouds at several epsilons) is named by its first file, not written again."""
    files = {}
    for k, v in arrays.items():
        key = (v.dtype.str, v.shape, v.tobytes())
        if key not in _written:
            fn = f"sinkhorn_{name}.{k}.npy"
            np.save(os.path.join(gs.OUT, fn), v)
            _written[key] = fn
        files[k] = _written[key]
    fn = f"sinkhorn_{name}.expect.npy"
    np.save(os.path.join(gs.OUT, fn), np.asarray(expect, dtype=np.float64))
    files["expect"] = fn
    tok = [f"{k}={v}" for k, v in meta.items()] + [f"{k}={v}" for k, v in files.items()]
    gs.cases.append(f"case {name} " + " ".join(tok))


def main():
    os.makedirs(gs.OUT, exist_ok=True)
    gs.save = save_shared
    rng = np.random.default_rng(20261203)
    gs.cases.clear()

    def case(name, *args, **kw):
        gs.points_case("f32_" + name, *args, **kw)

    # d = 64: standard normal clouds, one shifted (n != m), every epsilon.
    x = gs.f32(rng.normal(size=(160, 64)))
    y = gs.f32(rng.normal(size=(120, 64)) + 0.25)
    a, b = gs.weights(rng, 160), gs.weights(rng, 120)
    for e in EPS_RELS:
        case(f"gauss64_eps{e:g}", a, b, x, y, "sqeuclidean", e)
    # d = 64: clustered embeddings offset far from the origin (|mean| ~ 10).
    centres = 10.0 / 8.0 + rng.normal(size=(8, 64))
    x = embeddings(rng, 150, 64, centres, 0.3)
    y = embeddings(rng, 130, 64, centres + 0.05 * rng.normal(size=(8, 64)), 0.3)
    a, b = gs.weights(rng, 150), gs.weights(rng, 130)
    # (not 1e-3 here: clustered clouds take more than 20 000 iterations there in
    # float64 too, more than a test should run)
    for e in EPS_RELS[1:]:
        case(f"embed64_eps{e:g}", a, b, x, y, "sqeuclidean", e)
    for metric in ("half-sqeuclidean", "euclidean"):
        case(f"embed64_{metric.replace('-', '_')}", a, b, x, y, metric, 1e-2)
    # d = 2 and 3: duplicated points and zero-mass entries, every metric.
    x2 = gs.f32(rng.normal(size=(90, 2)))
    x2[10:15] = x2[3]                 # five duplicates of point 3
    y2 = gs.f32(rng.normal(size=(70, 2)) + 0.5)
    y2[40] = x2[7]                    # a point on both sides
    a2, b2 = gs.weights(rng, 90, zeros=6), gs.weights(rng, 70, zeros=4)
    for metric in ("sqeuclidean", "half-sqeuclidean", "euclidean"):
        for e in (1e-3, 1e-1):
            case(f"dup2_{metric.replace('-', '_')}_eps{e:g}", a2, b2, x2, y2, metric, e)
    # d = 3, a batch of 3 problems, more columns than one tile (300 > 256).
    B = 3
    x3 = gs.f32(rng.normal(size=(B, 100, 3)))
    y3 = gs.f32(rng.normal(size=(B, 300, 3)) * 1.5)
    a3 = np.stack([gs.weights(rng, 100, zeros=2) for _ in range(B)])
    b3 = np.stack([gs.weights(rng, 300) for _ in range(B)])
    for e in (1e-2, 1.0):
        case(f"batch3_d3_eps{e:g}", a3, b3, x3, y3, "sqeuclidean", e)
    # The divergence (three solves) on a d = 3 pair.
    case("div_d3", a3[0], b3[0, :100] / b3[0, :100].sum(), x3[0], y3[0, :100], "sqeuclidean", 0.05, div=1)

    with open(os.path.join(gs.OUT, "sinkhorn_f32_MANIFEST"), "w") as fh:
        fh.write("# Sinkhorn float32-tile vectors: written by tests/gen_sinkhorn_f32.py; do not edit.\n")
        fh.write("# expect.npy: [B, 4] = transport_cost, objective, divergence (NaN: not asked), emd2\n")
        for c in gs.cases:
            fh.write(c + "\n")
    print(f"{len(gs.cases)} cases written to {gs.OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
