"""Partial states (infoest.Partial): pieces of rows give the one call's
summary to the last bit; sums are correctly rounded (checked against
math.fsum, Python's own exact summation); states travel between processes
as bytes (pickle, multiprocessing, mpi4py, Ray)."""
import copy
import math
import os
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pytest

import infoest
from conftest import lm_logits

ROOT = Path(__file__).resolve().parents[2]
SPLITS = [(0, 7), (7, 8), (8, 8), (8, 30), (30, 61)]


def pieces(f, rows, splits=SPLITS):
    """f(begin, end) -> Partial, for each piece, merged in row order."""
    state = infoest.Partial(0)
    for b, e in splits:
        state.merge(f(b, e))
    assert (state.row_begin, state.row_end) == (0, rows)
    return state


@pytest.fixture
def student(rng):
    return lm_logits(rng, 61, 3001)


@pytest.fixture
def teacher(rng, student):
    return (student + 0.4 * rng.standard_normal(student.shape)).astype(np.float32)


def same_bits(a, b):
    return np.array(a, np.float64).tobytes() == np.array(b, np.float64).tobytes()


def check_pieces_equal_one_call(f, one_sum, one_mean, per_row, weights=None):
    """The merged pieces, the one call's state and its summary agree to the
    bit, and the sum is the correctly rounded Σ w_i v_i of the per-row values."""
    whole, merged = f(None, None), pieces(f, len(per_row))
    assert merged == whole                                  # the state's bytes
    s = merged.finalize()
    assert same_bits(s.sum, one_sum) and same_bits(s.mean, one_mean), (s, one_sum, one_mean)
    w = np.ones(len(per_row)) if weights is None else np.asarray(weights, np.float64)
    kept = w != 0
    assert s.rows == len(per_row) and s.rows_kept == int(kept.sum())
    assert s.sum == math.fsum(w[kept] * per_row[kept])
    assert s.weight_sum == math.fsum(w[kept])
    assert s.min == per_row[kept].min() and s.max == per_row[kept].max()


def test_entropy_pieces(student):
    def f(b, e):
        if b is None:
            return infoest.entropy(student, partial=True)
        return infoest.entropy(student[b:e], partial=True, first_row=b)
    per_row = infoest.entropy(student, reduction="none")
    check_pieces_equal_one_call(f, infoest.entropy(student, reduction="sum"),
                                infoest.entropy(student), per_row)

    def g(b, e):     # Rényi of order 2 on probabilities
        p = np.exp(student - student.max(-1, keepdims=True))
        sl = slice(b, e) if b is not None else slice(None)
        return infoest.entropy(p[sl], input="probs", kind="renyi", alpha=2.0, partial=True,
                               first_row=b or 0)
    p = np.exp(student - student.max(-1, keepdims=True))
    check_pieces_equal_one_call(
        g, infoest.entropy(p, input="probs", kind="renyi", alpha=2.0, reduction="sum"),
        infoest.entropy(p, input="probs", kind="renyi", alpha=2.0),
        infoest.entropy(p, input="probs", kind="renyi", alpha=2.0, reduction="none"))


def test_nll_pieces_with_ignored_rows(student, rng):
    labels = rng.integers(0, student.shape[1], len(student))
    labels[::5] = -100
    weights = (labels != -100).astype(np.float64)

    def f(b, e):
        if b is None:
            return infoest.nll(student, labels, ignore_index=-100, partial=True)
        return infoest.nll(student[b:e], labels[b:e], ignore_index=-100, partial=True,
                           first_row=b)
    per_row = infoest.nll(student, labels, ignore_index=-100, reduction="none")
    check_pieces_equal_one_call(f, infoest.nll(student, labels, ignore_index=-100, reduction="sum"),
                                infoest.nll(student, labels, ignore_index=-100), per_row, weights)


@pytest.mark.parametrize("kind,alpha", [("kl", None), ("js", None), ("renyi", 0.5),
                                        ("hellinger", None)])
def test_divergence_pieces_with_weights(student, teacher, rng, kind, alpha):
    w = rng.uniform(0.0, 3.0, len(student))
    w[3] = 0.0
    kw = dict(alpha=alpha) if alpha is not None else {}

    def f(b, e):
        if b is None:
            return infoest.divergence(teacher, student, kind, row_weights=w, partial=True, **kw)
        return infoest.divergence(teacher[b:e], student[b:e], kind, row_weights=w[b:e],
                                  partial=True, first_row=b, **kw)
    per_row = infoest.divergence(teacher, student, kind, reduction="none", **kw)
    check_pieces_equal_one_call(
        f, infoest.divergence(teacher, student, kind, row_weights=w, reduction="sum", **kw),
        infoest.divergence(teacher, student, kind, row_weights=w, **kw), per_row, w)


