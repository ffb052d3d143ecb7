#!/usr/bin/env python3
"""Time what a user would otherwise run, on the inputs infoest-bench saved.

    peers.py --bench-json BENCH.jsonl --inputs DIR --out PEERS.jsonl
             [--device cpu|cuda] [--peers torch,scipy] [--backends cpu,opencl]
             [--threads N] [--repeats N] [--min-time S]
             [--scipy-repeats N] [--scipy-max-rows N]

The cases (op, rows, cols, dtype) are those in the bench's JSON for the
backends named; inputs are DIR/p_<cols>_<dtype>.npy (first `rows` rows),
q_..., labels_...  (bf16 is stored as uint16 bit patterns).

Timing is the same as infoest-bench's: warm-up calls, then timed calls until
at least `repeats` calls and `min-time` seconds, or for slow cases at least 3
calls and `max-time` seconds (at most 2000); each call is
timed alone (perf_counter; on CUDA, torch.cuda.synchronize() inside the timed
region, as the library's calls also return complete); median, min, max and
quartiles are written.  SciPy/NumPy is single-threaded for most of these
compositions and slow at 256 x 128256, so it gets fewer repeats
(--scipy-repeats, warm-up 1, no minimum time).

Compositions (p, q are logits; P, Q = softmax(p), softmax(q)):
  torch: log-softmax F.log_softmax(x, -1); softmax torch.softmax(x, -1);
    logsumexp torch.logsumexp(x, -1); entropies from
    lp = F.log_softmax(x, -1, dtype=float32): Shannon -(lp.exp()*lp).sum(-1),
    Renyi/Tsallis from (P**a).sum(-1); nll F.cross_entropy(x, y, 'none') (bf16
    inputs: x.float() first, as autocast does); divergences from
    lp, lq = F.log_softmax(., -1, dtype=float32): kl F.kl_div(lq, lp,
    reduction='none', log_target=True).sum(-1), reverse-kl and jeffreys the
    same, js via the mixture m = (P+Q)/2 and two kl_div calls against log m,
    the rest from the textbook formula on P, Q.
  scipy: scipy.special.log_softmax / softmax / logsumexp; entropy
    scipy.stats.entropy(P, axis=-1); kl scipy.special.rel_entr(P, Q).sum(-1);
    js scipy.spatial.distance.jensenshannon(P, Q, axis=-1)**2; the rest NumPy
    on P, Q.  float32 inputs only (NumPy has no bfloat16).

Compute-bound families (the bench's "compute" records, --families compute; on
the CPU, with the bench's thread count, BLAS pools limited by threadpoolctl):
  sinkhorn: M = ot.dist(x, y) (sqeuclidean) then ot.bregman.sinkhorn_log(a, b,
    M, reg=eps, numItermax=<the bench's iterations>, stopThr=0) in float64
    (NumPy backend): the same fixed iteration count as the library.
  sinkhorn-batch: a Python loop of sinkhorn_log over the saved costs.
  knn: faiss.IndexFlatL2 (add, then search k+1: self included, then dropped;
    faiss.omp_set_num_threads = the bench's threads) and scikit-learn
    NearestNeighbors(n_neighbors=k+1, n_jobs=threads).fit(x).kneighbors(x).
  ksg-mi: sklearn.feature_selection.mutual_info_regression(x, y,
    n_neighbors=k, random_state=0).
  sinkhorn, second peer: geomloss.SamplesLoss("sinkhorn", p=2, blur=sqrt(eps/2),
    debias=False, scaling=<about the bench's iteration count of eps-steps>,
    backend="tensorized") in float32 torch (GeomLoss's p = 2 cost is |x-y|^2/2,
    so blur^2 = eps/2 gives the library's Gibbs kernel exp(-|x-y|^2/eps); its
    iterations are eps-scaling steps, not plain Sinkhorn ones).
  knn-div: mauve.compute_mauve(p_features=x, q_features=y) (mauve-text: PCA,
    k-means quantisation, a divergence frontier): a different estimator of
    divergence between the same two sets; the ratio is time, not agreement.
  vendi: vendi_score.vendi.score_X(x, q=1); vendi-batch: a Python loop of it.
  vendi-rbf: NumPy builds K = exp(-|x_i-x_j|^2/(2 sigma^2))/n in float64 and
    np.linalg.eigvalsh(K) (syevd); the figure is both (the library's call also
    builds the matrix), the check string gives each part's time.
  Loops over a batch time the first --loop-subset problems (500) and scale
  linearly to the whole batch; the record keeps "scaled_from".  The issues'
  large sizes (knn-100k, vendi-10k, vendi-rbf, sinkhorn-20k: minutes a peer call) are timed once, cold
  (--single-call; the record says "single_call").
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

ONE_INPUT = {"log-softmax", "softmax", "logsumexp", "entropy-shannon", "entropy-renyi",
             "entropy-tsallis", "nll"}
ALPHA = {"entropy-renyi": 2.0, "entropy-tsallis": 2.0, "alpha": 0.5, "renyi": 0.5,
         "tsallis": 0.5}


def load_cases(path, backends):
    """Cases (op, rows, cols, dtype) of the named backends, the CPU thread count,
    and the set of cases the bench ran with host tensors on a GPU backend."""
    cases, seen, threads, host_staged = [], set(), None, set()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r.get("type") == "backend" and r["backend"] in backends and threads is None:
                threads = r.get("threads")
            if r.get("type") != "result" or r["backend"] not in backends:
                continue
            key = (r["op"], r["rows"], r["cols"], r["dtype"])
            if r["backend"] == "cuda" and r.get("mode") == "host":
                host_staged.add(key)
            if key not in seen:
                seen.add(key)
                cases.append(key)
    return cases, threads, host_staged


def timeit(fn, sync, warmup, repeats, min_time, max_time=3.0, max_reps=2000):
    """infoest-bench's rule: warm-up (one call when a call takes over 1 s), then
    calls until >= repeats and >= min_time, or >= 3 calls and >= max_time."""
    for _ in range(warmup):
        a = time.perf_counter()
        fn()
        sync()
        if time.perf_counter() - a > 1.0:
            break
    s = []
    t0 = time.perf_counter()
    while len(s) < max_reps:
        el = time.perf_counter() - t0
        if len(s) >= repeats and el >= min_time:
            break
        if len(s) >= 3 and max_time > 0 and el >= max_time:
            break
        a = time.perf_counter()
        fn()
        sync()
        s.append(time.perf_counter() - a)
    s = np.sort(np.array(s))
    return {"median_ms": float(np.median(s)) * 1e3, "min_ms": float(s[0]) * 1e3,
            "max_ms": float(s[-1]) * 1e3, "q1_ms": float(np.quantile(s, 0.25)) * 1e3,
            "q3_ms": float(np.quantile(s, 0.75)) * 1e3, "reps": int(len(s))}


class Inputs:
    """The saved inputs, loaded once per (cols, dtype)."""

    def __init__(self, d):
        self.d, self.cache = d, {}

    def get(self, cols, dtype):
        key = (cols, dtype)
        if key not in self.cache:
            self.cache.clear()  # one set at a time: the GPU set is large
            base = f"{cols}_{dtype}.npy"
            p = np.load(os.path.join(self.d, "p_" + base))
            q = np.load(os.path.join(self.d, "q_" + base))
            y = np.load(os.path.join(self.d, "labels_" + base))
            self.cache[key] = (p, q, y)
        return self.cache[key]


# ---- PyTorch ---------------------------------------------------------------------

def torch_ops(torch):
    F = torch.nn.functional
    f32 = torch.float32

    def lsm(x):
        return F.log_softmax(x, -1, dtype=f32)

    def probs_pair(p, q):
        lp, lq = lsm(p), lsm(q)
        return lp, lq, lp.exp(), lq.exp()

    def ent_renyi(x, a):
        P = lsm(x).exp()
        return torch.log((P ** a).sum(-1)) / (1 - a)

    def ent_tsallis(x, a):
        P = lsm(x).exp()
        return (1 - (P ** a).sum(-1)) / (a - 1)

    def nll(x, y):
        if x.dtype != f32:
            x = x.float()
        return F.cross_entropy(x, y, reduction="none")

    def kl(p, q):
        return F.kl_div(lsm(q), lsm(p), reduction="none", log_target=True).sum(-1)

    def jeffreys(p, q):
        lp, lq = lsm(p), lsm(q)
        return (F.kl_div(lq, lp, reduction="none", log_target=True).sum(-1)
                + F.kl_div(lp, lq, reduction="none", log_target=True).sum(-1))

    def cross_entropy(p, q):
        lp, lq = lsm(p), lsm(q)
        return -(lp.exp() * lq).sum(-1)

    def js(p, q):
        lp, lq, P, Q = probs_pair(p, q)
        lm = (0.5 * (P + Q)).log()
        return 0.5 * (F.kl_div(lm, lp, reduction="none", log_target=True).sum(-1)
                      + F.kl_div(lm, lq, reduction="none", log_target=True).sum(-1))

    def tv(p, q):
        _, _, P, Q = probs_pair(p, q)
        return 0.5 * (P - Q).abs().sum(-1)

    def hellinger(p, q):
        _, _, P, Q = probs_pair(p, q)
        return 0.5 * ((P.sqrt() - Q.sqrt()) ** 2).sum(-1)

    def bhattacharyya(p, q):
        _, _, P, Q = probs_pair(p, q)
        return -torch.log((P * Q).sqrt().sum(-1))

    def chi2(p, q):
        _, _, P, Q = probs_pair(p, q)
        return ((P - Q) ** 2 / Q).sum(-1)

    def mix(p, q, a):
        lp, lq = lsm(p), lsm(q)
        return torch.exp(a * lp + (1 - a) * lq).sum(-1)

    def cauchy_schwarz(p, q):
        _, _, P, Q = probs_pair(p, q)
        return -torch.log((P * Q).sum(-1) / torch.sqrt((P * P).sum(-1) * (Q * Q).sum(-1)))

    a = ALPHA
    return {
        "log-softmax": lambda p, q, y: F.log_softmax(p, -1),
        "softmax": lambda p, q, y: torch.softmax(p, -1),
        "logsumexp": lambda p, q, y: torch.logsumexp(p, -1),
        "entropy-shannon": lambda p, q, y: (lambda lp: -(lp.exp() * lp).sum(-1))(lsm(p)),
        "entropy-renyi": lambda p, q, y: ent_renyi(p, a["entropy-renyi"]),
        "entropy-tsallis": lambda p, q, y: ent_tsallis(p, a["entropy-tsallis"]),
        "nll": lambda p, q, y: nll(p, y),
        "kl": lambda p, q, y: kl(p, q),
        "reverse-kl": lambda p, q, y: kl(q, p),
        "jeffreys": lambda p, q, y: jeffreys(p, q),
        "cross-entropy": lambda p, q, y: cross_entropy(p, q),
        "js": lambda p, q, y: js(p, q),
        "tv": lambda p, q, y: tv(p, q),
        "hellinger": lambda p, q, y: hellinger(p, q),
        "bhattacharyya": lambda p, q, y: bhattacharyya(p, q),
        "chi2": lambda p, q, y: chi2(p, q),
        "alpha": lambda p, q, y: (1 - mix(p, q, a["alpha"])) / (a["alpha"] * (1 - a["alpha"])),
        "renyi": lambda p, q, y: torch.log(mix(p, q, a["renyi"])) / (a["renyi"] - 1),
        "tsallis": lambda p, q, y: (mix(p, q, a["tsallis"]) - 1) / (a["tsallis"] - 1),
        "cauchy-schwarz": lambda p, q, y: cauchy_schwarz(p, q),
    }


def run_torch(cases, inputs, device, args, out, host_staged=()):
    """Time the torch compositions.  On CUDA, cases the bench also ran with
    host tensors are timed a second time as 'torch-cuda-h2d': the inputs are
    moved from (pageable) host memory inside the timed region, as the library
    stages host tensors."""
    import torch
    if device == "cpu":
        torch.set_num_threads(args.threads)
    elif not torch.cuda.is_available():
        print("peers: torch.cuda is not available; no CUDA peer", file=sys.stderr)
        return
    ops = torch_ops(torch)
    fused = liger_ops(torch) if device == "cuda" else {}
    dev = torch.device(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    name = "torch-cuda" if device == "cuda" else "torch-cpu"
    cur = None
    with torch.inference_mode():
        for op, rows, cols, dtype in cases:
            if op not in ops:
                continue
            if cur is None or cur[0] != (cols, dtype):
                cur = None
                if device == "cuda":
                    torch.cuda.empty_cache()
                p, q, y = inputs.get(cols, dtype)
                if dtype == "bf16":
                    tp = torch.from_numpy(p.view(np.int16)).view(torch.bfloat16)
                    tq = torch.from_numpy(q.view(np.int16)).view(torch.bfloat16)
                else:
                    tp, tq = torch.from_numpy(p), torch.from_numpy(q)
                cur = ((cols, dtype), tp.to(dev), tq.to(dev), torch.from_numpy(y).to(dev))
            _, tp, tq, ty = cur
            xp, xq, xy = tp[:rows], tq[:rows], ty[:rows]
            fn = ops[op]
            variants = [(name, lambda: fn(xp, xq, xy))]
            if op in fused:
                variants.append(("liger-kernel", lambda lf=fused[op]: lf(xp, xq)))
            if device == "cuda" and (op, rows, cols, dtype) in host_staged:
                hp, hq, hy = inputs_host(inputs, cols, dtype, torch, rows)
                uses_q = op not in ONE_INPUT

                def staged(hp=hp, hq=hq, hy=hy, uses_q=uses_q, fn=fn):
                    # What the library does with host tensors: the inputs the
                    # op reads go up, the result comes back to host memory.
                    return fn(hp.to(dev), hq.to(dev) if uses_q else None,
                              hy.to(dev) if op == "nll" else None).cpu()
                variants.append(("torch-cuda-h2d", staged))
            for vname, call in variants:
                time_variant(vname, call, sync, op, rows, cols, dtype, args, out, torch, device)
            if device == "cuda":
                torch.cuda.empty_cache()


def liger_ops(torch):
    """Liger-Kernel's fused (Triton) KL and JSD losses, when importable, on
    logits p (teacher), q (student): log-softmax of each (PyTorch), then
    LigerKLDIVLoss(batchmean, log_target) = mean KL(P || Q) and LigerJSD
    (beta 0.5) = mean JS(P, Q), each over rows.  {} when Liger is absent."""
    try:
        from liger_kernel.transformers import LigerJSD, LigerKLDIVLoss
        import liger_kernel  # noqa: F401
    except ImportError as e:
        print(f"peers: Liger-Kernel is not importable ({e}); no liger-kernel peer", file=sys.stderr)
        return {}
    F = torch.nn.functional
    kld = LigerKLDIVLoss(reduction="batchmean", log_target=True)
    jsd = LigerJSD(beta=0.5)

    def kl(p, q):
        return kld(F.log_softmax(q, -1), F.log_softmax(p, -1))

    def js(p, q):
        return jsd(F.log_softmax(q, -1), F.log_softmax(p, -1))
    return {"kl": kl, "js": js}


def inputs_host(inputs, cols, dtype, torch, rows):
    p, q, y = inputs.get(cols, dtype)
    if dtype == "bf16":
        tp = torch.from_numpy(p[:rows].view(np.int16)).view(torch.bfloat16)
        tq = torch.from_numpy(q[:rows].view(np.int16)).view(torch.bfloat16)
    else:
        tp, tq = torch.from_numpy(p[:rows]), torch.from_numpy(q[:rows])
    return tp, tq, torch.from_numpy(y[:rows])


def time_variant(name, call, sync, op, rows, cols, dtype, args, out, torch, device):
    try:
        t = timeit(call, sync, args.warmup, args.repeats, args.min_time, args.max_time)
    except RuntimeError as e:  # e.g. out of memory at the largest size
        rec = {"type": "peer", "status": "error", "peer": name, "op": op, "rows": rows,
               "cols": cols, "dtype": dtype, "error": str(e).splitlines()[0]}
        print(f"  {name:10s} {op:16s} {rows:5d} {cols} {dtype:4s} failed: {rec['error']}")
        out.write(json.dumps(rec) + "\n")
        if device == "cuda":
            torch.cuda.empty_cache()
        return
    rec = {"type": "peer", "status": "ok", "peer": name, "op": op, "rows": rows,
           "cols": cols, "dtype": dtype, "threads": torch.get_num_threads(),
           "version": torch.__version__, **t}
    print(f"  {name:10s} {op:16s} {rows:5d} {cols} {dtype:4s} "
          f"{t['median_ms']:10.3f} ms [{t['min_ms']:.3f}, {t['max_ms']:.3f}] x{t['reps']}",
          flush=True)
    out.write(json.dumps(rec) + "\n")
    out.flush()


# ---- SciPy / NumPy ---------------------------------------------------------------

def scipy_ops():
    from scipy import special, stats
    from scipy.spatial import distance

    def P_(x):
        return special.softmax(x, axis=-1)

    def mix(p, q, a):
        return np.sum(P_(p) ** a * P_(q) ** (1 - a), axis=-1)

    def ce(p, q):
        return -np.sum(P_(p) * special.log_softmax(q, axis=-1), axis=-1)

    def cs(p, q):
        P, Q = P_(p), P_(q)
        return -np.log(np.sum(P * Q, -1) / np.sqrt(np.sum(P * P, -1) * np.sum(Q * Q, -1)))

    a = ALPHA
    rows = np.arange
    return {
        "log-softmax": lambda p, q, y: special.log_softmax(p, axis=-1),
        "softmax": lambda p, q, y: special.softmax(p, axis=-1),
        "logsumexp": lambda p, q, y: special.logsumexp(p, axis=-1),
        "entropy-shannon": lambda p, q, y: stats.entropy(P_(p), axis=-1),
        "entropy-renyi": lambda p, q, y: np.log(np.sum(P_(p) ** 2, -1)) / (1 - 2.0),
        "entropy-tsallis": lambda p, q, y: (1 - np.sum(P_(p) ** 2, -1)) / (2.0 - 1),
        "nll": lambda p, q, y: special.logsumexp(p, axis=-1) - p[rows(len(y)), y],
        "kl": lambda p, q, y: special.rel_entr(P_(p), P_(q)).sum(-1),
        "reverse-kl": lambda p, q, y: special.rel_entr(P_(q), P_(p)).sum(-1),
        "jeffreys": lambda p, q, y: (lambda P, Q: special.rel_entr(P, Q).sum(-1)
                                     + special.rel_entr(Q, P).sum(-1))(P_(p), P_(q)),
        "cross-entropy": lambda p, q, y: ce(p, q),
        "js": lambda p, q, y: distance.jensenshannon(P_(p), P_(q), axis=-1) ** 2,
        "tv": lambda p, q, y: 0.5 * np.abs(P_(p) - P_(q)).sum(-1),
        "hellinger": lambda p, q, y: 0.5 * ((np.sqrt(P_(p)) - np.sqrt(P_(q))) ** 2).sum(-1),
        "bhattacharyya": lambda p, q, y: -np.log(np.sqrt(P_(p) * P_(q)).sum(-1)),
        "chi2": lambda p, q, y: (lambda P, Q: ((P - Q) ** 2 / Q).sum(-1))(P_(p), P_(q)),
        "alpha": lambda p, q, y: (1 - mix(p, q, a["alpha"])) / (a["alpha"] * (1 - a["alpha"])),
        "renyi": lambda p, q, y: np.log(mix(p, q, a["renyi"])) / (a["renyi"] - 1),
        "tsallis": lambda p, q, y: (mix(p, q, a["tsallis"]) - 1) / (a["tsallis"] - 1),
        "cauchy-schwarz": lambda p, q, y: cs(p, q),
    }


def run_scipy(cases, inputs, args, out):
    import scipy
    ops = scipy_ops()
    for op, rows, cols, dtype in cases:
        if op not in ops or dtype != "f32" or rows > args.scipy_max_rows:
            continue
        p, q, y = inputs.get(cols, dtype)
        xp, xq, xy = p[:rows], q[:rows], y[:rows]
        fn = ops[op]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t = timeit(lambda: fn(xp, xq, xy), lambda: None, 1, args.scipy_repeats, 0.0,
                       args.max_time)
        rec = {"type": "peer", "status": "ok", "peer": "scipy", "op": op, "rows": rows,
               "cols": cols, "dtype": dtype, "threads": 1, "version": scipy.__version__, **t}
        print(f"  {'scipy':10s} {op:16s} {rows:5d} {cols} {dtype:4s} "
              f"{t['median_ms']:10.3f} ms [{t['min_ms']:.3f}, {t['max_ms']:.3f}] x{t['reps']}",
              flush=True)
        out.write(json.dumps(rec) + "\n")
        out.flush()


# ---- compute-bound families: Sinkhorn, kNN, Vendi ----------------------------------
#
# The cases are the bench's "compute" records; inputs are DIR/<op>_<set>_<what>.npy
# as infoest-bench --save-inputs wrote them.  Each peer call is what a user
# would write, timed with the same rule as above (timeit).  A Python loop over
# many small problems is timed on the first `--loop-subset` problems when the
# whole batch would take too long, and scaled to the whole batch (the record
# says so: "scaled_from").

def load_compute_cases(path, backends):
    cases, seen = [], set()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r.get("type") != "compute" or r.get("status") != "ok" or r["backend"] not in backends:
                continue
            k = (r["op"], r["set"])
            if k not in seen:
                seen.add(k)
                cases.append(r)
    return cases


def write_peer(out, rec):
    out.write(json.dumps(rec) + "\n")
    out.flush()
    if rec["status"] == "ok":
        extra = f" (scaled from {rec['scaled_from']} of {rec['batch']})" if rec.get("scaled_from") else ""
        print(f"  {rec['peer']:28s} {rec['op']:16s} {rec['median_ms']:12.3f} ms "
              f"[{rec['min_ms']:.3f}, {rec['max_ms']:.3f}] x{rec['reps']}{extra}  {rec.get('check', '')}",
              flush=True)
    else:
        print(f"  {rec['peer']:28s} {rec['op']:16s} {rec['status']}: {rec.get('error', '')}", flush=True)


def compute_peers(case, d, args):
    """(peer name, version, callable returning a check string, loop size or None)
    for one bench case; a peer that cannot be imported is returned as an
    'unavailable' entry."""
    op, st = case["op"], case["set"]

    def load(what):
        return np.load(os.path.join(d, f"{op}_{st}_{what}.npy"))

    out = []

    def unavailable(name, e):
        out.append((name, None, str(e).splitlines()[0] if str(e) else type(e).__name__, None))

    fam = {"sinkhorn": "sinkhorn", "sinkhorn-batch": "sinkhorn-batch", "knn": "knn",
           "knn-100k": "knn", "ksg-mi": "ksg", "vendi": "vendi", "vendi-10k": "vendi",
           "vendi-batch": "vendi-batch", "vendi-rbf": "vendi-rbf", "knn-div": "knn-div"}.get(op)
    threads = args.threads

    if fam == "sinkhorn":
        try:
            import ot
            x = load("x").astype(np.float64)
            y = load("y").astype(np.float64)
            a = np.full(len(x), 1.0 / len(x))
            b = np.full(len(y), 1.0 / len(y))
            eps, it = case["eps"], case["max_iter"]

            def f():
                M = ot.dist(x, y)  # sqeuclidean, as the library builds it
                P = ot.bregman.sinkhorn_log(a, b, M, eps, numItermax=it, stopThr=0.0, warn=False)
                return f"<P,C> {float(np.sum(P * M)):.6g}"
            out.append(("pot-sinkhorn_log", ot.__version__, f, None))
        except ImportError as e:
            unavailable("pot-sinkhorn_log", e)
        try:
            out.append(geomloss_peer(case, load, threads))
        except ImportError as e:
            unavailable("geomloss-SamplesLoss", e)
        if args.device == "cuda":
            try:
                out.append(geomloss_peer(case, load, threads, "cuda"))
            except ImportError as e:
                unavailable("geomloss-SamplesLoss-cuda", e)
    elif fam == "sinkhorn-batch":
        try:
            import ot
            B, n, m = case["batch"], case["n"], case["m"]
            C = load("cost").astype(np.float64).reshape(B, n, m)
            a = np.full(n, 1.0 / n)
            b = np.full(m, 1.0 / m)
            eps, it = case["eps"], case["max_iter"]

            def mk(cnt):
                def f():
                    for i in range(cnt):
                        P = ot.bregman.sinkhorn_log(a, b, C[i], eps, numItermax=it, stopThr=0.0,
                                                    warn=False)
                    return f"<P,C>[last] {float(np.sum(P * C[cnt - 1])):.6g}"
                return f
            out.append(("pot-sinkhorn_log-loop", ot.__version__, mk, B))
        except ImportError as e:
            unavailable("pot-sinkhorn_log-loop", e)
    elif fam == "knn":
        x = np.ascontiguousarray(load("x"), dtype=np.float32)
        k = case["k"]
        try:
            import faiss
            faiss.omp_set_num_threads(threads)

            def f():
                index = faiss.IndexFlatL2(x.shape[1])
                index.add(x)
                D, I = index.search(x, k + 1)  # self included ...
                I, D = I[:, 1:], D[:, 1:]      # ... then dropped
                return f"last {k}-NN distance {float(np.sqrt(D[-1, -1])):.6g}"
            out.append(("faiss-IndexFlatL2", faiss.__version__, f, None))
        except ImportError as e:
            unavailable("faiss-IndexFlatL2", e)
        if args.device == "cuda":
            try:
                out.append(torch_cdist_peer(x, k))
            except ImportError as e:
                unavailable("torch-cuda-cdist-topk", e)
        try:
            import sklearn
            from sklearn.neighbors import NearestNeighbors

            def g():
                nn = NearestNeighbors(n_neighbors=k + 1, n_jobs=threads).fit(x)
                D, I = nn.kneighbors(x)
                I, D = I[:, 1:], D[:, 1:]
                return f"last {k}-NN distance {float(D[-1, -1]):.6g}"
            out.append(("sklearn-NearestNeighbors", sklearn.__version__, g, None))
        except ImportError as e:
            unavailable("sklearn-NearestNeighbors", e)
    elif fam == "ksg":
        try:
            import sklearn
            from sklearn.feature_selection import mutual_info_regression
            x = load("x").astype(np.float64)
            y = load("y").astype(np.float64).ravel()
            k = case["k"]

            def f():
                mi = mutual_info_regression(x, y, n_neighbors=k, random_state=0)
                return f"MI {float(mi[0]):.6f} nats"
            out.append(("sklearn-mutual_info_regression", sklearn.__version__, f, None))
        except ImportError as e:
            unavailable("sklearn-mutual_info_regression", e)
    elif fam == "vendi":
        try:
            from vendi_score import vendi
            x = load("x")

            def f():
                return f"score {float(vendi.score_X(x, q=1)):.6f}"
            out.append(("vendi-score", vendi_version(), f, None))
        except ImportError as e:
            unavailable("vendi-score", e)
    elif fam == "vendi-rbf":
        x = load("x").astype(np.float64)
        sigma = case["eps"]  # the bench keeps the rbf sigma in "eps"

        def f():
            t0 = time.perf_counter()
            sq = np.einsum("ij,ij->i", x, x)
            D = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
            np.maximum(D, 0.0, out=D)
            K = np.exp(D * (-0.5 / (sigma * sigma)))
            K /= len(x)
            t1 = time.perf_counter()
            lam = np.linalg.eigvalsh(K)
            t2 = time.perf_counter()
            lam = lam[lam > 0]
            score = math.exp(-float(np.sum(lam * np.log(lam))))
            return (f"score {score:.6f}; matrix {1e3 * (t1 - t0):.0f} ms + eigvalsh "
                    f"{1e3 * (t2 - t1):.0f} ms")
        out.append(("numpy-eigvalsh", np.__version__, f, None))
    elif fam == "knn-div":
        try:
            import mauve
            x = np.ascontiguousarray(load("x"), dtype=np.float32)
            y = np.ascontiguousarray(load("y"), dtype=np.float32)

            def f():
                r = mauve.compute_mauve(p_features=x, q_features=y, device_id=-1, verbose=False)
                return f"MAUVE {float(r.mauve):.6f} (a different quantity)"
            out.append(("mauve-compute_mauve", dist_version("mauve-text"), f, None))
        except ImportError as e:
            unavailable("mauve-compute_mauve", e)
    elif fam == "vendi-batch":
        try:
            from vendi_score import vendi
            S, n = case["batch"], case["n"]
            x = load("x").reshape(S, n, -1)

            def mk(cnt):
                def f():
                    for i in range(cnt):
                        s = vendi.score_X(x[i], q=1)
                    return f"score[{cnt - 1}] {float(s):.6f}"
                return f
            out.append(("vendi-score-loop", vendi_version(), mk, S))
        except ImportError as e:
            unavailable("vendi-score-loop", e)
    return out


def dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "?"


def vendi_version():
    return dist_version("vendi-score")


def torch_cdist_peer(x, k):
    """Exact k-NN as a PyTorch user writes it on the GPU: torch.cdist of a
    block of queries against all points, topk of the k + 1 smallest (self
    included, then dropped), block after block (4096 queries: 1.6 GB of
    distances at n = 100 000), synchronised."""
    import torch
    if not torch.cuda.is_available():
        raise ImportError("torch.cuda is not available")
    xt = torch.from_numpy(x).cuda()
    B = 4096

    def f():
        with torch.no_grad():
            for i0 in range(0, xt.shape[0], B):
                v, _ = torch.topk(torch.cdist(xt[i0:i0 + B], xt), k + 1, largest=False)
            torch.cuda.synchronize()
        return f"last {k}-NN distance {float(v[-1, -1]):.6g}"
    return ("torch-cuda-cdist-topk", torch.__version__, f, None)


def geomloss_peer(case, load, threads, device="cpu"):
    """GeomLoss SamplesLoss("sinkhorn", p=2, backend="tensorized") on the bench's
    clouds.  GeomLoss's p = 2 cost is |x - y|^2 / 2 and its temperature is
    blur^p, so the library's problem (cost |x - y|^2, eps) is GeomLoss's with
    blur = sqrt(eps / 2): the same Gibbs kernel exp(-|x - y|^2 / eps).  GeomLoss
    anneals eps from the clouds' diameter down to blur^2 (eps-scaling); the
    scaling factor is chosen so that the schedule has about the bench's
    iteration count.  debias=False: the plain entropic OT, not the Sinkhorn
    divergence.  It returns its dual value, not <P,C>.  device "cuda": the
    clouds on the GPU (name geomloss-SamplesLoss-cuda), synchronised."""
    import torch
    from geomloss import SamplesLoss
    torch.set_num_threads(threads)
    if device == "cuda" and not torch.cuda.is_available():
        raise ImportError("torch.cuda is not available")
    x = torch.from_numpy(np.ascontiguousarray(load("x"), dtype=np.float32)).to(device)
    y = torch.from_numpy(np.ascontiguousarray(load("y"), dtype=np.float32)).to(device)
    eps, it = case["eps"], case["max_iter"]
    blur = math.sqrt(eps / 2.0)
    lo = torch.minimum(x.min(0).values, y.min(0).values)
    hi = torch.maximum(x.max(0).values, y.max(0).values)
    diam = float((hi - lo).norm())
    # GeomLoss's schedule: exp(p*log(diam)) down to exp(p*log(blur)) in steps of
    # p*log(scaling), plus the first and last: about log(diam/blur)/log(1/scaling)+2.
    scaling = math.exp(-math.log(max(diam / blur, 1.0 + 1e-9)) / max(it - 2, 1))
    loss = SamplesLoss("sinkhorn", p=2, blur=blur, debias=False, scaling=scaling,
                       backend="tensorized")
    import geomloss

    def f():
        with torch.no_grad():
            v = float(loss(x, y))  # float(): waits for the GPU
        return f"OT_eps {2.0 * v:.6g} (x2: the library's cost scale), scaling {scaling:.4f}"
    name = "geomloss-SamplesLoss" + ("-cuda" if device == "cuda" else "")
    return (name, geomloss.__version__, f, None)


def run_compute(cases, d, args, out):
    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(limits=args.threads)
    except ImportError:
        limit = None
    for case in cases:
        for name, ver, fn, loop in compute_peers(case, d, args):
            base = {"type": "peer", "peer": name, "op": case["op"], "set": case["set"],
                    "family": "compute", "batch": case.get("batch", 1)}
            if ver is None:
                write_peer(out, {**base, "status": "unavailable", "error": fn})
                continue
            scaled = None
            if loop is not None:
                cnt = min(loop, args.loop_subset)
                call = fn(cnt)
                scaled = cnt if cnt < loop else None
            else:
                call = fn
            single = case["op"] in args.single_call.split(",")
            try:
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    if single:  # one call, timed: the check call is the figure
                        t0 = time.perf_counter()
                        check = call()
                        ms = (time.perf_counter() - t0) * 1e3
                        t = {"median_ms": ms, "min_ms": ms, "max_ms": ms, "q1_ms": ms,
                             "q3_ms": ms, "reps": 1}
                    else:
                        check = call()
                        t = timeit(call, lambda: None, args.compute_warmup, args.compute_repeats,
                                   args.min_time, args.compute_max_time)
            except Exception as e:  # a peer that fails is reported, not fatal
                write_peer(out, {**base, "status": "error", "version": ver,
                                 "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})
                continue
            if scaled:
                f = loop / scaled
                t = {k2: (v * f if k2.endswith("_ms") else v) for k2, v in t.items()}
            write_peer(out, {**base, "status": "ok", "version": ver, "threads": args.threads,
                             "check": check, "scaled_from": scaled, "single_call": single, **t})
    if limit is not None:
        limit.restore_original_limits()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench-json", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--append", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--peers", default="torch,scipy")
    ap.add_argument("--backends", default=None,
                    help="take cases from these bench backends (default: cpu,opencl on "
                         "--device cpu, cuda on --device cuda)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--max-time", type=float, default=3.0)
    ap.add_argument("--scipy-repeats", type=int, default=5)
    ap.add_argument("--scipy-max-rows", type=int, default=1 << 30)
    ap.add_argument("--families", default="logits,compute",
                    help="logits (the bench's result records), compute (Sinkhorn, kNN, Vendi)")
    ap.add_argument("--compute-repeats", type=int, default=10)
    ap.add_argument("--compute-warmup", type=int, default=1,
                    help="warm-up calls for the compute peers, besides the one whose "
                         "result is checked (default 1)")
    ap.add_argument("--compute-max-time", type=float, default=3.0)
    ap.add_argument("--single-call", default="knn-100k,vendi-10k,vendi-rbf,sinkhorn-20k",
                    help="compute cases whose peers take minutes a call: timed once, no "
                         "warm-up (the record says reps 1 and single_call)")
    ap.add_argument("--loop-subset", type=int, default=500,
                    help="Python loops over a batch time this many problems and scale")
    args = ap.parse_args()
    backends = (args.backends.split(",") if args.backends
                else (["cuda"] if args.device == "cuda" else ["cpu", "opencl"]))
    cases, threads, host_staged = load_cases(args.bench_json, backends)
    ccases = (load_compute_cases(args.bench_json, backends)
              if "compute" in args.families and args.device == "cpu" else [])
    if "logits" not in args.families:
        cases = []
    if not args.threads:
        args.threads = threads or os.cpu_count() or 1
    # Group by (cols, dtype) so each input set is loaded (and moved) once.
    cases.sort(key=lambda c: (c[2], c[3], c[1], c[0]))
    if not cases and not ccases:
        print(f"peers: no cases for backends {backends} in {args.bench_json}", file=sys.stderr)
        return 1
    inputs = Inputs(args.inputs)
    peers = args.peers.split(",")
    with open(args.out, "a" if args.append else "w") as out:
        if ccases:
            run_compute(ccases, args.inputs, args, out)
        if "torch" in peers:
            try:
                import torch  # noqa: F401
                run_torch(cases, inputs, args.device, args, out, host_staged)
            except ImportError:
                print("peers: torch is not installed; no torch peer", file=sys.stderr)
        if "scipy" in peers and args.device == "cpu":
            try:
                run_scipy(cases, inputs, args, out)
            except ImportError:
                print("peers: scipy is not installed; no scipy peer", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
