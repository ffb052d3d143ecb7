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
    args = ap.parse_args()
    backends = (args.backends.split(",") if args.backends
                else (["cuda"] if args.device == "cuda" else ["cpu", "opencl"]))
    cases, threads, host_staged = load_cases(args.bench_json, backends)
    if not args.threads:
        args.threads = threads or os.cpu_count() or 1
    # Group by (cols, dtype) so each input set is loaded (and moved) once.
    cases.sort(key=lambda c: (c[2], c[3], c[1], c[0]))
    if not cases:
        print(f"peers: no cases for backends {backends} in {args.bench_json}", file=sys.stderr)
        return 1
    inputs = Inputs(args.inputs)
    peers = args.peers.split(",")
    with open(args.out, "a" if args.append else "w") as out:
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