def test_state_argument_and_reduction_none(student):
    state = infoest.Partial(123)
    vals = infoest.entropy(student[:10], partial=state, first_row=40, reduction="none")
    assert vals.shape == (10,)
    assert (state.row_begin, state.row_end, state.rows, state.rows_kept) == (40, 50, 10, 10)
    assert state.finalize().sum == math.fsum(vals)
    # a failed call leaves the state as it was
    before = state.to_bytes()
    bad = student[:4].copy()
    bad[2, 9] = np.nan
    with pytest.raises(infoest.NonFiniteError):
        infoest.entropy(bad, partial=state, first_row=0)
    assert state.to_bytes() == before


def test_add_is_correctly_rounded():
    rng = np.random.default_rng(5)
    # heavy cancellation: naive float sums get this wrong
    v = np.concatenate([rng.standard_normal(1000) * 1e16, [1.0, 1e-8, -3.5],
                        -(rng.standard_normal(1000) * 1e16)])
    rng.shuffle(v)
    s = infoest.Partial().add(v).finalize()
    assert s.sum == math.fsum(v) and s.rows == s.rows_kept == len(v)
    assert s.mean == math.fsum(v) / len(v)
    assert s.min == v.min() and s.max == v.max()
    # weights: the sum of the rounded products w_i v_i, and of the weights
    w = rng.uniform(0, 2, len(v))
    w[::7] = 0
    s = infoest.Partial().add(v, w).finalize()
    assert s.sum == math.fsum(w * v) and s.weight_sum == math.fsum(w)
    assert s.rows_kept == int((w != 0).sum()) and s.max == v[w != 0].max()
    # a mask, and float32 values: exact in float64
    m = rng.integers(0, 2, len(v)).astype(bool)
    v32 = v.astype(np.float32)
    s = infoest.Partial().add(v32, m).finalize()
    assert s.sum == math.fsum(v32[m].astype(np.float64)) and s.rows_kept == int(m.sum())
    # in pieces, in one go: the same bits
    a = infoest.Partial()
    for i in range(0, len(v), 333):
        a.add(v[i:i + 333], w[i:i + 333])
    assert a == infoest.Partial().add(v, w)


def test_add_infinities_and_nan():
    s = infoest.Partial().add(np.array([1.0, np.inf, 2.0])).finalize()
    assert s.sum == math.inf and s.mean == math.inf and s.max == math.inf
    s = infoest.Partial().add(np.array([1.0, np.inf, -np.inf])).finalize()
    assert math.isnan(s.sum)
    s = infoest.Partial().add(np.array([1.0, np.nan])).finalize()
    assert math.isnan(s.sum) and s.rows_kept == 2
    s = infoest.Partial().add(np.array([np.inf, 5.0]), np.array([0, 1])).finalize()
    assert s.sum == 5.0                                  # the weight-0 row is not kept


def test_merge_in_row_order_only():
    a = infoest.Partial(0).add(np.array([1.0, 2.0]))
    c = infoest.Partial(3).add(np.array([4.0]))
    before = a.to_bytes()
    with pytest.raises(infoest.OptionError, match="row order") as e:
        a.merge(c)                                       # row 2 is missing
    assert "[3, 4)" in str(e.value) and a.to_bytes() == before
    with pytest.raises(infoest.OptionError):
        infoest.merge_partials([a, c])
    b = infoest.Partial(2).add(np.array([3.0]))
    with pytest.raises(infoest.OptionError):              # row 2 twice
        infoest.merge_partials([a, b, c, infoest.Partial(2).add(np.array([3.0]))])
    m = infoest.merge_partials([c, a, b])                 # any order in, row order merged
    assert m.finalize() == (4, 4, 4.0, 10.0, 2.5, 1.0, 4.0)
    assert a.to_bytes() == before                         # the pieces are untouched
    with pytest.raises(infoest.OptionError):
        a.merge(a)                                        # [0, 2) after [0, 2)
    with pytest.raises(infoest.OptionError):
        infoest.merge_partials([])
    with pytest.raises(infoest.OptionError):
        a.merge(b.to_bytes())


def test_states_of_two_quantities_do_not_merge(student, teacher):
    h = infoest.Partial(0)
    infoest.entropy(student[:10], partial=h)
    kl = infoest.Partial(0)
    infoest.divergence(student[10:20], teacher[10:20], "kl", partial=kl, first_row=10)
    kl2 = infoest.Partial(0)
    infoest.divergence(student[10:20], teacher[10:20], "kl", temperature=2.0, partial=kl2, first_row=10)
    before = h.to_bytes()
    for other in (kl, kl2):
        with pytest.raises(infoest.OptionError, match="different quantities"):
            h.merge(other)
        assert h.to_bytes() == before
    h2 = infoest.Partial(0)
    infoest.entropy(student[10:20], partial=h2, first_row=10)
    h.merge(h2)
    assert h.rows == 20 and h.finalize().mean == infoest.entropy(student[:20])
    h.merge(infoest.Partial(20).add(np.array([1.0])))     # values of one's own: any kind
    assert h.rows == 21


