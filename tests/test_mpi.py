#!/usr/bin/env python3
"""`infoest` under MPI (docs/SPEC.md section 11): 1, 2 and 3 ranks give the same
JSON and the same --out file, byte for byte, as one plain process (the
row-wise commands and the counting ones, pmi and table-mi); a bad row on the
last rank fails every rank with the data status and leaves no file; a rank
killed mid-run leaves neither the file nor its temporary; the sample-based
commands refuse to be split.

usage: test_mpi.py INFOEST MPIEXEC
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

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


def make_labels(d):
    """Routing of a mixture of experts: Zipf-like token ids x [N] and the top-2
    experts y [N, 2] of each token (distinct), experts leaning on the token."""
    rng = np.random.default_rng(7)
    n, V, E = 3 * 20000 + 1001, 500, 16
    x = np.minimum(rng.zipf(1.3, n) - 1, V - 1)
    first = (x * 7 + rng.integers(0, 3, n)) % E
    second = (first + 1 + rng.integers(0, E - 1, n)) % E
    y = np.stack([first, second], 1)
    np.save(os.path.join(d, "lx.npy"), x.astype(np.int64))
    np.save(os.path.join(d, "ly.npy"), y.astype(np.int32))
    np.save(os.path.join(d, "ly1.npy"), first.astype(np.int64))
    return x, y, V, E


def npmi_numpy(tab):
    """nPMI of a count table in float64 NumPy: -1 where never counted."""
    tab = tab.astype(np.float64)
    n = tab.sum()
    pxy, px, py = tab / n, tab.sum(1, keepdims=True) / n, tab.sum(0, keepdims=True) / n
    out = np.full(tab.shape, -1.0)
    m = tab > 0
    pmi = np.log(pxy[m] / (px * py)[m])
    den = -np.log(pxy[m])
    out[m] = np.where(den > 0, pmi / np.where(den > 0, den, 1), 1.0)
    return out


def rank_pids(mpirun_pid):
    """Rank -> pid of the ranks this mpirun started (its children only)."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != mpirun_pid:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        for e in env:
            if e.startswith(b"OMPI_COMM_WORLD_RANK="):
                out[int(e.split(b"=", 1)[1])] = int(pid)
    return out


