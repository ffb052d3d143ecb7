#!/usr/bin/env python3
"""Per-call overhead of the Python binding (issue 20's goal: under 5 µs above
the C call on a 1 x 128256 KL).

Times, on the CPU backend, in one process each:
  C       ie_divergence(KL) on a 1 x 128256 float32 pair, from a small C
          program compiled here against build/libinfoest.so;
  Python  infoest.divergence(p, q, "kl") on the same shape (NumPy arrays),
          and with reduction="none" (a per-row output allocated per call).
The overhead is the difference of the best of several rounds of many calls
(the least disturbed by other load).

  PYTHONPATH=build/python .venv/bin/python bench/python_overhead.py [--build build]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

C_TIMER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "infoest.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char **argv) {
  int64_t V = atoll(argv[1]); int reps = atoi(argv[2]), rounds = atoi(argv[3]);
  float *p = malloc(V * sizeof *p), *q = malloc(V * sizeof *q);
  unsigned s = 1;
  for (int64_t i = 0; i < V; i++) { s = s * 1103515245u + 12345u; p[i] = (s >> 8) * (1.0f / 16777216.0f) * 8.0f;
                                    s = s * 1103515245u + 12345u; q[i] = p[i] + (s >> 8) * (1.0f / 16777216.0f) * 0.2f; }
  int64_t shape[2] = {1, V};
  DLTensor P = {p, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
  DLTensor Q = {q, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
  ie_context *ctx; ie_context_options o = {sizeof o, IE_BACKEND_CPU, 0, 0};
  if (ie_context_create(&ctx, &o) != IE_OK) { fprintf(stderr, "%s\n", ie_errmsg(ctx)); return 1; }
  ie_summary sum;
  for (int i = 0; i < 100; i++) ie_divergence(ctx, IE_DIV_KL, &P, &Q, NULL, NULL, &sum);
  for (int r = 0; r < rounds; r++) {
    double t = now();
    for (int i = 0; i < reps; i++) ie_divergence(ctx, IE_DIV_KL, &P, &Q, NULL, NULL, &sum);
    printf("%.6f\n", (now() - t) / reps * 1e6);
  }
  ie_context_destroy(ctx);
  return 0;
}
"""


def c_times(build, V, reps, rounds):
    src_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as d:
        c = os.path.join(d, "t.c")
        exe = os.path.join(d, "t")
        open(c, "w").write(C_TIMER)
        subprocess.run(["cc", "-O2", "-o", exe, c, f"-I{src_dir}/include", f"-L{build}",
                        f"-Wl,-rpath,{build}", "-linfoest"], check=True)
        out = subprocess.run([exe, str(V), str(reps), str(rounds)], check=True,
                             capture_output=True, text=True).stdout
    return [float(v) for v in out.split()]


def py_times(f, reps, rounds):
    for _ in range(100):
        f()
    res = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            f()
        res.append((time.perf_counter() - t) / reps * 1e6)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--cols", type=int, default=128256)
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=15)
    a = ap.parse_args()
    import numpy as np
    import infoest

    rng = np.random.default_rng(1)
    p = (rng.random((1, a.cols)) * 8).astype(np.float32)
    q = (p + rng.random((1, a.cols)) * 0.2).astype(np.float32)
    ctx = infoest.Context(backend="cpu")
    c = min(c_times(os.path.abspath(a.build), a.cols, a.reps, a.rounds))
    py = min(py_times(lambda: infoest.divergence(p, q, "kl", context=ctx), a.reps, a.rounds))
    py_default = min(py_times(lambda: infoest.divergence(p, q, "kl"), a.reps, a.rounds))
    out = np.empty(1)
    py_out = min(py_times(
        lambda: infoest.divergence(p, q, "kl", reduction="none", out=out, context=ctx), a.reps, a.rounds))
    py_none = min(py_times(
        lambda: infoest.divergence(p, q, "kl", reduction="none"), a.reps, a.rounds))
    print(f"1 x {a.cols} KL, CPU backend, best of {a.rounds} x {a.reps} calls (µs per call)")
    print(f"  C ie_divergence                          {c:9.2f}")
    print(f"  infoest.divergence(context=ctx)          {py:9.2f}   overhead {py - c:6.2f}")
    print(f"  infoest.divergence (thread's context)    {py_default:9.2f}   overhead {py_default - c:6.2f}")
    print(f"  reduction='none', out= given             {py_out:9.2f}   overhead {py_out - c:6.2f}")
    print(f"  reduction='none' (allocates the output)  {py_none:9.2f}   overhead {py_none - c:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
