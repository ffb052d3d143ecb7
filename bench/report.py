#!/usr/bin/env python3
"""Merge infoest-bench and peers JSON lines into RESULTS.md and a plot.

    report.py --bench B.jsonl [--bench ...] --peers P.jsonl [--peers ...]
              --out-dir DIR [--note TEXT] [--title TEXT]

Writes DIR/RESULTS.md and DIR/logits_throughput.svg (matplotlib when it can be
imported, else a hand-made SVG).  Every figure comes from the JSON files given,
i.e. from the run that wrote them.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys
from collections import OrderedDict, defaultdict

GOAL_CPU = {"op": "kl", "rows": 256, "cols": 128256, "dtype": "f32", "roof": 0.85, "speedup": 3.0}
# Every divergence kind and entropy on the CPU within this multiple of
# forward KL's time at GOAL_CPU's size, and at least this multiple of
# PyTorch's composition (the CPU-kinds issue).
GOAL_KINDS = {"of_kl": 2.5, "speedup": 5.0}
GOAL_GPU = {"roof": 0.80, "speedup": 3.0}
PLOT_OPS = ["log-softmax", "kl"]


def read_jsonl(paths):
    out = []
    for p in paths:
        if not p or not os.path.exists(p):
            continue
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    return out


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=20).stdout.strip()
    except Exception:
        return ""


def fmt_ms(x):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_ratio(peer_ms, ours_ms):
    if peer_ms is None or not ours_ms:
        return "—"
    return f"{peer_ms / ours_ms:.2f}×"


def machine_header(bench, note, title, commit=None, date=None):
    lines = [f"# {title}", ""]
    mach = next((r for r in bench if r.get("type") == "machine"), {})
    cpu = mach.get("cpu", platform.processor() or "unknown")
    lines.append(f"- **CPU**: {cpu}, {mach.get('cores', os.cpu_count())} cores online, "
                 f"{mach.get('mem_gib', '?')} GiB memory; OpenMP threads used: "
                 f"{mach.get('threads', '?')}")
    gpus = sh("nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader")
    devs = OrderedDict()
    for r in bench:
        if r.get("type") == "backend":
            devs[r["backend"]] = r.get("device", "")
    json_gpus = [d for b, d in devs.items() if b == "cuda"]
    if json_gpus:
        lines.append(f"- **GPU**: {'; '.join(json_gpus)}")
    elif gpus:
        lines.append(f"- **GPU**: {'; '.join(gpus.splitlines())}")
    else:
        lines.append("- **GPU**: none on this machine")
    lines.append("- **Backends run**: " + (", ".join(f"{b} ({d})" for b, d in devs.items())
                                         or "none"))
    if commit:
        lines.append(f"- **infoest**: {mach.get('version', '?')}, {commit}")
    else:
        c = sh("git rev-parse --short HEAD") or "unknown (no git here)"
        dirty = sh("git status --porcelain --untracked-files=no -- src include CMakeLists.txt")
        lines.append(f"- **infoest**: {mach.get('version', '?')}, commit {c}"
                     + (" (the library sources had uncommitted changes when built)" if dirty
                        else ""))
    loads = [r.get("loadavg") for r in bench if r.get("type") == "machine" and r.get("loadavg")]
    if loads:
        lines.append(f"- **Load average (1/5/15 min) when each bench run started**: "
                     f"{'; '.join(loads)} (on {mach.get('cores', '?')} cores)")
    if not date:
        dates = [r["date"] for r in bench if r.get("type") == "machine" and r.get("date")]
        date = dates[0] if dates else datetime.datetime.now().astimezone().strftime(
            "%Y-%m-%d %H:%M %Z")
    lines.append(f"- **Date of the run**: {date}")
    if note:
        lines.append(f"- **Conditions**: {note}")
    lines.append("")
    return lines


def method_section():
    return """## Method

- Every figure was measured in the run that wrote this page. Each figure: 2 warm-up
  calls (1 when a call takes over a second), then calls timed one by one until at
  least 10 calls and 0.5 s, or, for slow cases, at least 3 calls and 3 s (SciPy: 1
  warm-up, at most 5 calls; OpenCL on PoCL: 1 warm-up, 3 calls, 2 s); **median**
  reported, spread as [min – max] and the interquartile range (IQR). Figures with
  few calls (see `reps` in the JSON) have a less certain median.
- **Bytes** (compulsory traffic): row reductions count the input matrices read once
  (+ labels and the one-float-a-row output); softmax / log-softmax count the input
  read once plus the output written once. GB/s = bytes / median (1 GB = 10⁹ B).
  Peers are given the same byte count for the same case.
- **Roofs**, measured on the same device in the same run (start of that backend's
  run; the value at its end is shown beside it): CPU *read* = a summing read over
  a buffer larger than the last-level cache with the library's thread count, the
  best of several loops (plain OpenMP; AVX2 / AVX-512 with 8 accumulators over 1–4
  streams a thread), the winner named; CPU *copy* = the best of memcpy and AVX2 /
  AVX-512 non-temporal copies over the same threads, counting read + written bytes;
  CUDA *copy* = cudaMemcpy device-to-device of 1 GiB (read + written); OpenCL
  *copy* = clEnqueueCopyBuffer (read + written); *h2d* = host-to-device transfer
  (cudaMemcpy from pageable memory / blocking clEnqueueWriteBuffer). Reductions are
  held against *read* on the CPU and against *copy* on devices (no read-only roof
  is measured there); softmax / log-softmax against *copy*; host tensors given to
  a GPU backend (staged in every call) against *h2d*. *gemm* (SGEMM GFLOP/s,
  cblas_sgemm 2048³ on the CPU) is the roof for the GEMM-shaped compute cases
  (exact kNN, Vendi) with the FLOP models given in their section; Sinkhorn and KSG
  have no roof and are given as peer ratios. *exp* (CPU, G exp/s) is the
  library's float exp summed over a buffer in L1 on every thread, four sums a
  thread (the widest of AVX-512 and AVX2 the CPU has): the arithmetic bound of
  the logits ops, which take one or two exps an entry (forward KL: two a pair,
  given beside its goal). Each figure's *% of roof* is against the highest
  value of its roof the run measured (at the start, at the end, or between the
  alternating calls): on a shared host the memory bandwidth moves within a run,
  and a roof timed once at a slow moment would be passed by ops that read no
  faster. A CPU figure whose inputs pass the L3 is held against the higher of
  that and the same roof timed on buffers of its own bytes (on a 2-core Zen 4
  VM with 32 MiB of L3 the read loops ran 52 GB/s over 66 MB, 42 over 131 MB
  and 35.5 over 512 MiB: more of a smaller buffer stays in the L3 between
  passes). A figure above 100% of that is marked: a bug in the roof, or (CPU)
  inputs small enough to stay in the L3.