def killed_rank(top, logits, victim):
    """Kill rank `victim` of 2 with SIGKILL while --out's temporary file
    exists: mpirun ends the job (SIGTERM to the other rank, wherever it
    waits); neither the file nor its temporary may remain."""
    d = os.path.join(top, f"killed-{victim}")
    os.mkdir(d)
    p = subprocess.Popen([MPIEXEC] + FLAGS + ["-n", "2", EXE, "log-softmax", "--logits", logits,
                                              "--out", "o.npy", "--memory-budget", "1"],
                         cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0, seen = time.time(), False
    while time.time() - t0 < 120 and p.poll() is None:
        if any(f.startswith("o.npy.tmp") for f in os.listdir(d)):
            seen = True
            break
        time.sleep(0.002)
    pids = rank_pids(p.pid) if seen else {}
    if victim in pids:
        os.kill(pids[victim], signal.SIGKILL)
    out, err = p.communicate(timeout=300)
    if not seen or victim not in pids or p.returncode == 0:
        return None  # the run ended before the kill: no verdict
    check(os.listdir(d) == [], f"rank {victim} killed: left {os.listdir(d)}; {err[-600:]}")
    check(out == "", f"rank {victim} killed: printed a result {out!r}")
    return True


def main():
    with tempfile.TemporaryDirectory() as top:
        data = os.path.join(top, "data")
        os.mkdir(data)
        teacher, n = make_data(data)
        lx, ly, V, E = make_labels(data)
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
            # the counting commands: each rank counts its share of the pairs
            "pmi": ["pmi", "--x", D("lx.npy"), "--y", D("ly.npy"), "--chunk-rows", "3000"],
            "pmi-classes": ["pmi", "--x", D("lx.npy"), "--y", D("ly.npy"), "--x-classes", str(V + 3),
                            "--y-classes", str(E), "--kind", "ppmi", "--smooth", "0.5", "--base", "2"] + budget,
            "table-mi": ["table-mi", "--x", D("lx.npy"), "--y", D("ly1.npy"), "--chunk-rows", "7000"],
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
            if name == "pmi" and 3 in outs:
                # the table NumPy counts, its nPMI against the 3 ranks' --out
                tab = np.zeros((lx.max() + 1, ly.max() + 1), np.int64)
                np.add.at(tab, (np.repeat(lx, 2), ly.ravel()), 1)
                got = json.loads(outs[3][0])
                check(got["n"] == 2 * len(lx) and got["rows"] == tab.shape[0] and got["cols"] == E,
                      f"pmi on 3 ranks: n, rows, cols {got}")
                per = np.load(os.path.join(top, "pmi-3", "o.npy"))
                check(per.shape == tab.shape and np.allclose(per, npmi_numpy(tab), rtol=1e-10, atol=1e-12),
                      "pmi on 3 ranks: nPMI map against NumPy")
            if name == "table-mi" and 2 in outs:
                tab = np.zeros((lx.max() + 1, E), np.int64)
                np.add.at(tab, (lx, ly[:, 0]), 1)
                p = tab / tab.sum()
                px, py = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
                m = p > 0
                mi = float((p[m] * np.log(p[m] / (px * py)[m])).sum())
                got = json.loads(outs[2][0])
                check(got["n"] == len(lx) and abs(got["mi"] - mi) <= 1e-12 + 1e-10 * mi,
                      f"table-mi on 2 ranks: n {got['n']}, mi {got['mi']} vs NumPy {mi}")

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

        # A bad label in the last rank's share (of 3): found while looking for the
        # largest label, and, with the classes given, while counting.
        bx = lx.copy()
        brow = len(lx) - 17
        bx[brow] = -4
        np.save(D("badx.npy"), bx)
        by = ly.copy()
        by[brow, 1] = E + 2
        np.save(D("bady.npy"), by)
        for args, what in (
            (["pmi", "--x", D("badx.npy"), "--y", D("ly.npy"), "--chunk-rows", "3000"], "badx.npy"),
            (["table-mi", "--x", D("badx.npy"), "--y", D("ly1.npy")], "badx.npy"),
            (["pmi", "--x", D("lx.npy"), "--y", D("bady.npy"), "--x-classes", str(V),
              "--y-classes", str(E), "--chunk-rows", "3000"], "bady.npy"),
        ):
            d = os.path.join(top, f"badlabel-{len(os.listdir(top))}")
            os.mkdir(d)
            r = run(args + ["--out", "o.npy"], 3, d)
            check(r.returncode == 3, f"{args[0]}: bad label on rank 2: exit {r.returncode}, want 3: {r.stderr[-600:]}")
            check(r.stderr.count("bad input data") == 1 and f"row {brow}" in r.stderr and what in r.stderr,
                  f"{args[0]}: bad label message (once, naming {what}, row {brow}): {r.stderr[-800:]}")
            check("MPI rank 2 of 3" in r.stderr, f"{args[0]}: the failing rank is named: {r.stderr[-400:]}")
            check(os.listdir(d) == [] and r.stdout == "", f"{args[0]}: a failed run left {os.listdir(d)}, printed {r.stdout!r}")

        # A count table is one input: nothing to share among ranks.
        np.save(D("tab.npy"), np.array([[3, 1], [0, 5]], np.int64))
        r = run(["pmi", "--counts", D("tab.npy")], 2, top)
        check(r.returncode == 2 and r.stderr.count("nothing to share") == 1,
              f"pmi --counts on 2 ranks: exit {r.returncode}: {r.stderr[-400:]}")

        # More ranks than devices (PoCL has one): the ranks share them
        # round-robin instead of failing for want of device 1, 2.
        args = ["divergence", "--kind", "kl", "--p", D("t.npy"), "--q", D("s.npy"), "--backend", "opencl",
                "--out", "o.npy"] + budget
        outs = {}
        for ranks in (0, 3):
            d = os.path.join(top, f"shared-device-{ranks}")
            os.mkdir(d)
            r = run(args, ranks, d)
            if ranks == 0 and r.returncode == 4:
                print("note: no OpenCL device here; the shared-device check is skipped")
                break
            check(r.returncode == 0, f"opencl on {ranks} ranks: exit {r.returncode}: {r.stderr[-600:]}")
            if r.returncode == 0:
                with open(os.path.join(d, "o.npy"), "rb") as f:
                    outs[ranks] = (r.stdout, f.read())
        if len(outs) == 2:
            check(outs[3] == outs[0] and '"backend":"opencl"' in outs[3][0],
                  f"opencl on 3 ranks differs from one process: {outs[3][0]!r} vs {outs[0][0]!r}")

        # A rank killed mid-run (SIGKILL): the other removes --out's temporary
        # file on mpirun's SIGTERM, whether it owns it (rank 0) or joined it.
        big = np.random.default_rng(3).standard_normal((40000, 512), dtype=np.float32)
        np.save(D("big.npy"), big)
        del big
        for victim in (1, 0):
            for attempt in range(3):
                if killed_rank(top, D("big.npy"), victim):
                    break
                shutil.rmtree(os.path.join(top, f"killed-{victim}"))
            else:
                check(False, f"rank {victim}: the run always ended before it could be killed")

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
