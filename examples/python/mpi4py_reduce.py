"""A mean entropy, NLL and KL over rows spread across MPI ranks, with mpi4py.

Every rank takes a contiguous range of the rows (whole blocks of
infoest.PARTIAL_BLOCK_ROWS, as the `infoest` command does under mpirun),
computes the partial states of its rows, and the states are gathered and
merged in rank order on rank 0, which finalizes them.  Rank 0 then computes
the same summaries in one process over all the rows and checks that the bits
are the same: a partial state holds its sums exactly, so how the rows were
split cannot change the result.

    mpirun -n 3 python examples/python/mpi4py_reduce.py [ROWS] [VOCAB]
    (add --oversubscribe with more ranks than cores, --allow-run-as-root as root)

Here every rank makes the same synthetic data from one seed and keeps its
own rows; a real evaluation would read only its rows (np.load(...,
mmap_mode="r")[begin:end], or a data loader's shard).  Exits 1 if any
summary differs from the single process's.
"""
import struct
import sys

import numpy as np
from mpi4py import MPI

import infoest


def lm_logits(rng, rows, vocab):
    """Language-model-like logits: a Zipf-like bias, noise, and every third
    row confident (one logit 25 above the rest)."""
    bias = -1.1 * np.log(np.arange(1, vocab + 1))
    rng.shuffle(bias)
    x = bias + 2.0 * rng.standard_normal((rows, vocab))
    x[::3, 7] = x[::3].max(axis=1) + 25.0
    return x.astype(np.float32)


def my_rows(rows, rank, size):
    """[begin, end): contiguous ranges of whole blocks, in rank order."""
    block = infoest.PARTIAL_BLOCK_ROWS
    blocks = (rows + block - 1) // block
    b0 = blocks * rank // size
    b1 = blocks * (rank + 1) // size
    return min(rows, b0 * block), min(rows, b1 * block)


def main():
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 3 * infoest.PARTIAL_BLOCK_ROWS + 123
    vocab = int(sys.argv[2]) if len(sys.argv) > 2 else 512

    rng = np.random.default_rng(2024)
    student = lm_logits(rng, rows, vocab)
    teacher = student + 0.3 * rng.standard_normal(student.shape).astype(np.float32)
    labels = rng.integers(0, vocab, rows)
    labels[::11] = -100                               # padding: ignored rows

    begin, end = my_rows(rows, rank, size)
    mine = {
        "entropy": infoest.entropy(student[begin:end], partial=True, first_row=begin),
        "nll": infoest.nll(student[begin:end], labels[begin:end], ignore_index=-100,
                           partial=True, first_row=begin),
        "kl": infoest.divergence(teacher[begin:end], student[begin:end], "kl",
                                 partial=True, first_row=begin),
    }
    # infoest.Partial pickles to its bytes: gather them on rank 0, in rank order.
    gathered = comm.gather(mine, root=0)

    status = 0
    if rank == 0:
        whole = {}
        for name in mine:
            state = infoest.Partial(0)
            for per_rank in gathered:                 # rank order is row order
                state.merge(per_rank[name])
            whole[name] = state.finalize()
        one = {
            "entropy": infoest.entropy(student, partial=True).finalize(),
            "nll": infoest.nll(student, labels, ignore_index=-100, partial=True).finalize(),
            "kl": infoest.divergence(teacher, student, "kl", partial=True).finalize(),
        }
        # and the plain call's mean, as a program that never heard of ranks gets it
        plain = {
            "entropy": infoest.entropy(student),
            "nll": infoest.nll(student, labels, ignore_index=-100),
            "kl": infoest.divergence(teacher, student, "kl"),
        }

        def bits(v):
            return struct.pack("<d", v).hex()

        for name in mine:
            w, o = whole[name], one[name]
            same = w == o and bits(w.mean) == bits(o.mean) == bits(plain[name])
            print(f"{name}: {size} ranks mean {w.mean!r} sum {w.sum!r} over {w.rows_kept} of "
                  f"{w.rows} rows; one process {o.mean!r}: {'same bits' if same else 'DIFFERENT'}")
            if not same:
                status = 1
    status = comm.bcast(status, root=0)
    return status


if __name__ == "__main__":
    sys.exit(main())
