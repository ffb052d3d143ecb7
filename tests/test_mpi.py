#!/usr/bin/env python3
"""`infoest` under MPI (docs/SPEC.md section 11): 1, 2 and 3 ranks give the same
JSON and the same --out file, byte for byte, as one plain process; a bad row
on the last rank fails every rank with the data status and leaves no file;
the sample-based commands refuse to be split.

usage: test_mpi.py INFOEST MPIEXEC
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

EXE, MPIEXEC = sys.argv[1], sys.argv[2]
BLOCK = 4096  # IE_PARTIAL_BLOCK_ROWS
FLAGS = ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
failures = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(args, ranks, cwd):
    """ranks 0: a plain process; else mpirun -n ranks."""
    cmd = [EXE] + args if ranks == 0 else [MPIEXEC] + FLAGS + ["-n", str(ranks), EXE] + args
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def make_data(d):
    rng = np.random.default_rng(2024)
    n, V = 2 * BLOCK + 1234, 96  # not a whole number of blocks
    zipf = -1.1 * np.log(np.arange(1, V + 1))
    teacher = zipf + rng.normal(0, 1.0, (n, V))
    teacher[::7, 3] += 25.0  # confident rows
    student = teacher + rng.normal(0, 0.3, (n, V))  # a student near its teacher
    probs = np.exp(teacher - teacher.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    labels = rng.integers(0, V, n)
    labels[::11] = -100
    np.save(os.path.join(d, "t.npy"), teacher.astype(np.float32))
    np.save(os.path.join(d, "s.npy"), student.astype(np.float32))
    np.save(os.path.join(d, "p.npy"), probs.astype(np.float64))
    np.save(os.path.join(d, "y.npy"), labels.astype(np.int64))
    return teacher.astype(np.float32).astype(np.float64), n


def main():
    with tempfile.TemporaryDirectory() as top:
        data = os.path.join(top, "data")
        os.mkdir(data)
        teacher, n = make_data(data)
        D = lambda f: os.path.join(data, f)
        budget = ["--memory-budget", "1"]  # chunks of about 1300 rows: several a rank
        cases = {
            "entropy": ["entropy", "--logits", D("t.npy")] + budget,
            "entropy-renyi-probs": ["entropy", "--probs", D("p.npy"), "--kind", "renyi", "--alpha", "2"] + budget,
            "nll": ["nll", "--logits", D("s.npy"), "--labels", D("y.npy"), "--ignore-index", "-100"] + budget,
            "kl": ["divergence", "--kind", "kl", "--p", D("t.npy"), "--q", D("s.npy")] + budget,
            "js": ["divergence", "--kind", "js", "--p", D("t.npy"), "--q", D("s.npy"), "--out-dtype", "f32"] + budget,
            "hellinger": ["divergence", "--kind", "hellinger", "--p", D("t.npy"), "--q", D("s.npy")] + budget,
            "renyi": ["divergence", "--kind", "renyi", "--alpha", "0.5", "--p", D("t.npy"), "--q", D("s.npy")] + budget,
            "log-softmax": ["log-softmax", "--logits", D("s.npy")] + budget,
        }
        for name, args in cases.items():
            outs = {}
            for ranks in (0, 1, 2, 3):
                d = os.path.join(top, f"{name}-{ranks}")
                os.mkdir(d)
                r = run(args + ["--out", "o.npy"], ranks, d)
                check(r.returncode == 0, f"{name} on {ranks} ranks: exit {r.returncode}: {r.stderr[-800:]}")
                if r.returncode != 0:
                    continue
                with open(os.path.join(d, "o.npy"), "rb") as f:
                    outs[ranks] = (r.stdout, f.read())
                check(os.listdir(d) == ["o.npy"], f"{name} on {ranks} ranks left {os.listdir(d)}")
            for ranks in (1, 2, 3):
                if ranks in outs and 0 in outs:
                    check(outs[ranks][0] == outs[0][0],
                          f"{name}: JSON on {ranks} ranks differs:\n  {outs[ranks][0]!r}\n  {outs[0][0]!r}")
                    check(outs[ranks][1] == outs[0][1], f"{name}: --out on {ranks} ranks differs")
            if name == "entropy" and 0 in outs:
                # against float64 NumPy (the values themselves: one family)
                lp = teacher - teacher.max(1, keepdims=True)
                lp -= np.log(np.exp(lp).sum(1, keepdims=True))
                h = -(np.exp(lp) * lp).sum(1)
                got = json.loads(outs[0][0])
                check(got["rows"] == n, "entropy rows")
                check(abs(got["mean"] - h.mean()) <= 1e-5 * abs(h.mean()),
                      f"entropy mean {got['mean']} vs NumPy {h.mean()}")
                per = np.load(os.path.join(top, "entropy-3", "o.npy"))
                check(np.allclose(per, h, rtol=1e-5, atol=1e-6), "entropy per-row values on 3 ranks")

        # A NaN in a row of the last rank: every rank fails with 3, one message, no file.
        bad = np.load(D("t.npy"))
        row = n - 5
        bad[row, 17] = np.nan
        np.save(D("bad.npy"), bad)
        for args, what in (
            (["entropy", "--logits", D("bad.npy")] + budget, "column 17 is NaN"),
            (["divergence", "--kind", "kl", "--p", D("s.npy"), "--q", D("bad.npy")] + budget, "column 17 is NaN"),
        ):
            d = os.path.join(top, f"bad-{args[0]}")
            os.mkdir(d)
            r = run(args + ["--out", "o.npy"], 3, d)
            check(r.returncode == 3, f"bad row on rank 2: exit {r.returncode}, want 3: {r.stderr[-600:]}")
            check(r.stderr.count("bad input data") == 1 and f"row {row}" in r.stderr and what in r.stderr,
                  f"bad row message (once, naming row {row}): {r.stderr[-800:]}")
            check("MPI rank 2 of 3" in r.stderr, f"the failing rank is named: {r.stderr[-400:]}")
            check(os.listdir(d) == [], f"a failed run left {os.listdir(d)}")
            check(r.stdout == "", f"a failed run printed a result: {r.stdout!r}")

        # A missing input on every rank: the I/O status, once.
        d = os.path.join(top, "missing")
        os.mkdir(d)
        r = run(["entropy", "--logits", D("nope.npy"), "--out", "o.npy"], 2, d)
        check(r.returncode == 1 and r.stderr.count("nope.npy") == 1,
              f"missing file: exit {r.returncode}, {r.stderr[-400:]}")
        check(os.listdir(d) == [], f"missing file left {os.listdir(d)}")

        # The sample-based commands say that they cannot be split.
        np.save(D("x.npy"), np.random.default_rng(1).normal(size=(200, 3)))
        for args in (["knn-entropy", "--x", D("x.npy"), "--k", "3"],
                     ["vendi", "--x", D("x.npy")]):
            r = run(args, 2, top)
            check(r.returncode == 2 and "needs all its samples at once" in r.stderr
                  and r.stderr.count("needs all") == 1,
                  f"{args[0]} on 2 ranks: exit {r.returncode}: {r.stderr[-400:]}")
            r = run(args, 1, top)
            check(r.returncode == 0, f"{args[0]} on 1 rank: exit {r.returncode}: {r.stderr[-400:]}")

    print(f"test_mpi: {checks} checks, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