def test_empty_states():
    with pytest.raises(infoest.EmptyReductionError):
        infoest.Partial(5).finalize()
    p = infoest.entropy(np.zeros((3, 4)), row_weights=np.zeros(3, bool), partial=True)
    assert p.rows == 3 and p.rows_kept == 0
    with pytest.raises(infoest.EmptyReductionError):
        p.finalize()
    assert infoest.entropy(np.zeros((0, 4)), partial=True, first_row=9).rows == 0


def test_bytes_and_pickle():
    p = infoest.entropy(np.random.default_rng(3).standard_normal((9, 17)), partial=True,
                        first_row=1000)
    b = p.to_bytes()
    assert bytes(p) == b and len(b) == len(infoest.Partial().to_bytes())
    for q in (pickle.loads(pickle.dumps(p)), infoest.Partial.from_bytes(b), copy.copy(p),
              copy.deepcopy(p)):
        assert q == p and q is not p and q.finalize() == p.finalize()
        assert (q.row_begin, q.row_end) == (1000, 1009)
    q = copy.copy(p)
    q.merge(infoest.Partial(1009).add(np.array([1.0])))
    assert q != p and p.row_end == 1009                   # a copy, not a view
    with pytest.raises(infoest.OptionError, match="bytes"):
        infoest.Partial.from_bytes(b[:-1])
    # bytes that are not a state of this library: refused when used, not trusted
    bad = bytearray(b)
    bad[0] ^= 0x7F                                        # the version
    with pytest.raises(infoest.OptionError, match="not a partial state"):
        infoest.Partial.from_bytes(bytes(bad)).finalize()
    with pytest.raises(infoest.OptionError, match="not a partial state"):
        infoest.Partial(0).merge(infoest.Partial.from_bytes(bytes(bad)))
    assert "rows [1000, 1009)" in repr(p)


def test_option_errors():
    x = np.zeros((3, 4))
    with pytest.raises(infoest.OptionError, match="first_row"):
        infoest.entropy(x, first_row=3)
    with pytest.raises(infoest.OptionError, match="first_row"):
        infoest.nll(x, np.zeros(3, np.int64), partial=True, first_row=-1)
    with pytest.raises(infoest.OptionError, match="reduction='none'"):
        infoest.divergence(x, x, "kl", partial=True, reduction="none")
    with pytest.raises(infoest.OptionError, match="partial"):
        infoest.entropy(x, partial="yes")
    with pytest.raises(infoest.ShapeError, match="1-D"):
        infoest.Partial().add(np.zeros((2, 2)))           # values are 1-D


def _piece(args):
    """A worker process's piece: rows [b, e) of a data set it makes itself."""
    b, e = args
    x = lm_logits(np.random.default_rng(99), 40, 1000)
    return infoest.entropy(x[b:e], partial=True, first_row=b)


def test_states_travel_between_processes():
    splits = [(0, 13), (13, 14), (14, 40)]
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as ex:
        parts = list(ex.map(_piece, splits))
    x = lm_logits(np.random.default_rng(99), 40, 1000)
    got = infoest.merge_partials(parts[::-1]).finalize()
    assert same_bits(got.mean, infoest.entropy(x))
    assert got == infoest.entropy(x, partial=True).finalize()


def _example_env():
    env = dict(os.environ)
    pkg = str(Path(infoest.__file__).resolve().parents[1])
    env["PYTHONPATH"] = pkg + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def test_mpi4py_example():
    pytest.importorskip("mpi4py", reason="mpi4py is not installed")
    import shutil
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("no mpirun")
    flags = ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    r = subprocess.run([mpirun, "-n", "3", *flags, sys.executable,
                        str(ROOT / "examples/python/mpi4py_reduce.py"), "9000", "300"],
                       env=_example_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "ranks mean" in ln]
    assert len(lines) == 3 and all("same bits" in ln for ln in lines), r.stdout


def test_ray_example():
    pytest.importorskip("ray", reason="ray is not installed")
    r = subprocess.run([sys.executable, str(ROOT / "examples/python/ray_reduce.py"),
                        "3000", "500", "5"],
                       env=_example_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "Ray tasks mean" in ln]
    assert len(lines) == 2 and all("same bits" in ln for ln in lines), r.stdout
