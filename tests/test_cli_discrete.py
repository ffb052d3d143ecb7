#!/usr/bin/env python3
"""`infoest pmi`, `table-mi`, `pid` end to end (docs/SPEC.md §9): the JSON
and --out against the stored references of tests/gen_discrete.py
(scikit-learn, dit, float64 NumPy), counting from label files in small
chunks (--memory-budget), --base 2, and bad input (exit 3 naming the file and
the entry) or bad usage (exit 2).  Needs only NumPy.

Usage: test_cli_discrete.py PATH/TO/infoest
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

EXE = sys.argv[1]
VEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")
TMP = tempfile.mkdtemp(prefix="ie_disc_")
failures = []
passed = 0


def run(*args):
    p = subprocess.run([EXE] + [str(a) for a in args], capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def ok_json(*args):
    rc, out, err = run(*args)
    check(rc == 0, "%s: exit %d: %s" % (" ".join(map(str, args)), rc, err.strip()))
    return json.loads(out) if rc == 0 else {}


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(b))


def v(name):
    return os.path.join(VEC, "disc_%s.npy" % name)


def manifest():
    rows = []
    with open(os.path.join(VEC, "disc_manifest.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rows.append(line.split())
    return rows


def backends():
    out = ["cpu"]
    for b in ("opencl", "cuda"):
        rc, _, _ = run("table-mi", "--counts", v("batch_c"), "--backend", b)
        if rc == 0:
            out.append(b)
    return out


def streamed_counts():
    """The reader thread hands chunks over while the previous one is counted:
    every split of the file into chunks (one row, an odd size whose last chunk
    is short, the whole file in one, the budget's, and the class counts found
    by the first pass) must give the counts of np.add.at on the same labels,
    seen through the PMI map (a count off by one moves a cell by more than
    the tolerance)."""
    rng = np.random.default_rng(22)
    n, k, E = 20011, 8, 64
    tok = ((rng.zipf(1.1, n) - 1) % 3000).astype(np.int64)  # Zipf-like tokens
    exp = rng.integers(0, E, (n, k)).astype(np.int32)
    exp[:, 0] = (tok * 2654435761 % E).astype(np.int32)  # top-1 expert tied to the token
    exp[n // 2:n // 2 + 500, :] = 7  # a run of one expert (ties)
    X = int(tok.max()) + 1
    C = np.zeros((X, E), np.int64)
    np.add.at(C, (np.repeat(tok, k), exp.ravel()), 1)
    Cf = C.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # tokens never seen: 0/0
        ref = np.log(Cf * Cf.sum() / np.outer(Cf.sum(1), Cf.sum(0)))
    fin = np.isfinite(ref)
    x, y, out = os.path.join(TMP, "sx.npy"), os.path.join(TMP, "sy.npy"), os.path.join(TMP, "spmi.npy")
    np.save(x, tok)
    np.save(y, exp)
    for extra in (["--chunk-rows", 1], ["--chunk-rows", 4093], ["--chunk-rows", n], ["--chunk-rows", 10 * n],
                  ["--memory-budget", 1], ["--x-classes", X, "--y-classes", E, "--chunk-rows", 997]):
        if os.path.exists(out):
            os.remove(out)
        j = ok_json("pmi", "--x", x, "--y", y, "--kind", "pmi", "--out", out, *extra)
        if not j:
            continue
        got = np.load(out)
        check(j["n"] == n * k and got.shape == ref.shape and np.array_equal(np.isfinite(got), fin)
              and np.allclose(got[fin], ref[fin], rtol=1e-12, atol=1e-12),
              "streamed counts, %s: PMI map vs np.add.at (n %s, shape %s)" % (extra, j.get("n"), got.shape))
    # A bad label in the third chunk: named by its row in the file, in either pass.
    bad = exp.copy()
    bad[9001, 5] = E + 3
    np.save(y, bad)
    for extra in (["--chunk-rows", 4093, "--x-classes", X, "--y-classes", E], ["--chunk-rows", 4093, "--y-classes", E]):
        rc, o, err = run("pmi", "--x", x, "--y", y, "--out", out, *extra)
        check(rc == 3 and "sy.npy" in err and "row 9001, column 5: label %d is outside [0, %d)" % (E + 3, E) in err
              and err.count("row ") == 1 and o == "",
              "streamed counts, bad label at row 9001 (%s): exit %d, %r" % (extra, rc, err.strip()))
    neg = tok.copy()
    neg[12345] = -2
    np.save(x, neg)
    rc, o, err = run("pmi", "--x", x, "--y", y, "--chunk-rows", 4093, "--out", out)
    check(rc == 3 and "sx.npy" in err and "row 12345" in err and "negative" in err,
          "streamed counts, negative label at row 12345 (first pass): exit %d, %r" % (rc, err.strip()))


def main():
    m = manifest()
    for be in backends():
        tol = 1e-9 if be == "cpu" else 1e-5
        # Counting from label files, streamed in chunks far smaller than the files.
        for r in m:
            if r[0] == "count":
                x, y, X, Y, exp = r[2], r[3], int(r[4]), int(r[5]), np.load(os.path.join(VEC, r[6]))
                out = os.path.join(TMP, "npmi.npy")
                j = ok_json("pmi", "--x", os.path.join(VEC, x), "--y", os.path.join(VEC, y),
                            "--x-classes", X, "--y-classes", Y, "--chunk-rows", 777,
                            "--out", out, "--kind", "pmi", "--backend", be)
                if not j:
                    continue
                C = exp.astype(np.float64)
                n = C.sum()
                with np.errstate(divide="ignore"):
                    ref = np.log(C * n / np.outer(C.sum(1), C.sum(0)))
                got = np.load(out)
                check(j["n"] == n and j["rows"] == X and j["cols"] == Y, "%s: n/rows/cols %s" % (r[1], j))
                fin = np.isfinite(ref)
                check(np.array_equal(np.isfinite(got), fin) and np.allclose(got[fin], ref[fin], rtol=tol, atol=tol),
                      "%s/%s: PMI map from streamed counts" % (be, r[1]))
        # PMI of stored tables, nPMI limits, --base 2.
        for r in m:
            if r[0] != "pmi" or r[6] != "-":  # given marginals: the library test
                continue
            args = ["pmi", "--counts", os.path.join(VEC, r[2]), "--kind", r[3], "--min-count", r[4],
                    "--smooth", r[5], "--backend", be, "--out", os.path.join(TMP, "p.npy")]
            if r[2].endswith("given_marginals_c.npy"):
                continue
            j = ok_json(*args)
            if not j:
                continue
            ref = np.load(os.path.join(VEC, r[9]))
            got = np.load(os.path.join(TMP, "p.npy"))
            fin = np.isfinite(ref)
            check(np.array_equal(got[~fin], ref[~fin]) and np.allclose(got[fin], ref[fin], rtol=tol, atol=tol),
                  "%s/%s: map" % (be, r[1]))
            if r[3] == "npmi":
                check(close(j["max_npmi"], ref.max(), tol) and close(j["min_npmi"], ref.min(), tol),
                      "%s/%s: max/min_npmi %s" % (be, r[1], j))
        j = ok_json("pmi", "--counts", v("route_pmi_c"), "--kind", "pmi", "--base", 2, "--backend", be,
                    "--out", os.path.join(TMP, "b2.npy"))
        ref = np.load(v("route_pmi_expect")) / np.log(2)
        got = np.load(os.path.join(TMP, "b2.npy"))
        fin = np.isfinite(ref)
        check(np.allclose(got[fin], ref[fin], rtol=tol, atol=tol), "%s: --base 2 PMI map" % be)
        j = ok_json("pmi", "--counts", v("single_pair_c"), "--backend", be, "--out", os.path.join(TMP, "sp.npy"))
        check(j.get("max_npmi") == 1 and j.get("min_npmi") == -1, "%s: p(x,y) = 1 gives nPMI 1: %s" % (be, j))
        # table-mi against scikit-learn.
        for r in m:
            if r[0] != "tmi":
                continue
            exp = np.load(os.path.join(VEC, r[4]))
            out = os.path.join(TMP, "t.npy")
            j = ok_json("table-mi", "--counts", os.path.join(VEC, r[2]), "--average", r[3], "--out", out,
                        "--backend", be)
            if not j:
                continue
            got = np.load(out)
            check(got.shape == (exp.shape[0], 6) and np.allclose(got[:, :5], exp, rtol=tol, atol=tol),
                  "%s/%s: --out vs scikit-learn" % (be, r[1]))
            mean = exp.mean(0)
            check(all(close(j[k], mean[i], tol) for i, k in enumerate(("mi", "nmi", "ami", "hx", "hy"))),
                  "%s/%s: JSON vs scikit-learn %s" % (be, r[1], j))
        j = ok_json("table-mi", "--counts", v("skewed_arithmetic_c"), "--base", 2, "--backend", be)
        exp = np.load(v("skewed_arithmetic_expect"))[0]
        check(close(j["mi"], exp[0] / np.log(2), tol) and close(j["nmi"], exp[1], tol), "%s: table-mi --base 2" % be)
        # Counts near 1e15: E[I] is about (R-1)(C-1)/(2N) = 1.4e-16 (every margin large), so AMI
        # is NMI to 1e-15; MI and the entropies from float64 NumPy on the counts.
        s = 10 ** 15
        big = np.array([[3 * s, s, 5], [7, 2 * s, s]], dtype=np.int64)
        np.save(os.path.join(TMP, "big_counts.npy"), big)
        j = ok_json("table-mi", "--counts", os.path.join(TMP, "big_counts.npy"), "--backend", be)
        if j:
            pxy = big / big.sum()
            px, py = pxy.sum(1), pxy.sum(0)
            nz = pxy > 0
            mi = float((pxy[nz] * np.log(pxy[nz] / np.outer(px, py)[nz])).sum())
            hx, hy = float(-(px * np.log(px)).sum()), float(-(py * np.log(py)).sum())
            check(close(j["mi"], mi, 1e-9) and close(j["nmi"], mi / ((hx + hy) / 2), 1e-9)
                  and abs(j["emi"]) < 1e-12 and close(j["ami"], j["nmi"], 1e-12),
                  "%s: table-mi of counts near 1e15: %s (mi %.17g)" % (be, j, mi))
        # pid against dit.
        for r in m:
            if r[0] != "pid":
                continue
            exp = np.load(os.path.join(VEC, r[4]))
            out = os.path.join(TMP, "pid.npy")
            j = ok_json("pid", "--joint", os.path.join(VEC, r[2]), "--measure", r[3], "--out", out, "--backend", be)
            if not j:
                continue
            t = max(tol, 1e-7 if r[3] == "broja" else 0)
            got = np.load(out)
            check(got.shape == (exp.shape[0], 4) and np.allclose(got, exp[:, :4], rtol=t, atol=t),
                  "%s/%s: --out vs dit" % (be, r[1]))
            mean = exp.mean(0)
            keys = ("redundancy", "unique1", "unique2", "synergy", "mi1", "mi2", "mi12")
            check(all(close(j[k], mean[i], t) for i, k in enumerate(keys)), "%s/%s: JSON vs dit %s" % (be, r[1], j))
        for r in m:
            if r[0] != "gauss":
                continue
            exp = np.load(os.path.join(VEC, r[7]))
            args = ["pid", "--covariance", os.path.join(VEC, r[2]), "--sizes", "%s,%s,%s" % (r[3], r[4], r[5]),
                    "--backend", be]
            if r[6] != "0":
                args += ["--samples", r[6]]
            j = ok_json(*args)
            keys = ("redundancy", "unique1", "unique2", "synergy", "mi1", "mi2", "mi12")
            check(j and all(close(j[k], exp[i], max(tol, 2e-5 if be != "cpu" else 0)) for i, k in enumerate(keys)),
                  "%s/%s: Gaussian %s" % (be, r[1], j))

    # Bad input: exit 3 naming the file and the entry; bad usage: exit 2.
    np.save(os.path.join(TMP, "x.npy"), np.array([0, 1, 2, 1, 0], np.int64))
    np.save(os.path.join(TMP, "y.npy"), np.array([[0, 1], [1, 0], [1, 1], [0, 3], [1, 1]], np.int32))
    np.save(os.path.join(TMP, "y_short.npy"), np.array([0, 1, 1], np.int32))
    np.save(os.path.join(TMP, "neg.npy"), np.array([[1.0, 2.0], [-1.0, 3.0]]))
    np.save(os.path.join(TMP, "negj.npy"), np.array([[[.1, .2], [.3, -.1]], [[.1, .1], [.1, .2]]]))
    np.save(os.path.join(TMP, "zeroj.npy"), np.zeros((2, 2, 2)))
    np.save(os.path.join(TMP, "nanj.npy"), np.array([np.full((2, 2, 2), .125), [[[.1, .1], [np.nan, .2]], [[.1, .1], [.1, .2]]]]))
    np.save(os.path.join(TMP, "negx.npy"), np.array([0, 1, -4, 1, 0], np.int64))
    x, y = os.path.join(TMP, "x.npy"), os.path.join(TMP, "y.npy")
    po = os.path.join(TMP, "po.npy")
    cases = [
        (("pmi", "--x", x, "--y", y, "--x-classes", 3, "--y-classes", 2, "--chunk-rows", 2, "--out", po), 3,
         ["y.npy", "row 3, column 1", "outside [0, 2)"]),
        (("pmi", "--x", os.path.join(TMP, "negx.npy"), "--y", y, "--out", po), 3, ["negx.npy", "row 2", "negative"]),
        (("table-mi", "--x", x, "--y", os.path.join(TMP, "y_short.npy")), 3, ["y_short.npy", "pair"]),
        (("table-mi", "--counts", os.path.join(TMP, "neg.npy")), 3, ["neg.npy", "row 1, column 0", "negative"]),
        (("pid", "--joint", os.path.join(TMP, "negj.npy"), "--measure", "broja"), 3,
         ["negj.npy", "negative", "[0, 1, 1]", "-0.1"]),
        (("pid", "--joint", os.path.join(TMP, "nanj.npy")), 3, ["nanj.npy", "joint 1", "NaN or inf", "[0, 1, 0]"]),
        (("pid", "--joint", os.path.join(TMP, "zeroj.npy")), 3, ["zeroj.npy", "no mass"]),
        (("pid", "--joint", os.path.join(TMP, "neg.npy")), 3, ["neg.npy", "dimensions"]),
        (("pid", "--covariance", v("g111_n0_cov"), "--sizes", "1,1,2"), 3, ["g111_n0_cov.npy"]),
        (("pid", "--covariance", v("g111_n0_cov")), 2, ["--sizes"]),
        (("pmi", "--counts", v("route_pmi_c"), "--x", x), 2, ["not both"]),
        (("pmi", "--counts", v("route_pmi_c"), "--kind", "zpmi"), 2, ["--kind"]),
        # docs/SPEC.md section 9: `--out F.npy` is part of pmi's usage, not optional
        (("pmi", "--counts", v("route_pmi_c")), 2, ["--out", "--help"]),
        (("pmi", "--x", x, "--y", y, "--x-classes", 3, "--y-classes", 4), 2, ["--out", "--help"]),
        (("table-mi", "--counts", v("batch_c"), "--average", "median"), 2, ["--average"]),
        (("pid", "--joint", v("classic_imin_j"), "--measure", "ccs"), 2, ["--measure"]),
        (("pid", "--joint", os.path.join(TMP, "missing.npy")), 1, ["missing.npy"]),
    ]
    for args, code, words in cases:
        rc, out, err = run(*args)
        if code == 2:  # README: bad usage points to --help
            words = list(words) + ["--help"]
        check(rc == code and all(w in err for w in words) and out == "",
              "%s: exit %d (want %d), stderr %r" % (" ".join(map(str, args)), rc, code, err.strip()))
    streamed_counts()
    # --help lists the commands.
    rc, out, err = run("--help")
    check(all(c in out for c in ("pmi", "table-mi", "pid")), "--help lists pmi, table-mi, pid")
    print("%d passed, %d failed" % (passed, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
