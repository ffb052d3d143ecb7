#!/usr/bin/env python3
"""End-to-end test of the `infoest` command.

    python3 tests/test_cli.py build/cli/infoest

Makes .npy (and one .safetensors) files with NumPy, runs every command on
them, parses the one-line JSON and compares it with float64 references
computed here with NumPy/SciPy, independently of the C code (Sinkhorn: a
log-domain solver of our own, and POT's ot.sinkhorn2 when POT is
importable; the kNN estimators: their formulas over scipy.spatial.cKDTree).
Then the exit statuses: 2 for bad usage, 3 for malformed files and bad data
(naming the file), 4 for --backend cuda where CUDA is not available, and no
--out file after a failed run.  Exits 0 when every check passed.
"""
import json
import math
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln, log_softmax, logsumexp

if len(sys.argv) != 2:
    sys.exit("usage: test_cli.py PATH/TO/infoest")
EXE = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="infoest_cli_test_")
RNG = np.random.default_rng(20240611)

n_checks = 0
failures = []


def fail(name, msg):
    failures.append(f"{name}: {msg}")
    print(f"FAIL {name}: {msg}", flush=True)


def check(name, cond, msg=""):
    global n_checks
    n_checks += 1
    if not cond:
        fail(name, msg or "check failed")
    return cond


def path(name):
    return os.path.join(TMP, name)


def save(name, arr):
    p = path(name)
    np.save(p, arr)
    return p


def run(args, timeout=300):
    r = subprocess.run([EXE] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, text=True)
    return r.returncode, r.stdout, r.stderr


def num(v):
    """JSON numbers, and the strings "inf", "-inf", "nan"."""
    if isinstance(v, str):
        return float(v)
    return float(v)


def run_json(name, args):
    """Run a command that must succeed; its one-line JSON, or None."""
    rc, out, err = run(args)
    if not check(name, rc == 0, f"exit {rc}, stderr: {err.strip()}"):
        return None
    lines = out.strip().split("\n")
    if not check(name + " one line", len(lines) == 1, f"stdout has {len(lines)} lines"):
        return None
    try:
        j = json.loads(lines[0])
    except ValueError as e:
        fail(name, f"stdout is not JSON ({e}): {out!r}")
        return None
    check(name + " backend key", "backend" in j, f"no 'backend' in {j}")
    return j