- **Modes**: `host` = host tensors (a GPU backend stages them to the device in
  every call); `device` = tensors already in the device's memory (cudaMalloc /
  clCreateBuffer on the library's cl_context): the figure to hold against the
  device roof.
- **Ratio** = peer median / our median: above 1× we are faster. Device-resident
  figures are compared with PyTorch on device-resident tensors; host-staged CUDA
  figures with `torch-cuda-h2d`, PyTorch moving the same inputs to the GPU and the
  result back inside the timed call.
- **Peers** on the same inputs (fixed-seed N(0, 2²) logits p; q = p + N(0, 0.5²);
  bf16 = the same values rounded): PyTorch eager, compositions as a user writes
  them (`F.log_softmax(x, -1, dtype=float32)` then `F.kl_div(log_q, log_p,
  reduction='none', log_target=True).sum(-1)`; JS through the mixture
  `log((P+Q)/2)` and two `kl_div`; entropy `-(P·log P).sum(-1)`; NLL
  `F.cross_entropy`; `torch.logsumexp`, `F.log_softmax`, `torch.softmax` in the
  input dtype), and SciPy/NumPy (`scipy.special.rel_entr`, `logsumexp`,
  `log_softmax`, `softmax`, `scipy.stats.entropy`,
  `scipy.spatial.distance.jensenshannon`²; fp32 only, as NumPy has no bfloat16).
  See `bench/peers/peers.py` for every composition. PyTorch on the CPU uses the
  same thread count as ours.
