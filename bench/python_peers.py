#!/usr/bin/env python3
"""The Python peers of bench/peers/ re-timed against infoest called from
Python, on the same arrays, in the same process (issue 20's second goal: the
ratios a Python user sees).

    PYTHONPATH=build/python bench/.venv/bin/python bench/python_peers.py --out DIR
    PYTHONPATH=build/python /path/to/venv-with-dit/bin/python bench/python_peers.py --out DIR

Each run times the cases whose peer imports in that interpreter (the bench
venv has PyTorch, POT, scikit-learn, faiss, mauve-text, vendi-score; dit
lives in a venv of its own) and appends its records to DIR/records.jsonl;
DIR/RESULTS.md is then rewritten from all the records in DIR (--report DIR
only rewrites it).  A case already in records.jsonl is timed again and the
newest record wins.

Timing: blocks of calls, ours, the peer's, the peer's, ours (see time_pair),
each call timed alone with perf_counter, a block until it has --repeats/2
calls and --min-time/4 seconds or --max-time/4 seconds have gone (at least
2 calls); median and quartiles over the two blocks of a side; the ratio is the peer's median over ours.  Both sides
run with --threads threads (default: all CPUs; set before the imports as
OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, and given to
torch.set_num_threads, faiss.omp_set_num_threads and scikit-learn's n_jobs);
the load average before and after each case is recorded.  On a machine
shared with other work, --threads 1 is the fair setting: a team of OpenMP
threads waits for any member the scheduler has taken away (a time slice,
milliseconds, at each barrier), which a single-threaded peer does not.

Inputs are NumPy arrays; the peer gets the same memory (torch.from_numpy is
a view, not a copy).  Sizes are small where the peer is slow (the issue's
large sizes would take the peer minutes a call): the table says the size of
each case.  Each record keeps both results, so that the table shows the two
compute the same quantity (or says where they do not: MAUVE and the KSG
estimator have their own randomness).
"""
import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time



def _threads_from_argv():
    """--threads, read before NumPy (OpenBLAS), PyTorch and the library start
    their thread pools: they size them from the environment at import."""
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return os.cpu_count() or 1


THREADS = _threads_from_argv()
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = str(THREADS)

import numpy as np  # noqa: E402  (after the thread counts are set)


def lm_logits(rng, rows, cols):
    """Language-model-like logits: a Zipf-like bias over the vocabulary, noise,
    every third row confident (one logit 25 above the rest)."""
    bias = -1.1 * np.log(np.arange(1, cols + 1))
    rng.shuffle(bias)
    x = bias + rng.standard_normal((rows, cols)) * 2.0
    for r in range(0, rows, 3):
        x[r, rng.integers(cols)] = x[r].max() + 25.0
    return x.astype(np.float32)


def stats(v):
    q = statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else [v[0]] * 3
    return {"median_s": statistics.median(v), "q1_s": q[0], "q3_s": q[2], "min_s": min(v),
            "calls": len(v)}


