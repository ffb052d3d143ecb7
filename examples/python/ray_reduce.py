"""A mean entropy and Jensen-Shannon divergence over rows spread across Ray
tasks.

The rows are cut into pieces of uneven sizes; each Ray task computes the
partial states of its piece (rows [begin, end) of the whole), the states come
back (an infoest.Partial pickles to its bytes) in whatever order the tasks
finish, infoest.merge_partials puts them in row order and merges them, and
the finalized summaries are checked against one process's, bit for bit.

    python examples/python/ray_reduce.py [ROWS] [VOCAB] [PIECES]

Starts a local Ray instance (ray.init()); pass RAY_ADDRESS to use a cluster.
The package must be importable by the workers (installed, or on PYTHONPATH).
Exits 1 if any summary differs from the single process's.
"""
import struct
import sys

import numpy as np
import ray

import infoest


def lm_logits(rng, rows, vocab):
    """Language-model-like logits: a Zipf-like bias, noise, and every third
    row confident (one logit 25 above the rest)."""
    bias = -1.1 * np.log(np.arange(1, vocab + 1))
    rng.shuffle(bias)
    x = bias + 2.0 * rng.standard_normal((rows, vocab))
    x[::3, 7] = x[::3].max(axis=1) + 25.0
    return x.astype(np.float32)


@ray.remote
def piece(student, teacher, begin, end):
    """The partial states of rows [begin, end) (the arrays are the whole
    data, shared read-only through Ray's object store)."""
    return (infoest.entropy(student[begin:end], partial=True, first_row=begin),
            infoest.divergence(student[begin:end], teacher[begin:end], "js",
                               partial=True, first_row=begin))


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    vocab = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    pieces = int(sys.argv[3]) if len(sys.argv) > 3 else 7

    rng = np.random.default_rng(7)
    student = lm_logits(rng, rows, vocab)
    teacher = student + 0.5 * rng.standard_normal(student.shape).astype(np.float32)
    cuts = np.unique(np.concatenate([[0, rows], rng.integers(0, rows, pieces - 1)]))

    ray.init(include_dashboard=False, log_to_driver=False)
    try:
        s_ref, t_ref = ray.put(student), ray.put(teacher)
        tasks = [piece.remote(s_ref, t_ref, int(b), int(e)) for b, e in zip(cuts[:-1], cuts[1:])]
        done = []
        while tasks:                                  # in the order they finish
            ready, tasks = ray.wait(tasks)
            done += ray.get(ready)
    finally:
        ray.shutdown()

    got = {"entropy": infoest.merge_partials([d[0] for d in done]).finalize(),
           "js": infoest.merge_partials([d[1] for d in done]).finalize()}
    want = {"entropy": infoest.entropy(student, partial=True).finalize(),
            "js": infoest.divergence(student, teacher, "js", partial=True).finalize()}
    plain = {"entropy": infoest.entropy(student), "js": infoest.divergence(student, teacher, "js")}

    def bits(v):
        return struct.pack("<d", v).hex()

    status = 0
    for name in got:
        g, w = got[name], want[name]
        same = g == w and bits(g.mean) == bits(plain[name])
        print(f"{name}: {len(done)} Ray tasks mean {g.mean!r} over {g.rows} rows; one process "
              f"{w.mean!r}: {'same bits' if same else 'DIFFERENT'}")
        status |= not same
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
