#!/usr/bin/env python3
"""Per-call overhead of the Python binding (issue 20's goal: under 5 µs above
the C call on a 1 x 128256 float32 KL, reduction "mean" and "none").

The C call is timed in the same process, on the same arrays, with the same
context and OpenMP threads as the Python calls: the extension's
_bench_divergence(reps) runs `reps` ie_divergence calls back to back in C and
times them there (steady_clock), with the summary (as reduction "mean") or
with the per-row output and no summary (as "none").  Each Python variant is
timed as a block of `reps` calls (perf_counter around a plain loop); a C
block and a Python block of the same variant run one right after the other
(their order alternating), and their difference is one sample of the
overhead.  Many such pairs, interleaved across variants, give the median and
the quartiles of the overhead: on a shared machine the two halves of a pair
see about the same load, which the best-of-rounds of two separate programs
(this script's first version) did not.

Variants (NumPy float32 arrays [1, cols], CPU backend, ctx = Context("cpu",
threads=--threads)):
  mean          infoest.divergence(p, q, "kl", context=ctx)    vs C with a summary
  mean, thread's context   infoest.divergence(p, q, "kl")     vs C with a summary
                (only with --threads 0: the thread's own context has the default)
  none, out     infoest.divergence(p, q, "kl", reduction="none", out=out, context=ctx)
                                                               vs C with per-row output
  none          infoest.divergence(p, q, "kl", reduction="none", context=ctx)
                (allocates the output)                         vs C with per-row output

--clock thread (with --threads 1) times both sides with the calling thread's
CPU time (time.thread_time / CLOCK_THREAD_CPUTIME_ID) instead of the wall
clock: the time the thread waits for a core on a loaded machine is left out
of both, which the wall clock's quartiles show to be tens of µs a call there.

--threads 1 keeps the library's OpenMP region on the calling thread: on a
loaded machine a call that forks a team waits, now and then, a whole
scheduler time slice for a descheduled helper (1 x 128256 is more than the
CPU backend's 65536-element threshold, so it forks though one row gives the
helper nothing to do), which is noise for both sides of a pair.

  PYTHONPATH=build/python .venv/bin/python bench/python_overhead.py \\
      [--cols 128256] [--pairs 4000] [--reps 1] [--threads 0] [--clock wall|thread]
      [--json out.json]

--reps 1 (the default) makes every pair one C call and one Python call, each timed alone
(the C call inside the extension, the Python call around it: one clock read
each): the closest pairing, and the figure to quote on a loaded machine.
With blocks (--reps 20) the C calls run back to back while the Python calls
have the interpreter's work between them; at 1 x 128256 blocks have given a
few µs more than per-call pairs on this machine (under load 10-16), and the
overhead grows with the row length in both (~1 µs at 8 columns, ~3 µs at
128256): the cause is not settled (the two float32 rows are ~1 MiB, this
EPYC's L2 a core; a call that is preempted resumes with cold caches).

--cols 8 shows the fixed cost alone (the C call is then ~1 µs), where the
noise of a loaded machine matters least.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def quartiles(v):
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], q[1], q[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cols", type=int, default=128256)
    ap.add_argument("--pairs", type=int, default=4000, help="C/Python block pairs a variant")
    ap.add_argument("--reps", type=int, default=1, help="calls a block (1: per-call pairs)")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--threads", type=int, default=0, help="the context's threads (0: all)")
    ap.add_argument("--clock", choices=("wall", "thread"), default="wall",
                    help="thread: the calling thread's CPU time (needs --threads 1)")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--build", help="ignored (the C call is timed inside the extension)")
    a = ap.parse_args()
    if a.clock == "thread" and a.threads != 1:
        ap.error("--clock thread needs --threads 1 (the library's work on the calling thread)")
    clock = time.thread_time if a.clock == "thread" else time.perf_counter
    thread_clock = a.clock == "thread"
    import numpy as np
    import infoest
    from infoest import _ext

    rng = np.random.default_rng(1)
    # Language-model-like logits: a Zipf-like bias plus noise; the student near the teacher.
    bias = -1.1 * np.log1p(np.arange(a.cols))
    p = (bias + rng.standard_normal((1, a.cols))).astype(np.float32)
    q = (p + 0.1 * rng.standard_normal((1, a.cols))).astype(np.float32)
    ctx = infoest.Context(backend="cpu", threads=a.threads)
    c = ctx._c
    kl = infoest.DIVERGENCE_KINDS.index("kl")
    out = np.empty(1)
    reps = a.reps
    div = infoest.divergence

    def py_mean():
        t = clock()
        for _ in range(reps):
            div(p, q, "kl", context=ctx)
        return (clock() - t) / reps

    def py_mean_thread():
        t = clock()
        for _ in range(reps):
            div(p, q, "kl")
        return (clock() - t) / reps

    def py_none_out():
        t = clock()
        for _ in range(reps):
            div(p, q, "kl", reduction="none", out=out, context=ctx)
        return (clock() - t) / reps

    def py_none():
        t = clock()
        for _ in range(reps):
            div(p, q, "kl", reduction="none", context=ctx)
        return (clock() - t) / reps

    def c_summary():
        return _ext._bench_divergence(c, kl, p, q, None, reps, thread_clock)

    def c_rows():
        return _ext._bench_divergence(c, kl, p, q, out, reps, thread_clock)

    variants = [("mean", py_mean, c_summary)]
    if a.threads == 0:
        variants.append(("mean, thread's context", py_mean_thread, c_summary))
    variants += [("none, out given", py_none_out, c_rows), ("none (allocates)", py_none, c_rows)]

    # The values agree (the Python path is the C call).
    ref = div(p, q, "kl", context=ctx)
    assert np.isclose(ref, div(p, q, "kl", reduction="none", context=ctx)[0], rtol=1e-12), ref

    load_before = os.getloadavg()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for _, py, cc in variants:
        for _ in range(max(1, a.warmup // reps)):
            py()
            cc()
    samples = {name: {"c": [], "py": [], "diff": []} for name, _, _ in variants}
    for i in range(a.pairs):
        for name, py, cc in variants:
            if i % 2:
                t_py = py()
                t_c = cc()
            else:
                t_c = cc()
                t_py = py()
            s = samples[name]
            s["c"].append(t_c * 1e6)
            s["py"].append(t_py * 1e6)
            s["diff"].append((t_py - t_c) * 1e6)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    load_after = os.getloadavg()

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=os.path.dirname(os.path.abspath(__file__))
                                ).stdout.strip() or None
    except OSError:
        commit = None
    res = {"commit": commit, "clock": a.clock, "cols": a.cols, "dtype": "float32", "kind": "kl", "pairs": a.pairs, "reps": reps,
           "backend": "cpu", "threads": a.threads, "infoest": infoest.__version__, "numpy": np.__version__,
           "python": platform.python_version(), "cpus": os.cpu_count(),
           "loadavg_before": load_before, "loadavg_after": load_after,
           "process_cpu_s": cpu, "wall_s": wall, "goal_us": 5.0, "variants": {}}
    print(f"1 x {a.cols} float32 KL, CPU backend, threads={a.threads or 'all'}, {a.clock} clock: "
          f"{a.pairs} interleaved pairs of {reps}-call blocks a variant (µs per call)")
    print(f"load average before {load_before[0]:.2f} after {load_after[0]:.2f} "
          f"({os.cpu_count()} CPUs); process CPU {cpu:.1f} s in {wall:.1f} s wall")
    print(f"  {'variant':24s} {'C median':>9s} {'Py median':>10s} {'overhead: median':>17s}"
          f" {'[q1, q3]':>17s}")
    for name, _, _ in variants:
        s = samples[name]
        d1, dm, d3 = quartiles(s["diff"])
        r = {"c_median_us": statistics.median(s["c"]), "py_median_us": statistics.median(s["py"]),
             "c_min_us": min(s["c"]), "py_min_us": min(s["py"]),
             "overhead_median_us": dm, "overhead_q1_us": d1, "overhead_q3_us": d3}
        res["variants"][name] = r
        print(f"  {name:24s} {r['c_median_us']:9.2f} {r['py_median_us']:10.2f} {dm:17.2f}"
              f"   [{d1:6.2f}, {d3:6.2f}]")
    worst = max(r["overhead_median_us"] for r in res["variants"].values())
    res["worst_overhead_median_us"] = worst
    print(f"worst median overhead {worst:.2f} µs (goal < 5 µs): "
          f"{'met' if worst < 5.0 else 'NOT met'}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
