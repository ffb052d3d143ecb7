#!/usr/bin/env python3
"""Float64 NumPy truth for the divergence and entropy cases that
test_backend_ops dumped (IE_BACKEND_OPS_DUMP=DIR), to tell which backend is
right when two disagree.

    backend_ops_truth.py DIR [ROW ...]

Reads DIR/cases.txt and the raw inputs beside it; for each divergence or
entropy case among the `extreme` ones (f32 logits, temperature 1) prints the reference of every row (or of the rows named) from
tests/gen_vectors.py's float64 formulas.
"""
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_vectors as gv  # noqa: E402

NAMES = {"kl": "kl", "reverse-kl": "reverse-kl", "jeffreys": "jeffreys", "js": "js", "tv": "tv",
         "hellinger": "hellinger", "bhattacharyya": "bhattacharyya", "chi2": "chi2",
         "alpha": "alpha", "renyi": "renyi", "tsallis": "tsallis",
         "cauchy-schwarz": "cauchy-schwarz", "cross-entropy": "cross-entropy"}


def load(dirname, line):
    m = re.match(r"\s*(\S+) (\S+) f32 ndim=2 shape=(\d+),(\d+),\d+ row_stride=(\d+)", line)
    if not m:
        return None, None
    f, name, b, v, stride = m.group(1), m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5))
    a = np.fromfile(os.path.join(dirname, f), np.float32)
    return name, a[: b * stride].reshape(b, stride)[:, :v].astype(np.float64)


def main():
    d, rows = sys.argv[1], [int(r) for r in sys.argv[2:]]
    lines = open(os.path.join(d, "cases.txt")).read().splitlines()
    i = 0
    while i < len(lines):
        head = lines[i]
        i += 1
        slots = {}
        while i < len(lines) and lines[i].startswith("  "):
            name, a = load(d, lines[i])
            if name:
                slots[name] = a
            i += 1
        m = re.match(r"(case\d+) (divergence|entropy) \[(.*?)\]: (.*)", head)
        if not m or "extreme" not in m.group(3):  # the other cases vary T, dtypes
            continue
        case, op, var, failure = m.groups()
        with np.errstate(all="ignore"):
            if op == "divergence":
                k = re.search(r" ([a-z0-9-]+) a=([0-9.e+-]+)", var)
                kind, alpha = k.group(1), float(k.group(2))
                lp, lq = gv.log_probs(slots["p"], "logits", 1.0), gv.log_probs(slots["q"], "logits", 1.0)
                ref = gv.divergence_ref(NAMES[kind], lp, lq, alpha, 0.5)
            else:
                k = re.search(r" (shannon|renyi|tsallis)(?: a=([0-9.e+-]+))?", var)
                kind, alpha = k.group(1), float(k.group(2) or 0)
                ref = gv.entropy_ref(gv.log_probs(slots["logits"], "logits", 1.0), kind, alpha)
        print(f"{case} {op} [{var}]: {failure}")
        for r in [r for r in rows if r < len(ref)] or range(len(ref)):
            print(f"  row {r}: float64 truth {ref[r]:.10g}")


if __name__ == "__main__":
    sys.exit(main())