def time_pair(ours, peer, repeats, min_time, max_time):
    """Blocks of calls, ours then the peer's then the peer's then ours (ABBA),
    each call timed alone after one untimed call a block: (our times, the
    peer's times, our last result, the peer's last result).  Blocks rather
    than alternating calls: PyTorch and faiss bring their own OpenMP runtime,
    whose threads spin a while after each call and would slow the next call
    of the other side (a cost a user alternating the two would see, but not
    one of either call)."""
    ro, rp = ours(), peer()
    to, tp = [], []
    block = max(min_time, 0.0) / 4
    cap = max_time / 4
    for f, acc in ((ours, to), (peer, tp), (peer, tp), (ours, to)):
        r = f()
        start = time.perf_counter()
        n = 0
        while True:
            t = time.perf_counter(); r = f(); acc.append(time.perf_counter() - t)
            n += 1
            el = time.perf_counter() - start
            if n >= 2 and (el >= cap or (n >= max(1, repeats // 2) and el >= block)):
                break
        if f is ours:
            ro = r
        else:
            rp = r
    return to, tp, ro, rp


def version(dist):
    try:
        from importlib.metadata import version as v
        return v(dist)
    except Exception:
        return "?"


# ---- The cases -------------------------------------------------------------------------
# Each returns (case, size, ours name, ours(), peer name, peer(), compare(ro, rp) -> str)
# or raises ImportError when its peer is not installed here.

def row_cases(infoest, rng):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(THREADS)
    tv = f"PyTorch {torch.__version__}"
    out = []

    def maxdiff(a, b):
        a = np.asarray(a, np.float64); b = np.asarray(b.numpy() if hasattr(b, "numpy") else b,
                                                     np.float64)
        return f"max |ours − peer| {float(np.max(np.abs(a - b))):.2g}"

    for rows in (8, 1):
        V = 128256
        p = lm_logits(rng, rows, V)
        q = (p + 0.3 * rng.standard_normal(p.shape)).astype(np.float32)
        y = rng.integers(0, V, rows)
        tp_, tq_, ty_ = torch.from_numpy(p), torch.from_numpy(q), torch.from_numpy(y)
        size = f"{rows} × {V} float32"

        def t_kl(tp=tp_, tq=tq_):
            lp, lq = F.log_softmax(tp, -1), F.log_softmax(tq, -1)
            return F.kl_div(lq, lp, reduction="none", log_target=True).sum(-1)
        out.append(("kl (per row)", size, "infoest.divergence(p, q, 'kl', reduction='none')",
                    lambda p=p, q=q: infoest.divergence(p, q, "kl", reduction="none"),
                    f"{tv}: log_softmax ×2 + kl_div(log_target=True).sum(-1)", t_kl, maxdiff))
        if rows == 1:
            continue
        out.append(("kl (per row), torch tensors in", size,
                    "infoest.divergence(tp, tq, 'kl', reduction='none') on the torch tensors",
                    lambda tp=tp_, tq=tq_: infoest.divergence(tp, tq, "kl", reduction="none"),
                    f"{tv}: as above", t_kl, maxdiff))
        out.append(("log-softmax", size, "infoest.log_softmax(p)",
                    lambda p=p: infoest.log_softmax(p), f"{tv}: F.log_softmax(p, -1)",
                    lambda tp=tp_: F.log_softmax(tp, -1), maxdiff))

        def t_ent(tp_=tp_):
            lp = F.log_softmax(tp_, -1)
            return -(lp.exp() * lp).sum(-1)
        out.append(("entropy (per row)", size, "infoest.entropy(p, reduction='none')",
                    lambda p=p: infoest.entropy(p, reduction="none"),
                    f"{tv}: lp = log_softmax; −(lp.exp()·lp).sum(-1)", t_ent, maxdiff))
        out.append(("nll (per row)", size, "infoest.nll(p, y, reduction='none')",
                    lambda p=p, y=y: infoest.nll(p, y, reduction="none"),
                    f"{tv}: F.cross_entropy(p, y, reduction='none')",
                    lambda tp=tp_, ty=ty_: F.cross_entropy(tp, ty, reduction="none"), maxdiff))

        def t_js(tp_=tp_, tq_=tq_):
            P, Q = torch.softmax(tp_, -1), torch.softmax(tq_, -1)
            lm = torch.log((P + Q) * 0.5)
            lp, lq = torch.log(P), torch.log(Q)
            return 0.5 * (F.kl_div(lm, lp, reduction="none", log_target=True).sum(-1)
                          + F.kl_div(lm, lq, reduction="none", log_target=True).sum(-1))
        out.append(("js (per row)", size, "infoest.divergence(p, q, 'js', reduction='none')",
                    lambda p=p, q=q: infoest.divergence(p, q, "js", reduction="none"),
                    f"{tv}: m = (P+Q)/2, two kl_div against log m", t_js, maxdiff))
    return out


def rel(a, b):
    return f"ours {a:.6g}, peer {b:.6g} (rel. diff {abs(a - b) / max(abs(b), 1e-300):.1e})"


def sinkhorn_case(infoest, rng):
    import ot
    n, d, eps, it = 500, 16, 1.0, 200
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((n, d)) * 1.2 + 0.3
    a = np.full(n, 1.0 / n)
    b = np.full(n, 1.0 / n)

    def peer():
        M = ot.dist(x, y)  # squared Euclidean, as the library builds it
        P = ot.bregman.sinkhorn_log(a, b, M, eps, numItermax=it, stopThr=0.0, warn=False)
        return float(np.sum(P * M))

    def ours():
        return float(infoest.sinkhorn(a, b, x=x, y=y, epsilon=eps, max_iter=it, tol=1e-300)
                     .transport_cost)
    return [("sinkhorn", f"{n} × {n} points, d = {d}, ε = {eps}, {it} iterations, float64",
             "infoest.sinkhorn(a, b, x=x, y=y, epsilon, max_iter, tol=1e-300)", ours,
             f"POT {ot.__version__}: ot.dist + ot.bregman.sinkhorn_log(stopThr=0)", peer, rel)]


def knn_cases(infoest, rng):
    n, d, k = 20000, 16, 5
    x = rng.standard_normal((n, d)).astype(np.float32)
    out = []

    def ours():
        idx, dist = infoest.knn(x, x, k, exclude_self=True)
        return float(dist[:, -1].mean())

    def cmp(a, b):
        return rel(a, b) + " (mean k-th distance)"
    size = f"{n} points, d = {d}, k = {k}, float32, self excluded"
    try:
        import faiss
        faiss.omp_set_num_threads(THREADS)

        def fpeer():
            index = faiss.IndexFlatL2(d)
            index.add(x)
            D, _ = index.search(x, k + 1)        # self included, then dropped
            return float(np.sqrt(np.maximum(D[:, -1], 0)).mean())
        out.append(("knn", size, "infoest.knn(x, x, k, exclude_self=True)", ours,
                    f"faiss {faiss.__version__}: IndexFlatL2 add + search(k+1)", fpeer, cmp))
    except ImportError:
        pass
    import sklearn
    from sklearn.neighbors import NearestNeighbors

    def speer():
        D, _ = NearestNeighbors(n_neighbors=k + 1, n_jobs=THREADS).fit(x).kneighbors(x)
        return float(D[:, -1].mean())
    out.append(("knn", size, "infoest.knn(x, x, k, exclude_self=True)", ours,
                f"scikit-learn {sklearn.__version__}: NearestNeighbors(k+1).fit.kneighbors",
                speer, cmp))
    return out


def ksg_case(infoest, rng):
    import sklearn
    from sklearn.feature_selection import mutual_info_regression
    n, rho, k = 5000, 0.8, 3
    x = rng.standard_normal((n, 1))
    y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal((n, 1))
    truth = -0.5 * math.log(1 - rho * rho)

    def cmp(a, b):
        return rel(a, b) + f"; true {truth:.4f} (sklearn rescales and adds noise)"
    return [("ksg mutual information", f"{n} pairs, 1-d Gaussians ρ = {rho}, k = {k}",
             "infoest.knn_mutual_information(x, y, k=3)",
             lambda: float(infoest.knn_mutual_information(x, y, k=k)),
             f"scikit-learn {sklearn.__version__}: mutual_info_regression(n_neighbors=3)",
             lambda: float(mutual_info_regression(x, y.ravel(), n_neighbors=k,
                                                  random_state=0)[0]), cmp)]


def vendi_case(infoest, rng):
    from vendi_score import vendi
    n, d = 2000, 64
    centers = rng.standard_normal((20, d))
    x = centers[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, d))
    return [("vendi (cosine, q = 1)", f"{n} × {d} float64, 20 clusters",
             "infoest.vendi(x)", lambda: float(infoest.vendi(x)),
             f"vendi-score {version('vendi-score')}: vendi.score_X(x, q=1)",
             lambda: float(vendi.score_X(x, q=1)), rel)]


def mauve_case(infoest, rng):
    import mauve
    n, d = 2000, 256
    basis = rng.standard_normal((30, d))
    p = (rng.standard_normal((n, 30)) @ basis + 0.3 * rng.standard_normal((n, d)))
    q = (rng.standard_normal((n, 30)) * 1.1 @ basis + 0.3 * rng.standard_normal((n, d)))
    p, q = p.astype(np.float32), q.astype(np.float32)

    def cmp(a, b):
        return rel(a, b) + " (own PCA/k-means seeds: a close, not equal, estimate)"
    return [("mauve", f"{n} + {n} × {d} float32, default clusters ({infoest.mauve_default_clusters(n, n)}), "
             "5 restarts", "infoest.mauve(p, q)", lambda: float(infoest.mauve(p, q)),
             f"mauve-text {version('mauve-text')}: compute_mauve(p_features, q_features, device_id=-1)",
             lambda: float(mauve.compute_mauve(p_features=p, q_features=q, device_id=-1,
                                               verbose=False).mauve), cmp)]


def pid_case(infoest, rng):
    import dit
    from dit.pid import PID_BROJA
    B = 20
    joints = rng.dirichlet(np.ones(8), size=B).reshape(B, 2, 2, 2)
    outcomes = [f"{s1}{s2}{t}" for s1 in "01" for s2 in "01" for t in "01"]

    def peer():
        syn = 0.0
        for j in joints:
            pid = PID_BROJA(dit.Distribution(outcomes, j.ravel().tolist()), [[0], [1]], [2],
                            method="cone")
            syn = float(pid.get_pi(((0, 1),))) * math.log(2)      # bits -> nats
        return syn

    def ours():
        return float(np.asarray(infoest.pid(joints, measure="broja").synergy)[-1])

    def cmp(a, b):
        return f"synergy of the last joint: ours {a:.6f}, peer {b:.6f} nats (|diff| {abs(a - b):.1e})"
    return [("pid (BROJA)", f"{B} joints p(s1, s2, t) on 2 × 2 × 2 (peer: a loop)",
             "infoest.pid(joints, measure='broja') (one batched call)", ours,
             f"dit {dit.__version__}: PID_BROJA(method='cone'), one call a joint", peer, cmp)]


def ami_case(infoest, rng):
    import sklearn
    from sklearn.metrics import adjusted_mutual_info_score
    n, k = 100_000, 300
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.6, a, rng.integers(0, k, n))

    def ours():
        return float(infoest.table_mi(infoest.count_pairs(a, b, x_classes=k, y_classes=k)).ami)
    return [("ami of two labelings", f"{n} labels, {k} clusters each",
             "infoest.count_pairs + infoest.table_mi", ours,
             f"scikit-learn {sklearn.__version__}: adjusted_mutual_info_score",
             lambda: float(adjusted_mutual_info_score(a, b)), rel)]


CASE_SETS = [row_cases, sinkhorn_case, knn_cases, ksg_case, vendi_case, mauve_case, pid_case,
             ami_case]


# ---- Records and the table ---------------------------------------------------------------

def fmt_s(s):
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def report(d):
    path = os.path.join(d, "records.jsonl")
    recs = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            recs[(r["case"], r["size"], r["peer"])] = r           # the newest wins
    rows = list(recs.values())
    lines = [
        "# infoest from Python against the Python peers, CPU",
        "",
        "`bench/python_peers.py`: both called from Python in one process on the same NumPy",
        "arrays (PyTorch gets `torch.from_numpy` views); blocks of calls, ours, the peer's,",
        "the peer's, ours, each call timed alone; median [quartiles] over a side's calls;",
        "ratio = the peer's median / ours (> 1: infoest is faster).",
        f"Machine: {rows[0]['machine']}, {rows[0]['cpus']} CPUs shared with other jobs; "
        f"every side runs {sorted({r['threads'] for r in rows})} thread(s). Load average "
        "(1 min) before → after each case is in the last column.",
        "Sizes are small where the peer is slow (the issue's sizes would take it minutes a call).",
        "",
        "| case | size | infoest | peer | peer time | ratio | results | load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    def cell(t):
        return str(t).replace("|", "\\|")
    for r in rows:
        o, p = r["ours"], r["peer_time"]
        lines.append(
            f"| {cell(r['case'])} | {cell(r['size'])} | `{cell(r['ours_call'])}`: "
            f"{fmt_s(o['median_s'])} [{fmt_s(o['q1_s'])}, {fmt_s(o['q3_s'])}] | {cell(r['peer'])} | "
            f"{fmt_s(p['median_s'])} [{fmt_s(p['q1_s'])}, {fmt_s(p['q3_s'])}] | "
            f"{r['ratio']:.2f}× | {cell(r['check'])} | "
            f"{r['load_before']:.1f} → {r['load_after']:.1f} |")
    lines += ["", "Interpreters: " + "; ".join(sorted({r["python"] for r in rows})) + ".",
              "Records: `records.jsonl` (one JSON object a case and peer)."]
    ov = sorted(n for n in os.listdir(d) if n.startswith("overhead-") and n.endswith(".json"))
    if ov:
        lines += ["", "## Per-call overhead of the binding (`bench/python_overhead.py`)", "",
                  "Python call − C call (`ie_divergence` timed inside the extension, same process, "
                  "arrays and context), KL of float32 rows, median [quartiles] of the pairs' "
                  "differences in µs; goal < 5 µs at 1 × 128256.", "",
                  "| file | cols | threads | clock | pairs × calls | C median | overhead: "
                  + " | ".join(["mean", "none, out given", "none (allocates)"]) + " | load |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for n in ov:
            with open(os.path.join(d, n)) as f:
                o = json.load(f)
            v = o["variants"]

            def cellv(k):
                r = v.get(k)
                if r is None:
                    return "–"
                return (f"{r['overhead_median_us']:.2f} [{r['overhead_q1_us']:.2f}, "
                        f"{r['overhead_q3_us']:.2f}]")
            lines.append(f"| `{n}` | {o['cols']} | {o['threads'] or 'all'} | {o['clock']} | "
                         f"{o['pairs']} × {o['reps']} | {v['mean']['c_median_us']:.2f} | "
                         f"{cellv('mean')} | {cellv('none, out given')} | "
                         f"{cellv('none (allocates)')} | {o['loadavg_before'][0]:.1f} → "
                         f"{o['loadavg_after'][0]:.1f} |")
    with open(os.path.join(d, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="results folder (records.jsonl, RESULTS.md)")
    ap.add_argument("--report", help="only rewrite RESULTS.md in this folder")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--max-time", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=THREADS,
                    help="threads of every side (OMP/OpenBLAS/MKL_NUM_THREADS, torch, faiss, "
                         "n_jobs); default: all CPUs")
    ap.add_argument("--only", help="comma-separated case-set names (row_cases, sinkhorn_case, ...)")
    a = ap.parse_args()
    if a.report:
        report(a.report)
        return 0
    if not a.out:
        ap.error("--out DIR is required")
    import infoest
    os.makedirs(a.out, exist_ok=True)
    interp = f"{sys.executable} (Python {platform.python_version()}, NumPy {np.__version__})"
    machine = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            machine = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    only = set(a.only.split(",")) if a.only else None
    for cs in CASE_SETS:
        if only and cs.__name__ not in only:
            continue
        try:
            cases = cs(infoest, np.random.default_rng(20240611))
        except ImportError as e:
            print(f"{cs.__name__}: peer not installed here ({e}); skipped", flush=True)
            continue
        for case, size, ours_call, ours, peer, peer_fn, cmp in cases:
            load0 = os.getloadavg()[0]
            to, tp, ro, rp = time_pair(ours, peer_fn, a.repeats, a.min_time, a.max_time)
            load1 = os.getloadavg()[0]
            rec = {"case": case, "size": size, "ours_call": ours_call, "peer": peer,
                   "ours": stats(to), "peer_time": stats(tp),
                   "ratio": statistics.median(tp) / statistics.median(to),
                   "check": cmp(ro, rp), "load_before": load0, "load_after": load1,
                   "threads": THREADS, "cpus": os.cpu_count(), "machine": machine,
                   "python": interp, "infoest": infoest.__version__,
                   "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
            with open(os.path.join(a.out, "records.jsonl"), "a") as f:
                f.write(json.dumps(rec) + "\n")
            print(f"{case:32s} {size:40s} ours {fmt_s(rec['ours']['median_s']):>9s}  "
                  f"{peer[:40]:40s} {fmt_s(rec['peer_time']['median_s']):>9s}  "
                  f"{rec['ratio']:7.2f}x  {rec['check']}  load {load0:.1f}->{load1:.1f}",
                  flush=True)
    report(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
