#!/usr/bin/env python3
"""End-to-end test of `infoest mauve` (docs/SPEC.md §8).

    python3 tests/test_cli_mauve.py build/cli/infoest

The frontier of given histograms against a float64 NumPy transcription of
docs/SPEC.md §8 (written here, independently of the C code; the library's
own suite checks the same against mauve-text); features: the JSON keys, P
against itself, several --q sets, --seeds, --curve and --out; then the exit
statuses: 3 for bad data naming the file (and the row), 2 for bad usage.
Exits 0 when every check passed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

if len(sys.argv) != 2:
    sys.exit("usage: test_cli_mauve.py PATH/TO/infoest")
EXE = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="infoest_cli_mauve_")
RNG = np.random.default_rng(20261202)
n_checks = 0
failures = []


def check(name, cond, msg=""):
    global n_checks
    n_checks += 1
    if not cond:
        failures.append(f"{name}: {msg or 'check failed'}")
        print(f"FAIL {name}: {msg or 'check failed'}", flush=True)
    return cond


def save(name, arr):
    p = os.path.join(TMP, name)
    np.save(p, arr)
    return p


def run(args):
    r = subprocess.run([EXE, "mauve"] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600, text=True)
    return r.returncode, r.stdout, r.stderr


def run_json(name, args):
    rc, out, err = run(args)
    if not check(name, rc == 0, f"exit {rc}, stderr: {err.strip()}"):
        return None
    lines = out.strip().splitlines()
    if not check(name, len(lines) == 1, f"stdout has {len(lines)} lines"):
        return None
    return json.loads(lines[0])


def expect_exit(name, args, code, must_name=()):
    rc, out, err = run(args)
    check(name, rc == code, f"exit {rc}, wanted {code}; stderr: {err.strip()}")
    check(name, out == "", f"stdout not empty: {out!r}")
    for s in must_name:
        check(name, s in err, f"stderr does not name {s!r}: {err.strip()}")


def text_keys(txt):
    """The keys of --format text output: the first word of each line."""
    return [ln.split()[0] for ln in txt.strip().splitlines() if ln.strip()]


# ---- the reference: docs/SPEC.md §8, steps 5–6, in float64 NumPy ------------------

def kl(a, b):
    m = a > 0
    if np.any(m & (b == 0)):
        return np.inf
    return float(np.sum(a[m] * np.log(a[m] / b[m])))


def frontier(pc, qc, grid=25, c=5.0):
    p, q = pc / pc.sum(), qc / qc.sum()
    pts = [(1.0, 0.0)]
    for lam in np.linspace(1e-6, 1 - 1e-6, grid):
        r = lam * p + (1 - lam) * q
        pts.append((np.exp(-c * kl(q, r)), np.exp(-c * kl(p, r))))
    pts.append((0.0, 1.0))
    pts = np.array(pts)
    x, y = pts[:, 0], pts[:, 1]
    i1 = np.lexsort((-y, x))  # x ascending, ties y descending (the curve's order)
    i2 = np.lexsort((-x, y))
    trap = getattr(np, "trapezoid", None) or np.trapz
    area = 0.5 * (trap(y[i1], x[i1]) + trap(x[i2], y[i2]))
    return area, pts


def fi(pc, qc):
    p, q = pc / pc.sum(), qc / qc.sum()
    t = 0.0
    for a, b in zip(p, q):
        if a == 0 and b == 0:
            continue
        if a == 0 or b == 0:
            t += (a + b) / 4
        elif abs(a - b) > 1e-8:
            t += (a + b) / 4 - 0.5 * a * b * (np.log(a) - np.log(b)) / (a - b)
    return 2 * t


def hist_checks():
    pc = RNG.integers(0, 30, 40).astype(np.int64)
    qc = RNG.integers(0, 30, 40).astype(np.int64)
    pc[3] = qc[3] = 0
    pc[5] = 0
    fp, fq = save("hp.npy", pc), save("hq.npy", qc.astype(np.float32))
    curve = os.path.join(TMP, "curve.npy")
    j = run_json("hist", ["--p-hist", fp, "--q-hist", fq, "--curve", curve])
    if j:
        m, pts = frontier(pc.astype(float), qc.astype(float))
        ms, _ = frontier(pc + 0.5, qc + 0.5)
        for key, ref in [("mauve", m), ("frontier_integral", fi(pc, qc)), ("mauve_star", ms),
                         ("frontier_integral_star", fi(pc + 0.5, qc + 0.5))]:
            check("hist " + key, abs(j[key] - ref) <= 1e-12, f"{j[key]!r} vs {ref!r}")
        check("hist clusters", j["clusters"] == 40)
        got = np.load(curve)
        check("hist curve", got.shape == (27, 2) and np.allclose(got, pts, rtol=0, atol=1e-12),
              f"shape {got.shape}")
    j = run_json("hist grid", ["--p-hist", fp, "--q-hist", fq, "--grid", 7, "--scaling", 2])
    if j:
        m, _ = frontier(pc.astype(float), qc.astype(float), 7, 2.0)
        check("hist grid mauve", abs(j["mauve"] - m) <= 1e-12, f"{j['mauve']!r} vs {m!r}")
    # README: every command adds "backend" and "device"; --format text prints the same keys.
    out = os.path.join(TMP, "hm.npy")
    j = run_json("hist keys", ["--p-hist", fp, "--q-hist", fq, "--curve", curve, "--out", out])
    if j:
        for key in ("backend", "device", "curve", "out"):
            check("hist keys", key in j, f"no {key!r} in {j}")
        rc, txt, err = run(["--p-hist", fp, "--q-hist", fq, "--curve", curve, "--out", out, "--format", "text"])
        check("hist text keys", rc == 0 and text_keys(txt) == list(j), f"text {text_keys(txt)} vs JSON {list(j)}")
    j = run_json("hist identical", ["--p-hist", fp, "--q-hist", fp])
    if j:
        check("hist identical", j["mauve"] == 1 and j["frontier_integral"] == 0, str(j))
    neg = pc.astype(np.float64)
    neg[1] = -1
    expect_exit("hist negative", ["--p-hist", save("hneg.npy", neg), "--q-hist", fq], 3,
                ["hneg.npy", "p_counts[1]"])
    expect_exit("hist bins", ["--p-hist", fp, "--q-hist", save("h3.npy", np.array([1, 2, 3]))], 3, ["h3.npy"])
    expect_exit("hist 2-D", ["--p-hist", save("h2d.npy", np.ones((2, 2))), "--q-hist", fq], 3, ["h2d.npy"])
    expect_exit("hist with seeds", ["--p-hist", fp, "--q-hist", fq, "--seeds", 3], 2, ["--seeds"])


def feature_checks():
    d = 48
    centers = RNG.normal(size=(8, d))
    p = (centers[np.arange(240) % 8] + 0.2 * RNG.normal(size=(240, d))).astype(np.float32)
    q = (centers[np.arange(200) % 5] + 0.2 * RNG.normal(size=(200, d))).astype(np.float32)
    fp, fq = save("p.npy", p), save("q.npy", q)
    m, _ = frontier(np.full(8, 30.0), np.array([40.0] * 5 + [0.0] * 3))
    j = run_json("features", ["--p", fp, "--q", fq, "--clusters", 8, "--seed", 4])
    if j:
        for key in ["mauve", "frontier_integral", "mauve_star", "frontier_integral_star", "clusters", "pca_dims",
                    "n_p", "n_q", "backend"]:
            check("features keys", key in j, f"no {key}")
        check("features n", j["n_p"] == 240 and j["n_q"] == 200 and j["clusters"] == 8, str(j))
        # the clusters are recovered: the histograms are the mixture's own
        check("features mauve", abs(j["mauve"] - m) <= 1e-9, f"{j['mauve']!r} vs true clusters' {m!r}")
    j2 = run_json("features again", ["--p", fp, "--q", fq, "--clusters", 8, "--seed", 4])
    if j and j2:
        check("same seed, same bits", j == j2)
    j = run_json("self", ["--p", fp, "--q", fp])
    if j:
        check("self", j["mauve"] == 1 and j["frontier_integral"] == 0, str(j))
        check("self default k", j["clusters"] == 24, str(j["clusters"]))
    out, curve = os.path.join(TMP, "m.npy"), os.path.join(TMP, "c3.npy")
    j = run_json("several q", ["--p", fp, "--q", fq, "--q", fp, "--seeds", 3, "--out", out, "--curve", curve])
    if j:
        check("several q arrays", isinstance(j["mauve"], list) and len(j["mauve"]) == 2 and j["n_q"] == [200, 240],
              str(j))
        check("several q self", j["mauve"][1] == 1 and j["mauve_std"][1] == 0, str(j))
        check("seeds std", "mauve_std" in j and j["seeds"] == 3)
        o = np.load(out)
        check("--out", o.shape == (2,) and np.array_equal(o, np.array(j["mauve"])), str(o))
        c = np.load(curve)
        check("--curve", c.shape == (2, 27, 2) and np.all(c[1, 1:-1] == 1.0) and
              np.array_equal(c[1, [0, -1]], [[1, 0], [0, 1]]), str(c))
    f64 = save("p64.npy", p.astype(np.float64))
    j = run_json("float64", ["--p", f64, "--q", fq, "--clusters", 8, "--seed", 4])
    if j:
        check("float64 mauve", abs(j["mauve"] - m) <= 1e-9, f"{j['mauve']!r}")
    rc, txt, err = run(["--p", fp, "--q", fq, "--format", "text"])
    check("text", rc == 0 and txt.startswith("mauve") and "pca_dims" in txt, txt + err)
    # --format text prints the same keys as the JSON (README, --help), in its order.
    for extra in ([], ["--seeds", 2, "--out", os.path.join(TMP, "mt.npy"), "--curve", os.path.join(TMP, "ct.npy")],
                  ["--q", fp]):
        args = ["--p", fp, "--q", fq, "--clusters", 8] + extra
        j = run_json("text keys json %s" % extra, args)
        rc, txt, err = run(args + ["--format", "text"])
        if j:
            check("text keys %s" % extra, rc == 0 and text_keys(txt) == list(j),
                  f"text {text_keys(txt)} vs JSON {list(j)}")
            for key in ("d", "seed", "seeds", "inertia", "iterations", "device"):
                check("text keys %s" % extra, key in text_keys(txt), f"no {key!r} in the text: {txt}")
    # bad data: exit 3 naming the file (and the row)
    bad = q.copy()
    bad[17, 3] = np.nan
    expect_exit("nan", ["--p", fp, "--q", save("qnan.npy", bad)], 3, ["qnan.npy", "row 17"])
    bad[17, 3] = np.inf
    expect_exit("inf", ["--p", save("pinf.npy", bad), "--q", fq], 3, ["pinf.npy", "row 17"])
    expect_exit("width", ["--p", fp, "--q", save("qw.npy", q[:, :40])], 3, ["qw.npy", "40"])
    expect_exit("one row", ["--p", fp, "--q", save("q1.npy", q[:1])], 3, ["q1.npy", "1 row"])
    expect_exit("clusters", ["--p", fp, "--q", fq, "--clusters", 441], 3, ["441 clusters", "440 rows"])
    expect_exit("1-D", ["--p", fp, "--q", save("q1d.npy", q[0])], 3, ["q1d.npy"])
    # bad usage: exit 2
    expect_exit("no q", ["--p", fp], 2)
    expect_exit("both modes", ["--p", fp, "--q", fq, "--p-hist", fp], 2)
    expect_exit("seeds 0", ["--p", fp, "--q", fq, "--seeds", 0], 2, ["--seeds"])
    expect_exit("ev", ["--p", fp, "--q", fq, "--explained-variance", 1.5], 2, ["--explained-variance"])
    expect_exit("clusters 1", ["--p", fp, "--q", fq, "--clusters", 1], 2, ["--clusters"])
    expect_exit("no file", ["--p", os.path.join(TMP, "none.npy"), "--q", fq], 1, ["none.npy"])


try:
    hist_checks()
    feature_checks()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
print(f"{n_checks} checks, {len(failures)} failures")
sys.exit(1 if failures else 0)