- **Sinkhorn, kNN, Vendi peers** (same saved inputs, same timing rule with one
  untimed call whose result is kept as the check plus 1 warm-up; BLAS pools
  limited to the bench's thread count with threadpoolctl): POT
  `ot.dist` + `ot.bregman.sinkhorn_log(a, b, M, reg=ε, numItermax=<our iterations>,
  stopThr=0)` in float64 on NumPy (the same fixed iteration count as ours), and a
  Python loop of it over the batch's given costs; faiss `IndexFlatL2` (add, search
  k+1, self dropped; `faiss.omp_set_num_threads` = our threads) and scikit-learn
  `NearestNeighbors(n_neighbors=k+1, n_jobs=threads)`; scikit-learn
  `mutual_info_regression(n_neighbors=3)`; `vendi_score.vendi.score_X(x, q=1)` and
  a Python loop of it; GeomLoss `SamplesLoss("sinkhorn", p=2, blur=√(ε/2),
  debias=False, backend="tensorized")` as a second Sinkhorn peer (ε-scaling, cost
  ‖x−y‖²/2: see its row's note); mauve-text `compute_mauve` beside the kNN KL
  divergence (a different estimator: time only); NumPy `eigvalsh` on the same rbf
  matrix for `vendi-rbf`. Calls over 10 s (ours: the warm-up call is the one sample)
  and the issues' large sizes (peers) are timed once. Loops over a batch are timed on the first 500 problems and
  scaled linearly to the whole batch (said beside each such figure).
"""


def key(r):
    return (r["op"], r["rows"], r["cols"], r["dtype"])


def lift_roofs(results, bench):
    """Hold each figure against the highest value of its roof that the run
    measured: at the start, at the end, or (the CPU's read roof) between the
    alternating calls.  On a shared host the memory bandwidth moves by half
    within a run (a Zen 4 VM: 37 GB/s at the start, 59 between calls); a
    roof timed once at a slow moment is no roof, and figures passed it
    without reading faster.  The start's value stays in roof_start_gbps."""
    top = {}
    for r in bench:
        if r.get("type") == "roof" and r.get("value"):
            k = (r["backend"], r["kind"])
            top[k] = max(top.get(k, 0.0), r["value"])
        elif r.get("type") == "alternating" and r.get("op") == "read-roof" and r.get("gbps"):
            k = (r["backend"], "read")
            top[k] = max(top.get(k, 0.0), r["gbps"])
    for r in results:
        best = top.get((r.get("backend"), r.get("roof_kind")), 0.0)
        if r.get("status") == "ok" and best > r.get("roof_gbps", 0.0) > 0:
            r["roof_start_gbps"] = r["roof_gbps"]
            r["roof_gbps"] = best
            r["roof_frac"] = r["gbps"] / best


def build(bench, peers):
    results = [r for r in bench if r.get("type") == "result"]
    lift_roofs(results, bench)
    roofs = [r for r in bench if r.get("type") == "roof"]
    skips = [r for r in bench if r.get("type") == "skip"]
    peer = {}
    for r in peers:
        if r.get("type") == "peer" and r.get("status") == "ok" and r.get("family") != "compute":
            peer[(r["peer"],) + key(r)] = r
    return results, roofs, skips, peer


def peers_for(backend, mode="device"):
    """The peers a figure is compared with: PyTorch on the same device with the
    tensors in the same place (host-staged figures against torch moving the same
    inputs up and the result back); on CPU-side backends, PyTorch and SciPy."""
    if backend == "cuda":
        return ["torch-cuda-h2d"] if mode == "host" else ["torch-cuda"]
    return ["torch-cpu", "scipy"]


def ops_in_order(results):
    seen = OrderedDict()
    for r in results:
        seen.setdefault(r["op"], r.get("group", r["op"]))
    return seen


def roof_section(roofs, at_size=()):
    lines = ["## Roofs measured in this run", "",
             "| backend | roof | at start | at end | spread at start [min – max] | how |",
             "| --- | --- | ---: | ---: | --- | --- |"]
    by = OrderedDict()
    for r in roofs:
        by.setdefault((r["backend"], r["kind"]), {})[r["when"]] = r
    for (b, k), d in by.items():
        s, e = d.get("start"), d.get("end")
        unit = (s or e)["unit"]
        sp = (f"{fmt_ms(s['median_ms'])} ms [{fmt_ms(s['min_ms'])} – {fmt_ms(s['max_ms'])}], "
              f"{s['reps']} runs") if s else "—"
        end = f"{e['value']:.1f} {unit}" if e else "—"
        start = f"{s['value']:.1f} {unit}" if s else "—"
        how = (s or e).get("note", "")
        if (s or e).get("methods"):
            how += f"; loops tried (GB/s): {(s or e)['methods']}"
        lines.append(f"| {b} | {k} | {start} | {end} | {sp} | {how} |")
    lines.append("")
    sized = [r for r in at_size if r.get("value")]
    if sized:
        lines += ["At the figures' own sizes (CPU figures past the L3 are held against the "
                  "higher of the roof above and this one, timed once on buffers of their bytes):",
                  "", "| backend | roof | bytes | GB/s | best loop |", "| --- | --- | ---: | ---: | --- |"]
        lines += [f"| {r['backend']} | {r['kind']} | {r['bytes'] / 1e6:.1f} MB | "
                  f"{r['value']:.1f} | {r.get('method', '')} |" for r in sized]
        lines.append("")
    return lines


def over_roof(r, llc_mib):
    """'' for a figure within its roof; else why it is above it."""
    if r.get("roof_frac", 0) <= 1.0:
        return ""
    if r["backend"] == "cpu" and llc_mib and r.get("bytes", 0) <= llc_mib * 1048576:
        return "over 100%: inputs fit in the L3"
    return "over 100%: roof bug"


def pct_roof(r, llc_mib):
    why = over_roof(r, llc_mib)
    pct = f"{100 * r['roof_frac']:.1f}%"
    return f"**{pct} ({why})**" if why else pct


def result_table(op, rows_, peer, llc_mib=None):
    lines = [f"### {op}", "",
             "| size B × V | dtype | backend (mode) | ours median ms | spread [min – max] (IQR) "
             "| GB/s | roof GB/s | % of roof | peer | peer median ms | peer / ours |",
             "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for r in rows_:
        size = f"{r['rows']} × {r['cols']}"
        bm = f"{r['backend']} ({r['mode']})"
        if r.get("status") != "ok":
            lines.append(f"| {size} | {r['dtype']} | {bm} | failed | {r.get('error', '')[:120]} "
                         "| — | — | — | — | — | — |")
            continue
        spread = (f"[{fmt_ms(r['min_ms'])} – {fmt_ms(r['max_ms'])}] "
                  f"({fmt_ms(r['q1_ms'])} – {fmt_ms(r['q3_ms'])})")
        pl = [(n, peer.get((n,) + key(r))) for n in peers_for(r["backend"], r["mode"])]
        pl = [(n, p) for n, p in pl if p] or [("—", None)]
        for i, (n, p) in enumerate(pl):
            if i == 0:
                head = (f"| {size} | {r['dtype']} | {bm} | {fmt_ms(r['median_ms'])} | {spread} | "
                        f"{r['gbps']:.2f} | {r['roof_gbps']:.1f} ({r['roof_kind']}) | "
                        f"{pct_roof(r, llc_mib)} |")
            else:
                head = "| | | | | | | | |"
            if p:
                lines.append(head + f" {n} | {fmt_ms(p['median_ms'])} "
                             f"[{fmt_ms(p['min_ms'])} – {fmt_ms(p['max_ms'])}] | "
                             f"{fmt_ratio(p['median_ms'], r['median_ms'])} |")
            else:
                lines.append(head + " — | — | — |")
    lines.append("")
    return lines


def goals_section(results, peer, llc_mib=None, roofs=(), alternating=()):
    """The divergence issue's goals.  Where the run has alternating rounds at
    the goal's size (rows.c, run_alternating: every loop of the read roof,
    then every kind, round after round), the verdicts use them: a ratio of
    figures timed minutes apart carries the host's drift between them."""
    lines = ["## Goals (divergence issue)", ""]
    ok = [r for r in results if r.get("status") == "ok"]
    g = GOAL_CPU
    alt = {a["op"]: a for a in alternating if a.get("backend") == "cpu" and a["rows"] == g["rows"]
           and a["cols"] == g["cols"] and a["dtype"] == g["dtype"]}
    alt_kl, alt_roof = alt.get(g["op"]), alt.get("read-roof")
    cpu = [r for r in ok if r["backend"] == "cpu" and r["op"] == g["op"] and r["rows"] == g["rows"]
           and r["cols"] == g["cols"] and r["dtype"] == g["dtype"]]
    if cpu:
        r = cpu[0]
        p = peer.get(("torch-cpu",) + key(r))
        sp = p["median_ms"] / r["median_ms"] if p else None
        roof_ok = r["roof_frac"] >= g["roof"]
        sp_ok = sp is not None and sp >= g["speedup"]
        lines.append(f"- **CPU, forward KL from fp32 logits, {g['rows']} × {g['cols']}**: "
                     f"{pct_roof(r, llc_mib)} of the measured read bandwidth "
                     f"({r['gbps']:.2f} of {r['roof_gbps']:.1f} GB/s; goal ≥ {100 * g['roof']:.0f}%: "
                     f"**{'met' if roof_ok else 'missed'}**); "
                     + (f"{sp:.2f}× PyTorch's composition (goal ≥ 3×: "
                        f"**{'met' if sp_ok else 'missed'}**)." if sp is not None
                        else "no PyTorch figure in this run (goal ≥ 3×: not measured)."))
        if alt_kl and alt_roof:
            frac = alt_kl["gbps"] / alt_roof["gbps"]
            lines.append(f"  In {alt_kl['rounds']} alternating rounds (each: one read by every loop "
                         f"of the read roof, the best here {alt_roof['method']}, then one call of "
                         f"every kind): forward KL "
                         f"{alt_kl['median_ms']:.2f} ms, **{100 * frac:.1f}%** of the read roof "
                         f"timed between its calls ({alt_roof['gbps']:.1f} GB/s; goal ≥ "
                         f"{100 * g['roof']:.0f}%: **{'met' if frac >= g['roof'] else 'missed'}**). "
                         f"The verdict above holds KL's figure in turn against the run's highest "
                         f"read roof.")
        # The read roofs of the run (start, end, between calls) can differ by more
        # than KL's figures do on a shared host: KL's faster figure against the
        # highest of them, where it is well above the ones used above.
        reads = [(x["value"], f"at its {x['when']}") for x in roofs
                 if x.get("backend") == "cpu" and x.get("kind") == "read" and x.get("value")]
        if alt_roof:
            reads.append((alt_roof["gbps"], "between KL's calls"))
        if reads:
            top, where = max(reads)
            used = min(r["roof_gbps"], alt_roof["gbps"] if alt_roof else r["roof_gbps"])
            best = max((r["gbps"], "in turn", r["median_ms"]),
                       (alt_kl["gbps"], "alternating", alt_kl["median_ms"]) if alt_kl
                       else (0, "", 0))
            if top > 1.1 * used:
                lines.append(f"  The highest read roof this run measured was {top:.1f} GB/s "
                             f"({where}): against it forward KL's faster figure ({best[2]:.2f} ms, "
                             f"{best[1]}) is {100 * best[0] / top:.1f}%.  A roof that falls "
                             f"while KL's time holds (other tenants reading memory) lifts the "
                             f"percentages above without KL reading faster.")
        ex = [x for x in roofs if x.get("backend") == "cpu" and x.get("kind") == "exp"
              and x.get("when") == "start"]
        if ex:
            # KL takes an exp of each row's entry: 2·B·V exps at the exp roof
            t_exp = 2.0 * r["rows"] * r["cols"] / (ex[0]["value"] * 1e9)
            gbps_exp = r["bytes"] / t_exp / 1e9
            lines.append(f"  Its exps alone (two a pair, at the exp roof of this run, "
                         f"{ex[0]['value']:.1f} G exp/s) take {1e3 * t_exp:.2f} ms, "
                         f"{gbps_exp:.1f} GB/s: the arithmetic bound of a loop that did nothing "
                         f"else; KL runs at {100 * t_exp / (r['median_ms'] / 1e3):.1f}% of it.")
            # the time KL may take at the goal, and how much of it the exps leave
            t_goal = r["bytes"] / (g["roof"] * r["roof_gbps"] * 1e9)
            spare = (t_goal - t_exp) / t_exp
            lines.append(f"  At {100 * g['roof']:.0f}% of the read roof KL would take "
                         f"{1e3 * t_goal:.2f} ms: "
                         + (f"the rest of its work (the φ terms, the maxima, the sums) would "
                            f"have to fit in {100 * spare:.0f}% of its exps' time; here it takes "
                            f"{100 * (r['median_ms'] / 1e3 - t_exp) / t_exp:.0f}%."
                            if spare > 0 else
                            "less than its exps alone: on this CPU the goal is out of reach "
                            "of any loop that takes two exps a pair."))
        kinds = [k for k in ok if k["backend"] == "cpu" and k["rows"] == g["rows"]
                 and k["cols"] == g["cols"] and k["dtype"] == g["dtype"] and k["op"] != g["op"]
                 and k.get("group") in ("divergence", "entropy")]
        if kinds:
            lines += ["", f"Every kind on the CPU, {g['rows']} × {g['cols']} {g['dtype']}: goal "
                      f"≤ {GOAL_KINDS['of_kl']:g}× forward KL's time and ≥ "
                      f"{GOAL_KINDS['speedup']:g}× PyTorch's composition."
                      + (f"  \"Alternating\": the kind's median over {alt_kl['rounds']} rounds "
                         f"over forward KL's in the same rounds (every kind called once a round), "
                         f"which the verdict uses; \"in turn\": the medians of the table above, "
                         f"each kind timed on its own." if alt_kl else ""), "",
                      "| kind | median ms | × KL's time, in turn | × KL's time, alternating "
                      "| × PyTorch | goal |",
                      "| --- | ---: | ---: | ---: | ---: | --- |"]

            def alt_ratio(k):
                a = alt.get(k["op"])
                return a["median_ms"] / alt_kl["median_ms"] if a and alt_kl else None

            for k in sorted(kinds, key=lambda k: k["median_ms"] / r["median_ms"]):
                ratio, ar = k["median_ms"] / r["median_ms"], alt_ratio(k)
                pk = peer.get(("torch-cpu",) + key(k))
                spk = pk["median_ms"] / k["median_ms"] if pk else None
                met = ((ar if ar is not None else ratio) <= GOAL_KINDS["of_kl"]
                       and (spk is None or spk >= GOAL_KINDS["speedup"]))
                lines.append(f"| {k['op']} | {fmt_ms(k['median_ms'])} | {ratio:.2f}× | "
                             f"{'—' if ar is None else f'{ar:.2f}×'} | "
                             f"{'—' if spk is None else f'{spk:.2f}×'} | "
                             f"{'met' if met else '**missed**'} |")
            lines.append("")
    else:
        lines.append("- CPU goal: the KL 256 × 128256 fp32 case was not run here.")
    over = [r for r in ok if over_roof(r, llc_mib)]
    if over:
        lines.append("- **Above their roof** (a roof is the best loop the bench found; an op "
                     "past it means the roof is wrong, unless its inputs stay in the L3): "
                     + "; ".join(f"{r['op']} {r['rows']} × {r['cols']} {r['dtype']} "
                                 f"{r['backend']} ({r['mode']}) {100 * r['roof_frac']:.0f}%, "
                                 f"{over_roof(r, llc_mib)[len('over 100%: '):]}" for r in over)
                     + ".")
    gpu = [r for r in ok if r["backend"] == "cuda" and r["mode"] == "device"
           and r.get("group") == "divergence"]
    if gpu:
        lines += ["", "GPU (CUDA, device-resident tensors): goal ≥ 80% of the measured copy "
                  "bandwidth and ≥ 3× PyTorch eager.", "",
                  "| kind | size | dtype | % of copy roof | × torch-cuda | goal |",
                  "| --- | --- | --- | ---: | ---: | --- |"]
        for r in gpu:
            p = peer.get(("torch-cuda",) + key(r))
            sp = p["median_ms"] / r["median_ms"] if p else None
            met = r["roof_frac"] >= GOAL_GPU["roof"] and sp is not None and sp >= GOAL_GPU["speedup"]
            lines.append(f"| {r['op']} | {r['rows']} × {r['cols']} | {r['dtype']} | "
                         f"{100 * r['roof_frac']:.1f}% | {'—' if sp is None else f'{sp:.2f}×'} | "
                         f"{'met' if met else '**missed**'} |")
    else:
        lines.append("- GPU goal: no CUDA device-resident divergence figures in this run "
                     "(no GPU here, or the CUDA backend was skipped: see below).")
    lines.append("")
    return lines


# ---- compute-bound families: Sinkhorn, kNN, Vendi ----------------------------------

# (family heading, [ops in order], {op: peers in order})
COMPUTE_FAMILIES = [
    ("Sinkhorn (docs/SPEC.md §4)", ["sinkhorn", "sinkhorn-20k", "sinkhorn-batch"],
     {"sinkhorn": ["pot-sinkhorn_log", "geomloss-SamplesLoss"],
      "sinkhorn-batch": ["pot-sinkhorn_log-loop"]}),
    ("kNN (docs/SPEC.md §5)", ["knn", "knn-100k", "ksg-mi", "knn-div"],
     {"knn": ["faiss-IndexFlatL2", "sklearn-NearestNeighbors"],
      "knn-100k": ["faiss-IndexFlatL2", "sklearn-NearestNeighbors"],
      "ksg-mi": ["sklearn-mutual_info_regression"],
      "knn-div": ["mauve-compute_mauve"]}),
    ("Vendi (docs/SPEC.md §6)", ["vendi", "vendi-10k", "vendi-rbf", "vendi-batch"],
     {"vendi": ["vendi-score"], "vendi-10k": ["vendi-score"], "vendi-rbf": ["numpy-eigvalsh"],
      "vendi-batch": ["vendi-score-loop"]}),
]

# What a peer's figure means where it is not the same computation as ours: said
# in its row, so that the ratio is read honestly.
PEER_NOTES = {
    "geomloss-SamplesLoss": (
        "GeomLoss `SamplesLoss(\"sinkhorn\", p=2, blur=√(ε/2), debias=False, "
        "backend=\"tensorized\")`, float32 torch: its p = 2 cost is ‖x−y‖²/2, so blur² = ε/2 "
        "gives our Gibbs kernel exp(−‖x−y‖²/ε); it runs ε-scaling (ε annealed from the "
        "clouds' diameter down to blur²) with `scaling` chosen for about our iteration count, "
        "not plain Sinkhorn iterations at a fixed ε, and returns its dual value (shown ×2), "
        "not ⟨P,C⟩"),
    "mauve-compute_mauve": (
        "mauve-text `compute_mauve(p_features=x, q_features=y)` (PCA, k-means quantisation "
        "of both sets, divergence frontier): a different estimator of divergence between "
        "the same two sets; the ratio is time, not agreement"),
    "numpy-eigvalsh": (
        "NumPy builds the same rbf matrix K/n in float64 from the saved points and runs "
        "`np.linalg.eigvalsh` (LAPACK syevd); the figure includes building the matrix, as "
        "ours does; the check gives each part's time"),
}

# The issues' goals: (label, ops that can stand for it (first present wins),
# the issue's size for the op, peer, speed-up wanted).
COMPUTE_GOALS = [
    ("Sinkhorn, CPU, n = m = 1000, d = 2, ε = 0.01", ["sinkhorn"], None,
     "pot-sinkhorn_log", 5.0, "ot.bregman.sinkhorn_log"),
    ("Sinkhorn batch, CPU, 1024 problems of 64 × 64", ["sinkhorn-batch"], None,
     "pot-sinkhorn_log-loop", 20.0, "a Python loop over POT's sinkhorn_log"),
    ("exact 5-NN, CPU, N = 100 000, d = 64", ["knn-100k", "knn"], 100000,
     "faiss-IndexFlatL2", 1.0, "faiss IndexFlatL2 with the same threads"),
    ("KSG mutual information, CPU, N = 100 000, k = 3", ["ksg-mi"], None,
     "sklearn-mutual_info_regression", 10.0, "sklearn mutual_info_regression"),
    ("Vendi, CPU, n = 10 000, d = 768, cosine, q = 1", ["vendi-10k", "vendi"], 10000,
     "vendi-score", 10.0, "vendi-score's score_X"),
    ("Vendi batch, CPU, 10 000 sets of 16, d = 64", ["vendi-batch"], None,
     "vendi-score-loop", 50.0, "a Python loop over vendi-score"),
    # No ratio goal in the issue: the comparison itself (target None).
    ("Vendi rbf, CPU, n = 8000, d = 64, q = 1", ["vendi-rbf"], 8000,
     "numpy-eigvalsh", None, "NumPy eigvalsh on the same matrix (matrix build included)"),
]

# Memory goals: (label, op, MiB limit), read from the op's check string ("peak RSS N MiB").
MEMORY_GOALS = [
    ("Sinkhorn, CPU, n = m = 20 000, d = 64, 10 iterations: peak memory under 200 MiB",
     "sinkhorn-20k", 200.0),
]


def compute_build(bench, peers):
    ours = OrderedDict()
    for r in bench:
        if r.get("type") == "compute":
            ours.setdefault((r["op"], r["set"], r["backend"]), r)
    peer, peer_bad = {}, {}
    for r in peers:
        if r.get("type") == "peer" and r.get("family") == "compute":
            if r.get("status") == "ok":
                peer[(r["peer"], r["op"], r["set"])] = r
            else:
                peer_bad[(r["peer"], r["op"], r["set"])] = r
    return ours, peer, peer_bad


def thousands(v):
    return f"{v:,}".replace(",", " ")


def size_words(r):
    op, n, m, d = r["op"], r["n"], r["m"], r["d"]
    if op.startswith("sinkhorn-batch"):
        return f"{r['batch']} × ({n} × {m}), given costs"
    if op.startswith("sinkhorn"):
        return f"n = m = {thousands(n)}, d = {d} clouds"
    if op == "knn-div":
        return f"x: {thousands(n)}, y: {thousands(m)}, d = {d}, k = {r['k']}"
    if op.startswith("knn"):
        return f"N = {thousands(n)}, d = {d}, k = {r['k']}"
    if op.startswith("ksg"):
        return f"N = {thousands(n)}, dx = dy = 1, k = {r['k']}"
    if op == "vendi-batch":
        return f"{thousands(r['batch'])} sets × {n}, d = {d}"
    if op == "vendi-rbf":
        return f"n = {thousands(n)}, d = {d}, rbf σ = {r['eps']:g}"
    return f"n = {thousands(n)}, d = {d}"


def what_words(r):
    op = r["op"]
    if op.startswith("sinkhorn"):
        return (f"ie_sinkhorn, ε = {r['eps']:g}, sqeuclidean, {r['iterations']} iterations "
                f"(max_iter {r['max_iter']}, tol 1e-300: never met)")
    if op == "knn-div":
        return "ie_knn_divergence, Wang–Kulkarni–Verdú KL(x ‖ y)"
    if op.startswith("knn"):
        return "ie_knn, Euclidean, exclude_self, int64 indices + f32 distances"
    if op.startswith("ksg"):
        return "ie_knn_mutual_information (KSG 1)"
    if op == "vendi-batch":
        return "ie_vendi_batch, cosine, q = 1"
    if op == "vendi-rbf":
        return f"ie_vendi, rbf σ = {r['eps']:g} (about the median pairwise distance), q = 1, float64 eigenvalues"
    return "ie_vendi, cosine, q = 1"


def compute_sections(bench, peers):
    ours, peer, peer_bad = compute_build(bench, peers)
    if not ours:
        return [], []
    L = ["## Sinkhorn, kNN, Vendi (compute-bound families)", "",
         "Roof: the SGEMM rate measured in the same run (cblas_sgemm 2048³, see the roofs "
         "below), used where the work is GEMM-shaped (exact kNN: 2·N²·d for the all-pairs "
         "inner products; Vendi: per set 2·n·d·min(n, d) for the Gram + (4/3)·min(n, d)³ for "
         "the tridiagonal reduction), given as GFLOP/s-equivalent and % of that roof. "
         "Sinkhorn (exp-bound log-domain passes) and KSG (d = 1 neighbour counting) have no "
         "roof: the peer ratio is their figure. Ratio = peer median / our median (above 1× "
         "we are faster). Peers run on the inputs the bench saved, with the bench's thread "
         "count, timed by the same rule (see Method).", ""]
    goals = ["## Goals (Sinkhorn, kNN, Vendi issues)", ""]
    for head, ops, pmap in COMPUTE_FAMILIES:
        rows = [r for (op, st, b), r in ours.items() if op in ops]
        if not rows:
            continue
        rows.sort(key=lambda r: (ops.index(r["op"]), r["backend"] != "cpu", r["backend"]))
        L += [f"### {head}", "",
              "| case | size | backend | ours median ms | spread [min – max] (IQR), reps "
              "| GFLOP/s-eq. (% of SGEMM roof) | peer | peer median ms [min – max] "
              "| peer / ours | results (ours; peer) |",
              "| --- | --- | --- | ---: | --- | --- | --- | ---: | ---: | --- |"]
        for r in rows:
            if r.get("status") != "ok":
                L.append(f"| {r['op']} | {r.get('size', '')} | {r['backend']} | failed | "
                         f"{r.get('error', '')[:120]} | — | — | — | — | — |")
                continue
            spread = (f"[{fmt_ms(r['min_ms'])} – {fmt_ms(r['max_ms'])}] "
                      f"({fmt_ms(r['q1_ms'])} – {fmt_ms(r['q3_ms'])}), {r['reps']}")
            roof = (f"{r['gflops']:.1f} ({100 * r['roof_frac']:.1f}% of {r['roof_gflops']:.0f})"
                    if r.get("flop") else "no roof")
            plist = pmap.get(r["op"], [])
            shown = 0
            for i, pn in enumerate(plist):
                p = peer.get((pn, r["op"], r["set"]))
                bad = peer_bad.get((pn, r["op"], r["set"]))
                head_cells = (f"| {r['op']} | {size_words(r)} | {r['backend']} | "
                              f"{fmt_ms(r['median_ms'])} | {spread} | {roof} |" if shown == 0
                              else "| | | | | | |")
                if p:
                    sc = (f" (timed on {p['scaled_from']} of {p['batch']}, scaled)"
                          if p.get("scaled_from") else "")
                    if p.get("single_call"):
                        sc += " (one cold call: minutes a call)"
                    if pn in PEER_NOTES:
                        sc += f". Note: {PEER_NOTES[pn]}"
                    L.append(head_cells + f" {pn} {p.get('version', '')} | "
                             f"{fmt_ms(p['median_ms'])} [{fmt_ms(p['min_ms'])} – "
                             f"{fmt_ms(p['max_ms'])}]{sc} | "
                             f"{fmt_ratio(p['median_ms'], r['median_ms'])} | "
                             f"{r.get('check', '')}; {p.get('check', '')} |")
                elif bad:
                    L.append(head_cells + f" {pn}: {bad['status']} ({bad.get('error', '')[:100]}) "
                             f"| — | — | {r.get('check', '')} |")
                else:
                    L.append(head_cells + f" {pn}: not run | — | — | {r.get('check', '')} |")
                shown += 1
            if shown == 0:
                L.append(f"| {r['op']} | {size_words(r)} | {r['backend']} | "
                         f"{fmt_ms(r['median_ms'])} | {spread} | {roof} | — | — | — | "
                         f"{r.get('check', '')} |")
        L.append("")
        L.append("Calls: " + "; ".join(f"`{r['op']}`: {what_words(r)}" for r in rows
                                       if r.get("status") == "ok" and r["backend"] == "cpu")
                 + ".")
        L.append("")
    for label, ops, want_n, pn, target, pwords in COMPUTE_GOALS:
        r = next((ours.get((op, "standard", "cpu")) for op in ops
                  if ours.get((op, "standard", "cpu"), {}).get("status") == "ok"), None)
        goal_words = f"goal ≥ {target:g}×" if target else "no ratio goal: the comparison"
        if r is None:
            goals.append(f"- **{label}**: not run here ({goal_words}, {pwords}).")
            continue
        p = peer.get((pn, r["op"], r["set"]))
        size_note = ""
        if want_n and r["n"] != want_n:
            size_note = (f" Measured at {size_words(r)}, not the issue's {thousands(want_n)}"
                         + " (not feasible for repeated timing on this 2-core machine "
                         "within the run; see the note below the goals).")
        if not p:
            bad = peer_bad.get((pn, r["op"], r["set"]))
            why = f"{bad['status']}: {bad.get('error', '')}" if bad else "not run"
            goals.append(f"- **{label}**: ours {fmt_ms(r['median_ms'])} ms; {pwords}: {why} "
                         f"({goal_words}: **not measured**).{size_note}")
            continue
        sp = p["median_ms"] / r["median_ms"]
        sc = (f", timed on {p['scaled_from']} of {p['batch']} and scaled"
              if p.get("scaled_from") else "")
        if p.get("single_call"):
            sc += (", one cold call (ours: " +
                   ("one call too, over 10 s)" if r.get("reps") == 1 else
                    "the median of the usual rule)"))
        verdict = (f"goal ≥ {target:g}×: **{'met' if sp >= target else 'missed'}**" if target
                   else "no ratio goal in the issue")
        goals.append(f"- **{label}**: ours {fmt_ms(r['median_ms'])} ms, {pwords} "
                     f"{fmt_ms(p['median_ms'])} ms{sc}: **{sp:.2f}×** ({verdict}).{size_note}")
    for label, op, limit in MEMORY_GOALS:
        r = ours.get((op, "standard", "cpu"))
        if r is None or r.get("status") != "ok":
            goals.append(f"- **{label}**: not run here (`{op}`; run.sh names it by default).")
            continue
        mm = re.search(r"peak RSS ([0-9.]+) MiB", r.get("check", ""))
        if not mm:
            goals.append(f"- **{label}**: `{op}` ran ({fmt_ms(r['median_ms'])} ms) but its check "
                         "string gives no peak RSS (**not measured**).")
            continue
        peak = float(mm.group(1))
        goals.append(f"- **{label}**: peak RSS {peak:.0f} MiB (the process's VmHWM over the "
                     f"timed calls, inputs and bench included), {fmt_ms(r['median_ms'])} ms a "
                     f"call: **{'met' if peak < limit else 'missed'}**.")
    goals.append("")
    return goals, L


# ---- the plot ---------------------------------------------------------------------

def plot_series(results, peer):
    """{op: {label: [(rows, gbps)]}} and roofs per op."""
    series = {op: defaultdict(list) for op in PLOT_OPS}
    done = set()
    for r in results:
        if r.get("status") != "ok" or r["op"] not in PLOT_OPS:
            continue
        label = f"infoest {r['backend']} ({r['mode']}) {r['dtype']}"
        series[r["op"]][label].append((r["rows"], r["gbps"]))
        for n in peers_for(r["backend"], r["mode"]):
            p = peer.get((n,) + key(r))
            plabel = f"{n} {r['dtype']}"
            if p and (r["op"], plabel, r["rows"]) not in done:
                done.add((r["op"], plabel, r["rows"]))
                series[r["op"]][plabel].append((r["rows"], r["bytes"] / (p["median_ms"] * 1e-3) / 1e9))
    for op in series:
        for k in list(series[op]):
            pts = sorted(series[op][k])
            if len(pts) < 2:
                del series[op][k]
            else:
                series[op][k] = pts
    return series


def plot_matplotlib(series, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(PLOT_OPS), figsize=(6.5 * len(PLOT_OPS), 4.6))
    for ax, op in zip(axes, PLOT_OPS):
        for label, pts in sorted(series[op].items()):
            xs, ys = zip(*pts)
            style = "-o" if label.startswith("infoest") else "--s"
            ax.plot(xs, ys, style, label=label, markersize=4)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size B (rows of V = 128256)")
        ax.set_ylabel("throughput, GB/s (compulsory bytes / median)")
        ax.set_title(op)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_svg(series, path):
    """A dependency-free SVG line chart (log-log), one panel per op."""
    W, H, M = 520, 360, 60
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
              "#17becf"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * len(PLOT_OPS)}" '
           f'height="{H + 120}" font-family="sans-serif" font-size="11">',
           f'<rect width="100%" height="100%" fill="white"/>']
    for pi, op in enumerate(PLOT_OPS):
        ox = pi * W
        pts_all = [p for s in series[op].values() for p in s]
        if not pts_all:
            out.append(f'<text x="{ox + M}" y="{M}">{op}: no data</text>')
            continue
        xs = [math.log2(x) for x, _ in pts_all]
        ys = [math.log10(max(y, 1e-6)) for _, y in pts_all]
        x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
        y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
        if y1 == y0:
            y1 += 1

        def X(v):
            return ox + M + (math.log2(v) - x0) / (x1 - x0) * (W - 1.5 * M)

        def Y(v):
            return M / 2 + (y1 - math.log10(max(v, 1e-6))) / (y1 - y0) * (H - 1.5 * M)

        out.append(f'<text x="{ox + W / 2}" y="16" text-anchor="middle" font-size="14">{op}</text>')
        out.append(f'<rect x="{ox + M}" y="{M / 2}" width="{W - 1.5 * M}" height="{H - 1.5 * M}" '
                   f'fill="none" stroke="#444"/>')
        for e in range(int(y0), int(y1) + 1):
            y = Y(10 ** e)
            out.append(f'<line x1="{ox + M}" x2="{ox + W - M / 2}" y1="{y}" y2="{y}" stroke="#ddd"/>')
            out.append(f'<text x="{ox + M - 4}" y="{y + 4}" text-anchor="end">{10 ** e:g}</text>')
        for b in sorted({x for x, _ in pts_all}):
            x = X(b)
            out.append(f'<text x="{x}" y="{H - M + 16}" text-anchor="middle">{b}</text>')
        out.append(f'<text x="{ox + W / 2}" y="{H - M + 32}" text-anchor="middle">batch size B '
                   f'(V = 128256)</text>')
        out.append(f'<text transform="translate({ox + 14},{H / 2}) rotate(-90)" '
                   f'text-anchor="middle">GB/s</text>')
        for si, (label, pts) in enumerate(sorted(series[op].items())):
            c = colors[si % len(colors)]
            dash = "" if label.startswith("infoest") else ' stroke-dasharray="5,3"'
            d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
            for x, y in pts:
                out.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3" fill="{c}"/>')
            ly = H - 10 + si * 14
            out.append(f'<line x1="{ox + M}" x2="{ox + M + 24}" y1="{ly}" y2="{ly}" stroke="{c}" '
                       f'stroke-width="2"{dash}/>')
            out.append(f'<text x="{ox + M + 30}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", action="append", default=[])
    ap.add_argument("--peers", action="append", default=[])
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--note", default="")
    ap.add_argument("--title", default="infoest benchmark results")
    ap.add_argument("--svg-only", action="store_true", help="do not use matplotlib")
    ap.add_argument("--commit", default=None, help="what was built, in words (default: git)")
    ap.add_argument("--date", default=None, help="date of the run (default: from the JSON)")
    ap.add_argument("--compute-note", default="",
                    help="a paragraph under the Sinkhorn/kNN/Vendi goals (sizes not run, ...)")
    ap.add_argument("--gpu-link", default=None,
                    help="a results folder (relative to --out-dir) holding the GPU figures; "
                         "default: the newest results/gpu-* under --out-dir")
    args = ap.parse_args()

    bench, peers = read_jsonl(args.bench), read_jsonl(args.peers)
    results, roofs, skips, peer = build(bench, peers)
    os.makedirs(args.out_dir, exist_ok=True)

    L = machine_header(bench, args.note, args.title, args.commit, args.date)
    gpu_link = args.gpu_link
    if gpu_link is None:
        rd = os.path.join(args.out_dir, "results")
        cands = sorted(d for d in (os.listdir(rd) if os.path.isdir(rd) else [])
                       if d.startswith("gpu-") and os.path.exists(os.path.join(rd, d, "RESULTS.md")))
        gpu_link = f"results/{cands[-1]}" if cands else ""
    if gpu_link:
        L.insert(len(L) - 1, f"- **GPU figures**: not measured in this run; the latest GPU run "
                 f"is [{gpu_link}/RESULTS.md]({gpu_link}/RESULTS.md) (its own commit, date and "
                 f"conditions are on that page)")
    spreads = [r["max_ms"] / r["min_ms"] for r in results
               if r.get("status") == "ok" and r["min_ms"] > 0]
    if spreads:
        spreads.sort()
        L.append(f"Timing noise in this run: the median figure's max/min ratio is "
                 f"{spreads[len(spreads) // 2]:.2f} (worst {spreads[-1]:.1f}); medians are "
                 f"robust to it, single runs are not.")
        L.append("")
    llc_mib = next((r.get("llc_mib") for r in bench if r.get("type") == "machine"), None)
    L += goals_section(results, peer, llc_mib, roofs,
                       [r for r in bench if r.get("type") == "alternating"])
    cgoals, csections = compute_sections(bench, peers)
    if args.compute_note:
        cgoals = cgoals[:-1] + ["", args.compute_note, ""] if cgoals else cgoals
    L += cgoals

    plot_name = "logits_throughput.svg"
    series = plot_series(results, peer)
    try:
        if args.svg_only:
            raise ImportError
        plot_matplotlib(series, os.path.join(args.out_dir, plot_name))
        how = "matplotlib"
    except ImportError:
        plot_svg(series, os.path.join(args.out_dir, plot_name))
        how = "hand-made SVG"
    L += ["## Throughput against batch size (log-softmax, KL)", "",
          f"![throughput]({plot_name})", "",
          f"Solid lines: infoest; dashed: peers on the same inputs ({how}). "
          "Bytes are the compulsory traffic defined below.", ""]

    L += ["## Results", ""]
    by_op = OrderedDict()
    for r in results:
        by_op.setdefault(r["op"], []).append(r)
    for op, rows_ in by_op.items():
        rows_.sort(key=lambda r: (r["backend"] != "cpu", r["backend"], r["mode"],
                                  r["dtype"], r["rows"]))
        L += result_table(op, rows_, peer, llc_mib)

    L += csections
    L += roof_section(roofs, [r for r in bench if r.get("type") == "roof-at-size"])
    if skips:
        L += ["## Skipped", ""]
        for s in skips:
            L.append(f"- {s['backend']} {s['what']}: {s['why']}")
        L.append("")
    L.append(method_section())
    with open(os.path.join(args.out_dir, "RESULTS.md"), "w") as f:
        f.write("\n".join(L))
    print(f"report: wrote {os.path.join(args.out_dir, 'RESULTS.md')} and {plot_name} ({how})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