def close(name, got, ref, rtol=1e-5, atol=1e-6):
    """docs/SPEC.md §1: within rtol relative, or atol absolute when the value is near 0."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        return check(name, False, f"shape {got.shape} != reference {ref.shape}")
    same_inf = (np.isinf(got) & np.isinf(ref) & (np.sign(got) == np.sign(ref)))
    with np.errstate(invalid="ignore"):
        err = np.where(same_inf, 0.0, np.abs(got - ref))
    ok = (err <= np.maximum(rtol * np.abs(ref), atol)) | same_inf
    if not ok.all():
        i = int(np.argmin(ok.ravel()))
        return check(name, False, f"got {got.ravel()[i]!r}, reference {ref.ravel()[i]!r} "
                                  f"(element {i}; rtol {rtol}, atol {atol})")
    return check(name, True)


def keys_present(name, j, keys):
    missing = [k for k in keys if k not in j]
    return check(name + " keys", not missing, f"missing JSON keys {missing} in {j}")


def expect_exit(name, args, code, must_name=None):
    rc, out, err = run(args)
    ok = check(name, rc == code, f"exit {rc}, expected {code}; stderr: {err.strip()}")
    if ok and must_name:
        check(name + " message", os.path.basename(must_name) in err,
              f"stderr does not name {os.path.basename(must_name)}: {err.strip()}")
    if ok and code != 0:
        check(name + " stdout empty", out.strip() == "", f"stdout: {out!r}")
    if ok and code == 2:  # README: bad usage gives a one-line message and a pointer to --help
        check(name + " points to --help", "--help" in err, f"stderr: {err.strip()}")
    return rc, err


# ---- Which commands this build has --------------------------------------------

rc, help_out, _ = run(["--help"])
check("--help", rc == 0)
COMMANDS = set()
in_cmds = False
for line in help_out.split("\n"):
    if line.startswith("Commands:"):
        in_cmds = True
        continue
    if in_cmds:
        if not line.strip():
            break
        COMMANDS.add(line.split()[0])
EXPECTED = ["log-softmax", "entropy", "nll", "divergence", "sinkhorn", "knn-entropy",
            "knn-divergence", "knn-mi", "vendi", "matrix-entropy", "demo"]
for c in EXPECTED:
    if c not in COMMANDS:
        print(f"note: this build has no '{c}' command; its checks are skipped")


def have(c):
    return c in COMMANDS


for c in sorted(COMMANDS):
    rc, out, err = run([c, "--help"])
    check(f"{c} --help", rc == 0 and "Examples:" in out and "Usage: infoest " + c in out,
          f"exit {rc}")

# ---- Row-wise commands ------------------------------------------------------------

B, V = 37, 300
logits = (RNG.standard_normal((B, V)) * RNG.uniform(0.5, 4, (B, 1))).astype(np.float32)
logits[::5, -20:] = -np.inf                        # probability 0
q_logits = (logits + 0.7 * RNG.standard_normal((B, V))).astype(np.float32)
q_logits[::5, -20:] = -np.inf
labels = RNG.integers(0, V - 20, B).astype(np.int64)
labels[3] = -100
f_logits = save("logits.npy", logits)
f_q = save("q.npy", q_logits)
f_labels = save("labels.npy", labels)
L = logits.astype(np.float64)
LQ = q_logits.astype(np.float64)
logp = log_softmax(L, axis=1)
logq = log_softmax(LQ, axis=1)
P = np.exp(logp)
Q = np.exp(logq)


def xlogy_rows(a, la):
    return np.where(a > 0, a * np.where(a > 0, la, 0.0), 0.0).sum(axis=1)


if have("log-softmax"):
    o = path("lsm.npy")
    j = run_json("log-softmax", ["log-softmax", "--logits", f_logits, "--out", o, "--out-dtype", "f64"])
    if j:
        keys_present("log-softmax", j, ["rows", "cols"])
        check("log-softmax rows", j["rows"] == B and j["cols"] == V)
        close("log-softmax values", np.load(o), logp)
    # leading dimensions are rows, and the shape is kept
    f3 = save("logits3.npy", logits[:36].reshape(4, 9, V))
    j = run_json("log-softmax 3-D", ["log-softmax", "--logits", f3, "--out", o])
    if j:
        got = np.load(o)
        check("log-softmax 3-D shape", got.shape == (4, 9, V), f"{got.shape}")
        close("log-softmax 3-D values", got.reshape(36, V), logp[:36])

if have("entropy"):
    H = -xlogy_rows(P, logp)
    o = path("h.npy")
    j = run_json("entropy", ["entropy", "--logits", f_logits, "--out", o])
    if j:
        keys_present("entropy", j, ["rows", "mean", "sum", "min", "max"])
        close("entropy mean", num(j["mean"]), H.mean())
        close("entropy sum", num(j["sum"]), H.sum())
        close("entropy min", num(j["min"]), H.min())
        close("entropy max", num(j["max"]), H.max())
        close("entropy --out", np.load(o), H)
    probs = RNG.uniform(0, 1, (B, V))
    probs[:, :10] = 0
    fp = save("probs.npy", probs)
    pn = probs / probs.sum(axis=1, keepdims=True)
    for kind, a in [("renyi", 2.0), ("renyi", 0.5), ("tsallis", 1.5)]:
        s = (pn ** a).sum(axis=1)
        ref = np.log(s) / (1 - a) if kind == "renyi" else (1 - s) / (a - 1)
        j = run_json(f"entropy {kind} {a}", ["entropy", "--probs", fp, "--kind", kind, "--alpha", a])
        if j:
            close(f"entropy {kind} {a} mean", num(j["mean"]), ref.mean())
    j = run_json("entropy renyi inf", ["entropy", "--probs", fp, "--kind", "renyi", "--alpha", "inf"])
    if j:
        close("entropy renyi inf mean", num(j["mean"]), (-np.log(pn.max(axis=1))).mean())

if have("nll"):
    keep = labels != -100
    nll = np.array([-logp[i, labels[i]] for i in range(B) if keep[i]])
    j = run_json("nll", ["nll", "--logits", f_logits, "--labels", f_labels, "--ignore-index", -100])
    if j:
        keys_present("nll", j, ["rows", "mean", "sum", "perplexity"])
        close("nll mean", num(j["mean"]), nll.mean())
        close("nll sum", num(j["sum"]), nll.sum())
        close("nll perplexity", num(j["perplexity"]), math.exp(nll.mean()))
        check("nll ignored", j.get("ignored") == 1, f"{j.get('ignored')}")

if have("divergence"):
    kl = xlogy_rows(P, logp) - np.where(P > 0, P * np.where(P > 0, logq, 0), 0).sum(axis=1)
    M = 0.5 * (P + Q)
    with np.errstate(divide="ignore"):
        logm = np.log(M)
    js = 0.5 * (xlogy_rows(P, logp) - np.where(P > 0, P * np.where(P > 0, logm, 0), 0).sum(1)) + \
        0.5 * (xlogy_rows(Q, logq) - np.where(Q > 0, Q * np.where(Q > 0, logm, 0), 0).sum(1))
    tv = 0.5 * np.abs(P - Q).sum(axis=1)
    ren = np.log((np.sqrt(P * Q)).sum(axis=1)) / (0.5 - 1)
    o = path("kl.npy")
    for kind, ref, extra in [("kl", kl, []), ("js", js, []), ("tv", tv, []),
                             ("renyi", ren, ["--alpha", "0.5"])]:
        args = ["divergence", "--kind", kind, "--p", f_logits, "--q", f_q] + extra
        if kind == "kl":
            args += ["--out", o]
        j = run_json(f"divergence {kind}", args)
        if j:
            keys_present(f"divergence {kind}", j, ["kind", "rows", "mean", "sum", "min", "max"])
            close(f"divergence {kind} mean", num(j["mean"]), ref.mean())
            close(f"divergence {kind} max", num(j["max"]), ref.max())
            if kind == "kl":
                close("divergence kl --out", np.load(o), kl)
    # an infinite KL is an answer
    pz = np.full((2, 4), 0.25)
    qz = np.array([[0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    j = run_json("divergence kl inf", ["divergence", "--kind", "kl", "--p", save("pz.npy", pz),
                                       "--q", save("qz.npy", qz), "--input", "probs"])
    if j:
        check("divergence kl inf max", j["max"] == "inf", f"{j['max']!r}")

# ---- Spectral: vendi, matrix-entropy -----------------------------------------------


def spectral_eigs(K):
    lam = np.linalg.eigvalsh(K / K.shape[0])
    tol = 2 * (2 * K.shape[0]) * np.finfo(np.float64).eps * lam.max()
    lam = lam[lam > tol]
    return lam / lam.sum()


def renyi(lam, q):
    if q == 1:
        return -(lam * np.log(lam)).sum()
    if math.isinf(q):
        return -math.log(lam.max())
    return math.log((lam ** q).sum()) / (1 - q)


def cosine_K(x):
    x = x.astype(np.float64)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    return xn @ xn.T


def rbf_K(x, sigma):
    x = x.astype(np.float64)
    sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return np.exp(-sq / (2 * sigma * sigma))


# 24 clusters of 10 points in R^32: K/n has a clear spectrum.
centres = RNG.standard_normal((24, 32))
xs = (centres[np.arange(240) % 24] + 0.3 * RNG.standard_normal((240, 32))).astype(np.float32)
f_xs = save("xs.npy", xs)
Kc = cosine_K(xs)
lam_c = spectral_eigs(Kc)
Kr = rbf_K(xs, 4.0)
lam_r = spectral_eigs(Kr)

if have("vendi"):
    for q in [1.0, 2.0, 0.5, float("inf")]:
        j = run_json(f"vendi q={q}", ["vendi", "--x", f_xs, "--q", "inf" if math.isinf(q) else q])
        if j:
            keys_present("vendi", j, ["vendi", "q", "n", "path"])
            close(f"vendi q={q}", num(j["vendi"]), math.exp(renyi(lam_c, q)), rtol=1e-6)
            check("vendi n", j["n"] == 240)
            check("vendi path", j["path"] == "dual", f"{j['path']}")  # cosine, d < n
    j = run_json("vendi q=0", ["vendi", "--x", f_xs, "--q", "0"])
    if j:
        check("vendi q=0 counts", num(j["vendi"]) == 32, f"{j['vendi']}")
    j = run_json("vendi primal", ["vendi", "--x", f_xs, "--path", "primal"])
    if j:
        close("vendi primal", num(j["vendi"]), math.exp(renyi(lam_c, 1)), rtol=1e-6)
        check("vendi primal path", j["path"] == "primal")
    j = run_json("vendi rbf", ["vendi", "--x", f_xs, "--kernel", "rbf", "--sigma", "4", "--q", "2"])
    if j:
        close("vendi rbf", num(j["vendi"]), math.exp(renyi(lam_r, 2)), rtol=1e-6)
    f_K = save("K.npy", Kr)
    j = run_json("vendi kernel-matrix", ["vendi", "--kernel-matrix", f_K])
    if j:
        close("vendi kernel-matrix", num(j["vendi"]), math.exp(renyi(lam_r, 1)), rtol=1e-6)
    # a batch of sets: one score a set in --out
    sets = RNG.standard_normal((6, 12, 5)).astype(np.float32)
    o = path("vendi_sets.npy")
    j = run_json("vendi batch", ["vendi", "--x", save("sets.npy", sets), "--out", o])
    if j:
        ref = np.array([math.exp(renyi(spectral_eigs(cosine_K(s)), 1)) for s in sets])
        close("vendi batch --out", np.load(o), ref, rtol=1e-6)
        close("vendi batch mean", num(j["vendi"]), ref.mean(), rtol=1e-6)
        check("vendi batch sets", j.get("sets") == 6)
    # `positive` (README's keys) for a batch too: the fewest eigenvalues kept
    # as > 0 over the sets (one set's `positive` is its count, the order-0 score).
    low = RNG.standard_normal((4, 20, 8))
    low[2, :, 3:] = 0.0  # set 2 has rank 3
    f_low = save("sets_low.npy", low.astype(np.float32))
    ranks = [np.linalg.matrix_rank(cosine_K(s_)) for s_ in low]
    for q in (1, 0, 2):
        j = run_json(f"vendi batch positive q={q}", ["vendi", "--x", f_low, "--q", q])
        if j:
            check(f"vendi batch positive q={q}", j.get("positive") == min(ranks) == 3,
                  f"positive {j.get('positive')!r}, per-set ranks {ranks}")
    for i in (1, 2):
        j = run_json(f"vendi set {i} positive", ["vendi", "--x", save(f"set{i}.npy", low[i].astype(np.float32))])
        if j:
            check(f"vendi set {i} positive", j.get("positive") == ranks[i], f"{j.get('positive')!r} vs {ranks[i]}")
    rc, txt, err = run(["vendi", "--x", f_low, "--format", "text"])
    tkeys = [ln.split()[0] for ln in txt.strip().split("\n") if ln.strip()]
    j = run_json("vendi batch keys", ["vendi", "--x", f_low])
    if j:
        keys_present("vendi batch", j, ["vendi", "q", "n", "path", "kernel", "positive", "max_clamp", "sets"])
        check("vendi batch text keys", rc == 0 and tkeys == list(j.keys()), f"text {tkeys} vs JSON {list(j)}")
    # float32 eigenvalues (LAPACK ssyevd on the CPU): about 1e-5 relative
    j64 = run_json("vendi rbf double", ["vendi", "--x", f_xs, "--kernel", "rbf", "--sigma", "4", "--q", "2"])
    j = run_json("vendi --single-precision", ["vendi", "--x", f_xs, "--kernel", "rbf", "--sigma", "4",
                                              "--q", "2", "--single-precision"])
    if j and j64:
        close("vendi --single-precision", num(j["vendi"]), math.exp(renyi(lam_r, 2)), rtol=5e-5)
        check("vendi --single-precision reported", j.get("single_precision") is True and
              "single_precision" not in j64, f"{j.get('single_precision')!r}, {j64.get('single_precision')!r}")
        check("vendi --single-precision took float32", num(j["vendi"]) != num(j64["vendi"]),
              f"{j['vendi']} is the double value")
    # identical samples give 1
    same = np.tile(RNG.standard_normal((1, 8)), (20, 1)).astype(np.float32)
    j = run_json("vendi identical", ["vendi", "--x", save("same.npy", same)])
    if j:
        close("vendi identical", num(j["vendi"]), 1.0, rtol=1e-6)

if have("matrix-entropy"):
    for a in [1.0, 2.0, 0.5]:
        j = run_json(f"matrix-entropy a={a}", ["matrix-entropy", "--x", f_xs, "--alpha", a])
        if j:
            keys_present("matrix-entropy", j, ["entropy", "alpha", "n"])
            close(f"matrix-entropy a={a}", num(j["entropy"]), renyi(lam_c, a), rtol=1e-6)
    o = path("ment.npy")
    j = run_json("matrix-entropy rbf", ["matrix-entropy", "--x", f_xs, "--kernel", "rbf",
                                        "--sigma", "4", "--out", o])
    if j:
        close("matrix-entropy rbf", num(j["entropy"]), renyi(lam_r, 1), rtol=1e-6)
        close("matrix-entropy --out", np.load(o), [renyi(lam_r, 1)], rtol=1e-6)
    j = run_json("matrix-entropy --single-precision", ["matrix-entropy", "--x", f_xs, "--kernel", "rbf",
                                                       "--sigma", "4", "--single-precision"])
    if j:
        close("matrix-entropy --single-precision", num(j["entropy"]), renyi(lam_r, 1), rtol=5e-5)
        check("matrix-entropy --single-precision reported", j.get("single_precision") is True)

# ---- Sinkhorn -----------------------------------------------------------------------


def sinkhorn_log(a, b, C, eps, iters=20000, tol=1e-13):
    """Log-domain Sinkhorn in float64: (transport cost, objective, P)."""
    a = a / a.sum()
    b = b / b.sum()
    la, lb = np.log(a), np.log(b)
    f = np.zeros(len(a))
    g = np.zeros(len(b))
    for it in range(iters):
        f = eps * la - eps * logsumexp((g[None, :] - C) / eps, axis=1)
        g = eps * lb - eps * logsumexp((f[:, None] - C) / eps, axis=0)
        if it % 5 == 0:
            Pm = np.exp((f[:, None] + g[None, :] - C) / eps)
            if np.abs(Pm.sum(1) - a).sum() + np.abs(Pm.sum(0) - b).sum() < tol:
                break
    Pm = np.exp((f[:, None] + g[None, :] - C) / eps)
    ab = a[:, None] * b[None, :]
    kl = (Pm * np.log(Pm / ab)).sum() - Pm.sum() + ab.sum()
    cost = (Pm * C).sum()
    return cost, cost + eps * kl


def sqdist(x, y):
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


try:
    import ot  # POT, optional
except Exception:  # noqa: BLE001 - any import failure means "not here"
    ot = None
    print("note: POT is not importable; Sinkhorn is checked against this script's own solver only")

if have("sinkhorn"):
    # eps of the order of the costs: plain Sinkhorn on the self-problems
    # OT(a, a), OT(b, b) of the divergence converges in tens of iterations
    # (at eps << cost it can take tens of thousands, here and in the C code).
    n, m, eps = 60, 45, 0.5
    sa = RNG.uniform(0.2, 1.0, n)
    sb = RNG.uniform(0.2, 1.0, m)
    sx = (0.5 * RNG.standard_normal((n, 3))).astype(np.float32)
    sy = (0.4 * RNG.standard_normal((m, 3)) + 0.3).astype(np.float32)
    fa, fb = save("sa.npy", sa), save("sb.npy", sb)
    fx, fy = save("sx.npy", sx), save("sy.npy", sy)
    C = sqdist(sx, sy)
    cost, obj = sinkhorn_log(sa, sb, C, eps)
    if ot is not None:
        pot = float(ot.sinkhorn2(sa / sa.sum(), sb / sb.sum(), C, eps, method="sinkhorn_log",
                                 stopThr=1e-13, numItermax=200000))
        close("sinkhorn reference vs POT", cost, pot, rtol=1e-7)
    common = ["--epsilon", eps, "--tol", "1e-10", "--max-iter", "20000"]
    j = run_json("sinkhorn x/y", ["sinkhorn", "--a", fa, "--b", fb, "--x", fx, "--y", fy] + common)
    if j:
        keys_present("sinkhorn", j, ["transport_cost", "objective", "iterations",
                                     "marginal_error", "converged"])
        close("sinkhorn transport_cost", num(j["transport_cost"]), cost, rtol=1e-6)
        close("sinkhorn objective", num(j["objective"]), obj, rtol=1e-6)
        check("sinkhorn converged", j["converged"] is True, f"{j['converged']}")
        check("sinkhorn marginal_error", num(j["marginal_error"]) <= 1e-10, f"{j['marginal_error']}")
    fC = save("C.npy", C)
    j = run_json("sinkhorn cost", ["sinkhorn", "--a", fa, "--b", fb, "--cost", fC] + common)
    if j:
        close("sinkhorn cost transport_cost", num(j["transport_cost"]), cost, rtol=1e-6)
    # the debiased divergence, from point clouds and from given costs
    _, oxx = sinkhorn_log(sa, sa, sqdist(sx, sx), eps)
    _, oyy = sinkhorn_log(sb, sb, sqdist(sy, sy), eps)
    div = obj - 0.5 * oxx - 0.5 * oyy
    j = run_json("sinkhorn divergence", ["sinkhorn", "--a", fa, "--b", fb, "--x", fx, "--y", fy,
                                         "--divergence"] + common)
    if j:
        keys_present("sinkhorn divergence", j, ["divergence"])
        close("sinkhorn divergence", num(j["divergence"]), div, rtol=1e-6)
    j = run_json("sinkhorn divergence cost",
                 ["sinkhorn", "--a", fa, "--b", fb, "--cost", fC, "--divergence",
                  "--cost-xx", save("Cxx.npy", sqdist(sx, sx)),
                  "--cost-yy", save("Cyy.npy", sqdist(sy, sy))] + common)
    if j:
        close("sinkhorn divergence cost", num(j["divergence"]), div, rtol=1e-6)
    # a batch of problems: one transport cost a problem in --out
    Bp = 3
    ba = RNG.uniform(0.1, 1.0, (Bp, n))
    bb = RNG.uniform(0.1, 1.0, (Bp, m))
    bC = RNG.uniform(0, 1, (Bp, n, m))
    o = path("sk.npy")
    j = run_json("sinkhorn batch", ["sinkhorn", "--a", save("ba.npy", ba), "--b", save("bb.npy", bb),
                                    "--cost", save("bC.npy", bC), "--out", o] + common)
    if j:
        ref = np.array([sinkhorn_log(ba[i], bb[i], bC[i], eps)[0] for i in range(Bp)])
        close("sinkhorn batch --out", np.load(o), ref, rtol=1e-6)
        close("sinkhorn batch mean", num(j["transport_cost"]), ref.mean(), rtol=1e-6)
    # float32 tiles: ignored on the CPU (the same bits); on OpenCL within
    # max(2e-6, 3e-8 r) of float64, r = (median cost)/epsilon (SPEC §4)
    single = ["sinkhorn", "--a", fa, "--b", fb, "--x", fx, "--y", fy, "--single-precision"] + common
    j = run_json("sinkhorn --single-precision cpu", single + ["--backend", "cpu"])
    j64 = run_json("sinkhorn cpu", ["sinkhorn", "--a", fa, "--b", fb, "--x", fx, "--y", fy,
                                    "--backend", "cpu"] + common)
    if j and j64:
        check("sinkhorn --single-precision ignored on the cpu", j["transport_cost"] == j64["transport_cost"],
              f"{j['transport_cost']} vs {j64['transport_cost']}")
        check("sinkhorn --single-precision reported", j.get("single_precision") is True)
    rc, out, _ = run(["sinkhorn", "--a", fa, "--b", fb, "--x", fx, "--y", fy, "--backend", "opencl"] + common)
    if rc == 0:
        j64 = json.loads(out)
        j = run_json("sinkhorn --single-precision opencl", single + ["--backend", "opencl"])
        if j:
            tol = max(2e-6, 3e-8 * float(np.median(C)) / eps)
            close("sinkhorn --single-precision opencl", num(j["transport_cost"]), cost, rtol=tol)
            check("sinkhorn --single-precision opencl took float32", j["transport_cost"] != j64["transport_cost"],
                  f"{j['transport_cost']} is opencl's double value")
    # not converging is a result, not a failure
    j = run_json("sinkhorn max-iter", ["sinkhorn", "--a", fa, "--b", fb, "--x", fx, "--y", fy,
                                       "--epsilon", "0.01", "--max-iter", "3"])
    if j:
        check("sinkhorn not converged", j["converged"] is False, f"{j['converged']}")

# ---- kNN estimators ------------------------------------------------------------------

LOG_VD = {d: (d / 2) * math.log(math.pi) - gammaln(d / 2 + 1) for d in range(1, 20)}


def rho_k(x, k):
    """Distance from each x_i to its k-th neighbour in x without itself."""
    d, _ = cKDTree(x).query(x, k=k + 1)
    return d[:, k]


def nu_k(x, y, k):
    d, _ = cKDTree(y).query(x, k=k)
    return d[:, k - 1] if k > 1 else d


def kl_entropy(x, k):
    N, d = x.shape
    return digamma(N) - digamma(k) + LOG_VD[d] + d * np.log(rho_k(x, k)).mean()


def lps_entropy(x, k, a):
    N, d = x.shape
    Ck = math.exp((gammaln(k) - gammaln(k + 1 - a)) / (1 - a))
    zeta = (N - 1) * Ck * math.exp(LOG_VD[d]) * rho_k(x, k) ** d
    return math.log((zeta ** (1 - a)).mean()) / (1 - a)


def wkv_kl(x, y, k):
    N, d = x.shape
    M = y.shape[0]
    return d * np.log(nu_k(x, y, k) / rho_k(x, k)).mean() + math.log(M / (N - 1))


def ps_renyi(x, y, k, a):
    N, d = x.shape
    M = y.shape[0]
    logB = 2 * gammaln(k) - gammaln(k - a + 1) - gammaln(k + a - 1)
    t = ((N - 1) * rho_k(x, k) ** d / (M * nu_k(x, y, k) ** d)) ** (1 - a)
    return (logB + math.log(t.mean())) / (a - 1)


def nnr_tv(x, y, k):
    N, M = x.shape[0], y.shape[0]
    z = np.vstack([x, y])
    _, idx = cKDTree(z).query(y, k=k + 1)
    r = []
    for i in range(M):
        nb = [j for j in idx[i] if j != N + i][:k]
        Ni = sum(1 for j in nb if j < N)
        Mi = k - Ni
        r.append((M / N) * Ni / (Mi + 1))
    return (0.5 * np.abs(np.array(r) - 1)).mean()


def ksg(x, y, k):
    N = x.shape[0]
    z = np.hstack([x, y])
    d, _ = cKDTree(z).query(z, k=k + 1, p=np.inf)
    e = d[:, k]
    r = np.nextafter(e, 0)  # strictly closer than eps_i
    nx = cKDTree(x).query_ball_point(x, r, p=np.inf, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, r, p=np.inf, return_length=True) - 1
    return digamma(k) + digamma(N) - (digamma(nx + 1) + digamma(ny + 1)).mean()


kx = (RNG.standard_normal((800, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 1]])).astype(np.float32)
ky = (1.2 * RNG.standard_normal((600, 3)) + 0.3).astype(np.float32)
f_kx, f_ky = save("kx.npy", kx), save("ky.npy", ky)
kx64, ky64 = kx.astype(np.float64), ky.astype(np.float64)

if have("knn-entropy"):
    for k in [1, 5]:
        j = run_json(f"knn-entropy k={k}", ["knn-entropy", "--x", f_kx, "--k", k])
        if j:
            keys_present("knn-entropy", j, ["estimate", "n", "d", "k"])
            close(f"knn-entropy k={k}", num(j["estimate"]), kl_entropy(kx64, k), rtol=1e-7)
            check("knn-entropy n d k", (j["n"], j["d"], j["k"]) == (800, 3, k), f"{j}")
    o = path("ke.npy")
    j = run_json("knn-entropy renyi", ["knn-entropy", "--x", f_kx, "--k", 5, "--alpha", 2, "--out", o])
    if j:
        close("knn-entropy renyi", num(j["estimate"]), lps_entropy(kx64, 5, 2.0), rtol=1e-7)
        close("knn-entropy --out", np.load(o), [lps_entropy(kx64, 5, 2.0)], rtol=1e-7)
    # 1-D samples, float64
    x1 = RNG.standard_normal(500)
    j = run_json("knn-entropy 1-D", ["knn-entropy", "--x", save("x1.npy", x1), "--k", 3])
    if j:
        close("knn-entropy 1-D", num(j["estimate"]), kl_entropy(x1[:, None], 3), rtol=1e-7)
    # the same points from a .safetensors file
    st = path("pts.safetensors")
    hdr = json.dumps({"pts": {"dtype": "F32", "shape": list(kx.shape),
                              "data_offsets": [0, kx.nbytes]}}).encode()
    hdr += b" " * (-len(hdr) % 8)
    with open(st, "wb") as fh:
        fh.write(struct.pack("<Q", len(hdr)) + hdr + kx.tobytes())
    j = run_json("knn-entropy safetensors", ["knn-entropy", "--x", st + ":pts", "--k", 5])
    if j:
        close("knn-entropy safetensors", num(j["estimate"]), kl_entropy(kx64, 5), rtol=1e-7)

if have("knn-divergence"):
    j = run_json("knn-divergence kl", ["knn-divergence", "--x", f_kx, "--y", f_ky, "--k", 4])
    if j:
        keys_present("knn-divergence", j, ["estimate", "n", "m", "d", "k"])
        close("knn-divergence kl", num(j["estimate"]), wkv_kl(kx64, ky64, 4), rtol=1e-7)
        check("knn-divergence n m d k", (j["n"], j["m"], j["d"], j["k"]) == (800, 600, 3, 4), f"{j}")
    j = run_json("knn-divergence renyi", ["knn-divergence", "--x", f_kx, "--y", f_ky, "--k", 4,
                                          "--kind", "renyi", "--alpha", 0.7])
    if j:
        close("knn-divergence renyi", num(j["estimate"]), ps_renyi(kx64, ky64, 4, 0.7), rtol=1e-7)
    j = run_json("knn-divergence nnr", ["knn-divergence", "--x", f_kx, "--y", f_ky, "--k", 6,
                                        "--kind", "nnr", "--nnr-kind", "tv"])
    if j:
        close("knn-divergence nnr tv", num(j["estimate"]), nnr_tv(kx64, ky64, 6), rtol=1e-7)

if have("knn-mi"):
    z = RNG.standard_normal((700, 3))
    mx = z[:, :2].astype(np.float32)
    my = (z[:, :1] + 0.6 * z[:, 2:]).astype(np.float32)
    j = run_json("knn-mi", ["knn-mi", "--x", save("mx.npy", mx), "--y", save("my.npy", my), "--k", 3])
    if j:
        keys_present("knn-mi", j, ["estimate", "n", "k"])
        close("knn-mi", num(j["estimate"]),
              ksg(mx.astype(np.float64), my.astype(np.float64), 3), rtol=1e-7, atol=1e-9)
        check("knn-mi n k", (j["n"], j["k"]) == (700, 3), f"{j}")

# ---- demo -------------------------------------------------------------------------------

if have("demo"):
    j = run_json("demo", ["demo", "--rows", 16, "--cols", 500, "--format", "json"])
    if j:
        check("demo agrees", j.get("all_within_tolerance") is True, "backends disagree")
        ops = {r["op"] for r in j.get("results", [])}
        for fam in ["log-softmax", "entropy", "nll", "divergence", "vendi", "matrix-entropy",
                    "sinkhorn", "knn-entropy"]:
            famcmd = fam if fam != "matrix-entropy" else "matrix-entropy"
            if have(famcmd):
                check(f"demo has {fam}", fam in ops, f"ops: {sorted(ops)}")

# ---- Bad usage: 2 -------------------------------------------------------------------------

expect_exit("no command", [], 2)
expect_exit("unknown command", ["frobnicate"], 2)
expect_exit("entropy unknown option", ["entropy", "--logits", f_logits, "--bogus"], 2)
expect_exit("entropy missing input", ["entropy"], 2)
expect_exit("entropy bad alpha", ["entropy", "--logits", f_logits, "--kind", "renyi", "--alpha", "x"], 2)
expect_exit("divergence unknown kind", ["divergence", "--kind", "nope", "--p", f_logits, "--q", f_q], 2)
expect_exit("bad --format", ["entropy", "--logits", f_logits, "--format", "xml"], 2)
expect_exit("bad --backend", ["entropy", "--logits", f_logits, "--backend", "tpu"], 2)
# Options the library refuses (IE_INVALID_ARGUMENT) are bad usage too, with the
# pointer to --help (README: exit 2).
for kind in ("renyi", "tsallis"):
    expect_exit(f"divergence {kind} alpha -1", ["divergence", "--kind", kind, "--alpha", -1,
                                                "--p", f_logits, "--q", f_q], 2)
# An output type the backend cannot write is bad usage (exit 2 naming
# --out-dtype and the backend), not bad input data (3); no --out file.
rc_ocl, _, _ = run(["entropy", "--logits", f_logits, "--backend", "opencl"])
if rc_ocl == 0:
    o = path("ls_f64_ocl.npy")
    rc, err = expect_exit("log-softmax --out-dtype f64 on opencl",
                          ["log-softmax", "--logits", f_logits, "--backend", "opencl", "--out", o,
                           "--out-dtype", "f64"], 2)
    check("log-softmax --out-dtype f64 on opencl message",
          "--out-dtype" in err and "opencl" in err and "bad input data" not in err
          and len(err.strip().splitlines()) == 1, f"stderr: {err.strip()}")
    check("log-softmax --out-dtype f64 on opencl no file", not os.path.exists(o))
    for cmd_args in (["entropy", "--logits", f_logits], ["nll", "--logits", f_logits, "--labels", f_labels,
                                                         "--ignore-index", -100],
                     ["divergence", "--kind", "kl", "--p", f_logits, "--q", f_q]):
        for dt in ("f32", "f64"):
            o = path(f"{cmd_args[0]}_{dt}_ocl.npy")
            j = run_json(f"{cmd_args[0]} --out-dtype {dt} on opencl",
                         cmd_args + ["--backend", "opencl", "--out", o, "--out-dtype", dt])
            if j:
                check(f"{cmd_args[0]} --out-dtype {dt} on opencl file",
                      np.load(o).dtype == (np.float32 if dt == "f32" else np.float64))
    # float64 the backend takes as float32: a finite value past float32's range
    # is bad data named as it is in the file (not "+inf"), pointing at --backend cpu
    huge = np.zeros((4, 5))
    huge[2, 1] = 1e300
    f_huge = save("huge_f64.npy", huge)
    o = path("huge_ocl.npy")
    rc, err = expect_exit("entropy f64 past float32 on opencl",
                          ["entropy", "--logits", f_huge, "--backend", "opencl", "--out", o], 3, must_name=f_huge)
    check("entropy f64 past float32 on opencl message",
          "row 2" in err and "column 1" in err and "1.0000000000000001e+300" in err and "--backend cpu" in err,
          f"stderr: {err.strip()}")
    check("entropy f64 past float32 on opencl no file", not os.path.exists(o))
    if have("knn-entropy"):
        pts = RNG.standard_normal((200, 3))
        pts[7, 2] = 3e300
        f_pts = save("knn_huge_f64.npy", pts)
        rc, err = expect_exit("knn-entropy f64 past float32 on opencl",
                              ["knn-entropy", "--x", f_pts, "--k", 3, "--backend", "opencl"], 3, must_name=f_pts)
        check("knn-entropy f64 past float32 on opencl message", "row 7, column 2" in err and "3.0000000000000002e+300" in err
              and "--backend cpu" in err,
              f"stderr: {err.strip()}")
else:
    print("note: no opencl backend here; the --out-dtype checks on opencl are skipped")
if have("vendi"):
    expect_exit("vendi no input", ["vendi"], 2)
    expect_exit("vendi both inputs", ["vendi", "--x", f_xs, "--kernel-matrix", f_xs], 2)
    expect_exit("vendi rbf no sigma", ["vendi", "--x", f_xs, "--kernel", "rbf"], 2)
    expect_exit("vendi bad kernel", ["vendi", "--x", f_xs, "--kernel", "poly"], 2)
    expect_exit("vendi negative q", ["vendi", "--x", f_xs, "--q", "-1"], 2)
    expect_exit("vendi nan q", ["vendi", "--x", f_xs, "--q", "nan"], 2)
if have("matrix-entropy"):
    expect_exit("matrix-entropy negative alpha", ["matrix-entropy", "--x", f_xs, "--alpha", "-2"], 2)
if have("sinkhorn"):
    expect_exit("sinkhorn no epsilon", ["sinkhorn", "--a", fa, "--b", fb, "--cost", fC], 2)
    expect_exit("sinkhorn zero epsilon", ["sinkhorn", "--a", fa, "--b", fb, "--cost", fC, "--epsilon", 0], 2)
    expect_exit("sinkhorn no cost", ["sinkhorn", "--a", fa, "--b", fb, "--epsilon", 1], 2)
    expect_exit("sinkhorn cost and points", ["sinkhorn", "--a", fa, "--b", fb, "--cost", fC,
                                             "--x", fx, "--y", fy, "--epsilon", 1], 2)
    expect_exit("sinkhorn bad metric", ["sinkhorn", "--a", fa, "--b", fb, "--x", fx, "--y", fy,
                                        "--epsilon", 1, "--metric", "manhattan"], 2)
if have("knn-entropy"):
    expect_exit("knn-entropy no k", ["knn-entropy", "--x", f_kx], 2)
    expect_exit("knn-entropy k=0", ["knn-entropy", "--x", f_kx, "--k", 0], 2)
    expect_exit("knn-entropy k>=N", ["knn-entropy", "--x", f_kx, "--k", 800], 2)
if have("knn-divergence"):
    expect_exit("knn-divergence bad kind", ["knn-divergence", "--x", f_kx, "--y", f_ky, "--k", 3,
                                            "--kind", "wasserstein"], 2)
    expect_exit("knn-divergence renyi no alpha", ["knn-divergence", "--x", f_kx, "--y", f_ky,
                                                  "--k", 3, "--kind", "renyi"], 2)
if have("knn-mi"):
    expect_exit("knn-mi no y", ["knn-mi", "--x", f_kx, "--k", 3], 2)

# ---- Bad data: 3, naming the file -----------------------------------------------------------

good = RNG.standard_normal((40, 4)).astype(np.float32)
f_good = save("good.npy", good)
raw = open(f_good, "rb").read()


def write_bytes(name, data):
    p = path(name)
    with open(p, "wb") as fh:
        fh.write(data)
    return p


bad_files = {
    "truncated": write_bytes("trunc.npy", raw[:-7]),
    "truncated header": write_bytes("trunc_hdr.npy", raw[:30]),
    "lying shape": write_bytes("lie_shape.npy", raw.replace(b"(40, 4)", b"(90, 4)")),
    "lying dtype": write_bytes("lie_dtype.npy", raw.replace(b"'<f4'", b"'<f8'")),
    "not npy": write_bytes("garbage.npy", b"this is not an array file at all\n" * 4),
    "complex dtype": save("complex.npy", good.astype(np.complex64)),
    "int8 dtype": save("int8.npy", good.astype(np.int8)),
    "fortran order": save("fortran.npy", np.asfortranarray(good)),
}
nan_pts = good.copy()
nan_pts[17, 2] = np.nan
bad_files["NaN data"] = save("nan.npy", nan_pts)
inf_pts = good.copy()
inf_pts[3, 0] = np.inf
bad_files["inf data"] = save("inf.npy", inf_pts)

for what, f in bad_files.items():
    expect_exit(f"entropy {what}", ["entropy", "--logits", f], 3, must_name=f)
    if have("vendi"):
        expect_exit(f"vendi {what}", ["vendi", "--x", f], 3, must_name=f)
    if have("knn-entropy"):
        expect_exit(f"knn-entropy {what}", ["knn-entropy", "--x", f, "--k", 3], 3, must_name=f)
    if have("matrix-entropy") and what in ("truncated", "fortran order", "NaN data"):
        expect_exit(f"matrix-entropy {what}", ["matrix-entropy", "--x", f], 3, must_name=f)
    if have("knn-mi") and what in ("lying shape", "inf data"):
        expect_exit(f"knn-mi {what}", ["knn-mi", "--x", f_good, "--y", f, "--k", 3], 3, must_name=f)
    if have("knn-divergence") and what in ("truncated", "NaN data"):
        expect_exit(f"knn-divergence {what}", ["knn-divergence", "--x", f_good, "--y", f, "--k", 3],
                    3, must_name=f)

if have("sinkhorn"):
    neg = sa.copy()
    neg[5] = -0.1
    f_neg = save("neg.npy", neg)
    expect_exit("sinkhorn negative weight", ["sinkhorn", "--a", f_neg, "--b", fb, "--cost", fC,
                                             "--epsilon", 1], 3, must_name=f_neg)
    expect_exit("sinkhorn NaN cost", ["sinkhorn", "--a", fa, "--b", fb, "--cost", bad_files["NaN data"],
                                      "--epsilon", 1], 3, must_name=bad_files["NaN data"])
    expect_exit("sinkhorn truncated cost", ["sinkhorn", "--a", fa, "--b", fb, "--cost",
                                            bad_files["truncated"], "--epsilon", 1], 3,
                must_name=bad_files["truncated"])
    expect_exit("sinkhorn shapes disagree", ["sinkhorn", "--a", fb, "--b", fa, "--cost", fC,
                                             "--epsilon", 1], 3)
    expect_exit("sinkhorn zero mass", ["sinkhorn", "--a", save("zero.npy", np.zeros(n)), "--b", fb,
                                       "--cost", fC, "--epsilon", 1], 3)
if have("vendi"):
    asym = Kr.copy()
    asym[0, 1] += 0.3
    f_asym = save("asym.npy", asym)
    expect_exit("vendi non-symmetric K", ["vendi", "--kernel-matrix", f_asym], 3, must_name=f_asym)
    f_rect = save("rect.npy", np.ones((4, 5)))
    expect_exit("vendi non-square K", ["vendi", "--kernel-matrix", f_rect], 3, must_name=f_rect)
    zero_row = xs.copy()
    zero_row[9] = 0
    f_zr = save("zero_row.npy", zero_row)
    expect_exit("vendi cosine zero row", ["vendi", "--x", f_zr], 3, must_name=f_zr)
if have("knn-entropy"):
    dup = np.vstack([good, good[:5]])
    f_dup = save("dup.npy", dup)
    expect_exit("knn-entropy duplicates", ["knn-entropy", "--x", f_dup, "--k", 1], 3, must_name=f_dup)
    j = run_json("knn-entropy duplicates jitter", ["knn-entropy", "--x", f_dup, "--k", 1,
                                                   "--jitter", "1e-6", "--seed", 7])
if have("knn-divergence"):
    f_d5 = save("d5.npy", RNG.standard_normal((50, 5)).astype(np.float32))
    expect_exit("knn-divergence dimensions differ", ["knn-divergence", "--x", f_good, "--y", f_d5,
                                                     "--k", 3], 3)
if have("knn-mi"):
    f_short = save("short.npy", good[:30])
    expect_exit("knn-mi unpaired", ["knn-mi", "--x", f_good, "--y", f_short, "--k", 3], 3)
expect_exit("nll label out of range", ["nll", "--logits", f_logits,
                                       "--labels", save("badlab.npy", np.full(B, V, np.int64))],
            3, must_name="badlab.npy")
expect_exit("divergence shapes differ", ["divergence", "--kind", "kl", "--p", f_logits,
                                         "--q", save("qshort.npy", q_logits[:5])], 3)

# ---- A failed --out run leaves no file --------------------------------------------------------


def no_output(name, args, out):
    before = set(os.listdir(TMP))
    rc, _, err = run(args + ["--out", out])
    check(name + " fails", rc != 0, f"exit {rc}")
    check(name + " leaves no file", not os.path.exists(out), f"{out} exists after a failed run")
    left = set(os.listdir(TMP)) - before
    check(name + " leaves no temporary", not left, f"left behind: {sorted(left)}")


# the result cannot reach standard output (a full disk): exit 1, and the --out
# file, written before the report, does not stay
if os.path.exists("/dev/full"):
    for cmd_args in (["entropy", "--logits", f_logits], ["log-softmax", "--logits", f_logits]):
        o = path(f"full_{cmd_args[0]}.npy")
        with open("/dev/full", "w") as full:
            p = subprocess.run([EXE] + [str(a) for a in cmd_args] + ["--out", o, "--no-progress"],
                               stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
        check(f"{cmd_args[0]} stdout full exit", p.returncode == 1, f"exit {p.returncode}: {p.stderr.strip()}")
        check(f"{cmd_args[0]} stdout full message", "standard output" in p.stderr, p.stderr.strip())
        check(f"{cmd_args[0]} stdout full no file", not os.path.exists(o), f"{o} exists")

# a bad row in the last chunk of a streamed run (1 MiB budget: many chunks)
big = RNG.standard_normal((2000, 1000)).astype(np.float32)
big[-1, 10] = np.nan
f_big = save("big_nan.npy", big)
no_output("entropy streamed bad last row", ["entropy", "--logits", f_big, "--memory-budget", "1"],
          path("out_entropy.npy"))
rc, err = expect_exit("entropy streamed bad last row status",
                      ["entropy", "--logits", f_big, "--memory-budget", "1"], 3, must_name=f_big)
if rc == 3:
    check("entropy streamed row counted in the file", "row 1999" in err, err.strip())
no_output("log-softmax bad data", ["log-softmax", "--logits", bad_files["NaN data"]], path("out_lsm.npy"))
if have("vendi"):
    no_output("vendi bad data", ["vendi", "--kernel-matrix", path("asym.npy")], path("out_vendi.npy"))
if have("knn-entropy"):
    no_output("knn-entropy bad data", ["knn-entropy", "--x", path("dup.npy"), "--k", 1], path("out_knn.npy"))
if have("sinkhorn"):
    no_output("sinkhorn bad data", ["sinkhorn", "--a", path("neg.npy"), "--b", fb, "--cost", fC,
                                    "--epsilon", 1], path("out_sk.npy"))

# ---- --backend cuda where there is no CUDA: 4 --------------------------------------------------

rc, out, err = run(["entropy", "--logits", f_logits, "--backend", "cuda"])
if rc == 0:
    print("note: a CUDA device is available here; the exit-status-4 check is skipped")
else:
    check("entropy --backend cuda unavailable", rc == 4, f"exit {rc}: {err.strip()}")
    # No GPU or no driver is said in those words, not as the runtime's
    # "driver version is insufficient".
    check("entropy --backend cuda unavailable message",
          ("NVIDIA" in err or "not compiled" in err) and "insufficient" not in err, f"stderr: {err.strip()}")
    for c, args in [("vendi", ["--x", f_xs]), ("matrix-entropy", ["--x", f_xs]),
                    ("knn-entropy", ["--x", f_kx, "--k", 3]),
                    ("knn-divergence", ["--x", f_kx, "--y", f_ky, "--k", 3]),
                    ("knn-mi", ["--x", f_kx, "--y", f_kx, "--k", 3]),
                    ("sinkhorn", ["--a", path("sa.npy"), "--b", path("sb.npy"),
                                  "--cost", path("C.npy"), "--epsilon", 1]),
                    ("demo", [])]:
        if have(c):
            expect_exit(f"{c} --backend cuda unavailable", [c] + args + ["--backend", "cuda"], 4)

# ---- Messages ------------------------------------------------------------------------------------

# A file that cannot be opened is an I/O failure (1, README), not bad data (3).
f_missing = path("does_not_exist.npy")
expect_exit("entropy missing file", ["entropy", "--logits", f_missing], 1, must_name=f_missing)
expect_exit("divergence missing file", ["divergence", "--kind", "kl", "--p", f_logits, "--q", f_missing],
            1, must_name=f_missing)
for c, args in [("vendi", ["--x", f_missing]), ("knn-entropy", ["--x", f_missing, "--k", 3]),
                ("sinkhorn", ["--a", f_missing, "--b", f_missing, "--cost", f_missing, "--epsilon", 1])]:
    if have(c):
        expect_exit(f"{c} missing file", [c] + args, 1, must_name=f_missing)

# A bad value in [batch, seq, V] logits: the index in that shape, not the flattened row.
bsv = RNG.standard_normal((4, 300, 17)).astype(np.float32)
bsv[2, 100, 5] = np.nan
f_bsv = save("bsv_nan.npy", bsv)
rc, err = expect_exit("entropy [batch, seq, V] NaN", ["entropy", "--logits", f_bsv], 3, must_name=f_bsv)
check("entropy [batch, seq, V] NaN index", "row [2, 100]" in err and "row 700" not in err and "column 5" in err,
      f"stderr: {err.strip()}")
bsl = RNG.integers(0, 17, (4, 300)).astype(np.int64)
bsl[1, 7] = 40
rc, err = expect_exit("nll [batch, seq] bad label",
                      ["nll", "--logits", save("bsv.npy", bsv[:, :, :] * 0), "--labels", save("bsl.npy", bsl)], 3)
check("nll [batch, seq] bad label index", "row [1, 7]" in err and "label 40" in err, f"stderr: {err.strip()}")

# Labels of -100 without --ignore-index: the error suggests it.
rc, err = expect_exit("nll -100 without --ignore-index", ["nll", "--logits", f_logits, "--labels", f_labels], 3,
                      must_name=f_labels)
check("nll -100 hint", "--ignore-index -100" in err, f"stderr: {err.strip()}")

# ---- Ctrl-C and SIGTERM: every long-running command stops, exits 1, writes nothing ------------------

long_runs = {}
if have("sinkhorn"):
    px = RNG.random((2000, 2)).astype(np.float32)
    py = RNG.random((2000, 2)).astype(np.float32)
    long_runs["sinkhorn"] = ["--a", save("lr_a.npy", np.full(2000, 1.0, np.float32)),
                             "--b", save("lr_b.npy", np.full(2000, 1.0, np.float32)),
                             "--x", save("lr_x.npy", px), "--y", save("lr_y.npy", py),
                             "--epsilon", 1e-4, "--max-iter", 10000000]
if have("vendi"):  # 400 sets of 300 points: a 300 x 300 eigenproblem a set (rbf: no dual path)
    long_runs["vendi"] = ["--x", save("lr_sets.npy", RNG.standard_normal((400, 300, 8)).astype(np.float32)),
                          "--kernel", "rbf", "--sigma", 2]
if have("matrix-entropy"):  # one 3500 x 3500 eigenproblem (cancelled after it at the latest; 2500 could end within 1 s)
    long_runs["matrix-entropy"] = ["--x", save("lr_me.npy", RNG.standard_normal((3500, 64)).astype(np.float32)),
                                   "--kernel", "rbf", "--sigma", 4]
f_lk = save("lr_k.npy", RNG.standard_normal((100000, 12)).astype(np.float32))
f_lk2 = save("lr_k2.npy", RNG.standard_normal((100000, 12)).astype(np.float32))
if have("knn-entropy"):
    long_runs["knn-entropy"] = ["--x", f_lk, "--k", 3]
if have("knn-divergence"):
    long_runs["knn-divergence"] = ["--x", f_lk, "--y", f_lk2, "--k", 3]
if have("knn-mi"):
    long_runs["knn-mi"] = ["--x", save("lr_mi_x.npy", RNG.standard_normal((60000, 6)).astype(np.float32)),
                           "--y", save("lr_mi_y.npy", RNG.standard_normal((60000, 6)).astype(np.float32)),
                           "--k", 3]

for c, args in long_runs.items():
    for sig in (signal.SIGINT, signal.SIGTERM):
        name = f"{c} {sig.name}"
        out = path(f"lr_out_{c}.npy")
        before = set(os.listdir(TMP))
        p = subprocess.Popen([EXE, c] + [str(a) for a in args] + ["--backend", "cpu", "--out", out,
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        if not check(name + " still running after 1 s", p.poll() is None,
                     f"exit {p.returncode} before the signal: make the input larger"):
            p.communicate()
            continue
        # Send the signal once the command has its handler (on a loaded machine the
        # start-up alone can take a second): SigCgt of /proc/PID/status.
        def catches(pid, signum):
            try:
                with open(f"/proc/{pid}/status") as st:
                    for line in st:
                        if line.startswith("SigCgt:"):
                            return (int(line.split()[1], 16) >> (signum - 1)) & 1
            except OSError:
                return 1  # no /proc: do not wait
            return 1
        t_wait = time.monotonic()
        while not catches(p.pid, sig) and p.poll() is None and time.monotonic() - t_wait < 20:
            time.sleep(0.05)
        p.send_signal(sig)
        t0 = time.monotonic()
        try:
            sout, serr = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            sout, serr = p.communicate()
            fail(name, "still running 60 s after the signal")
            continue
        took = time.monotonic() - t0
        check(name + " exit 1", p.returncode == 1, f"exit {p.returncode}; stderr: {serr.strip()}")
        check(name + " says interrupted", "interrupted" in serr, f"stderr: {serr.strip()}")
        check(name + " stdout empty", sout.strip() == "", f"stdout: {sout!r}")
        check(name + " no output file", not os.path.exists(out), f"{out} exists")
        left = set(os.listdir(TMP)) - before
        check(name + " leaves no temporary", not left, f"left behind: {sorted(left)}")
        # matrix-entropy's one eigenproblem cannot be interrupted inside LAPACK: it stops
        # after it at the latest (a few seconds on an idle 2-core machine, several times
        # that under load).
        limit = 45 if c == "matrix-entropy" else 10
        check(name + " stops promptly", took < limit, f"{took:.1f} s after the signal (limit {limit} s)")
        print(f"note: {name}: stopped {took:.2f} s after the signal", flush=True)

# ---- Done ---------------------------------------------------------------------------------------

shutil.rmtree(TMP, ignore_errors=True)
if failures:
    print(f"\n{len(failures)} of {n_checks} checks FAILED:")
    for f in failures:
        print("  " + f)
    sys.exit(1)
print(f"all {n_checks} checks passed")
