"""infoest.divergence's short path for NumPy arrays (infoest/_api.py ->
_ext.divergence_host, arrays read through the buffer protocol): the same
values, errors and outputs as the general path (DLPack), which a call with
an explicit option (p_input="logits") takes."""
import math
import sys
import threading
import time

import numpy as np
import pytest
from scipy.special import log_softmax, rel_entr

import infoest
from conftest import close, lm_logits

PLAIN = [k for k in infoest.DIVERGENCE_KINDS if k not in ("alpha", "renyi", "tsallis")]


def general(p, q, kind, **kw):
    return infoest.divergence(p, q, kind, p_input="logits", **kw)


@pytest.mark.parametrize("kind", PLAIN)
def test_same_bits_as_the_general_path(rng, kind):
    teacher = lm_logits(rng, 7, 2051)
    student = (teacher + rng.standard_normal(teacher.shape) * 0.3).astype(np.float32)
    for red in ("mean", "sum"):
        assert infoest.divergence(student, teacher, kind, reduction=red) == \
            general(student, teacher, kind, reduction=red)
    rows = infoest.divergence(student, teacher, kind, reduction="none")
    assert rows.dtype == np.float64 and rows.shape == (7,)
    assert np.array_equal(rows, general(student, teacher, kind, reduction="none"))


def test_kl_against_float64_scipy(rng):
    teacher = lm_logits(rng, 9, 32000)
    student = (teacher + rng.standard_normal(teacher.shape) * 0.3).astype(np.float32)
    lp = log_softmax(student.astype(np.float64), -1)
    lq = log_softmax(teacher.astype(np.float64), -1)
    want = rel_entr(np.exp(lp), np.exp(lq)).sum(-1)
    close(infoest.divergence(student, teacher, "kl", reduction="none"), want)
    close(infoest.divergence(student, teacher, "kl"), want.mean())
    close(infoest.divergence(student, teacher, "kl", reduction="sum"), want.sum())
    close(infoest.divergence(student, teacher, "kl", temperature=2.0),
          rel_entr(np.exp(log_softmax(student / 2.0, -1)), np.exp(log_softmax(teacher / 2.0, -1)))
          .sum(-1).mean())


def test_outputs(rng):
    p = lm_logits(rng, 6, 300)
    q = (p + 0.5).astype(np.float32)[::-1].copy()
    want = general(p, q, "js", reduction="none")
    out = np.full(6, np.nan)
    assert infoest.divergence(p, q, "js", reduction="none", out=out) is out
    assert np.array_equal(out, want)
    out[:] = np.nan
    m = infoest.divergence(p, q, "js", out=out)          # the rows and the mean
    assert np.array_equal(out, want) and m == general(p, q, "js")
    o32 = infoest.divergence(p, q, "js", reduction="none", out_dtype="float32")
    assert o32.dtype == np.float32
    close(o32, want)
    # leading dimensions are rows; one row [V] gives a 0-d array, as the general path
    p3, q3 = p.reshape(2, 3, 300), q.reshape(2, 3, 300)
    assert np.array_equal(infoest.divergence(p3, q3, "kl", reduction="none"),
                          general(p3, q3, "kl", reduction="none"))
    r1 = infoest.divergence(p[0], q[0], "kl", reduction="none")
    assert r1.shape == () and r1 == general(p[:1], q[:1], "kl", reduction="none")[0]
    # rows with a stride (a slice of a wider array): no copy, same values
    assert np.array_equal(infoest.divergence(p[:, :200], q[:, 50:250], "kl", reduction="none"),
                          general(p[:, :200].copy(), q[:, 50:250].copy(), "kl", reduction="none"))


def test_dtypes_mixed_and_refused():
    p = np.zeros((2, 8), np.float16)
    q = np.log(np.arange(1, 17, dtype=np.float64)).reshape(2, 8)
    assert infoest.divergence(p, q, "kl") == general(p, q, "kl")
    for bad in (np.zeros((2, 8), np.int32), np.zeros((2, 8), np.complex64),
                np.zeros((2, 8), np.bool_), np.zeros((2, 8), ">f4"), np.zeros((2, 8), object)):
        with pytest.raises(infoest.DTypeError, match="cast it"):
            infoest.divergence(bad, q, "kl")
        with pytest.raises(infoest.DTypeError, match="cast it"):
            infoest.divergence(q, bad, "kl")


def test_layout_shape_and_output_errors():
    x = np.zeros((4, 16), np.float32)
    with pytest.raises(infoest.ShapeError, match=r"'p'.*contiguous.*ascontiguousarray"):
        infoest.divergence(x[:, ::2], x[:, :8], "kl")
    with pytest.raises(infoest.ShapeError):
        infoest.divergence(x, x[:, :15], "kl")
    with pytest.raises(infoest.ShapeError, match="row stride"):        # rows backwards
        infoest.divergence(x[::-1], x, "kl")
    with pytest.raises(infoest.ShapeError, match="stride -1"):
        infoest.divergence(x, x[:, ::-1], "kl")
    ro = np.zeros(4)
    ro.setflags(write=False)
    with pytest.raises(infoest.OptionError, match="read-only"):
        infoest.divergence(x, x, "kl", reduction="none", out=ro)
    with pytest.raises(infoest.ShapeError):
        infoest.divergence(x, x, "kl", reduction="none", out=np.zeros(3))
    with pytest.raises(infoest.DTypeError):
        infoest.divergence(x, x, "kl", reduction="none", out=np.zeros(4, np.int64))
    with pytest.raises(infoest.OptionError, match="reduction"):
        infoest.divergence(x, x, "kl", reduction="avg")
    with pytest.raises(infoest.OptionError, match="kind"):
        infoest.divergence(x, x, "kl-div")
    with pytest.raises(infoest.OptionError, match="temperature"):
        infoest.divergence(x, x, "kl", temperature=-1.0)
    with pytest.raises(infoest.OptionError, match="temperature"):
        infoest.divergence(x, x, "kl", temperature=math.nan)
    bad = np.zeros((3, 16), np.float32)
    bad[2, 5] = np.nan
    with pytest.raises(infoest.NonFiniteError, match="row 2") as e:
        infoest.divergence(np.zeros((3, 16), np.float32), bad, "kl")
    assert e.value.row == 2 and e.value.tensor == "q"
    # no stale error: the next call succeeds
    assert infoest.divergence(x, x, "kl") == 0.0


def test_buffers_are_released():
    p = np.zeros((3, 64), np.float32)
    q = np.ones((3, 64), np.float32)
    out = np.empty(3)
    before = (sys.getrefcount(p), sys.getrefcount(q), sys.getrefcount(out))
    for _ in range(100):
        infoest.divergence(p, q, "kl")
        infoest.divergence(p, q, "kl", reduction="none", out=out)
    with pytest.raises(infoest.ShapeError):
        infoest.divergence(p, q[:, :5], "kl")
    assert (sys.getrefcount(p), sys.getrefcount(q), sys.getrefcount(out)) == before
    # NumPy refuses to resize an array whose buffer is still exported
    p.resize((3, 32), refcheck=False)


def test_contexts_thread_and_with_block(rng):
    p = lm_logits(rng, 4, 500)
    q = (p * 0.9).astype(np.float32)
    want = general(p, q, "kl")
    got = []
    t = threading.Thread(target=lambda: got.append(infoest.divergence(p, q, "kl")))
    t.start()
    t.join()
    assert got == [want]
    ctx = infoest.Context(backend="cpu")
    assert infoest.divergence(p, q, "kl", context=ctx) == want
    with ctx:
        assert infoest.divergence(p, q, "kl") == want


def test_context_threads(rng):
    p = lm_logits(rng, 40, 4099)      # 40 x 4099 > 65536 elements: the CPU backend forks a team
    q = (p + 0.2 * rng.standard_normal(p.shape)).astype(np.float32)
    one = infoest.Context(backend="cpu", threads=1)
    assert one.threads == 1 and "threads=1" in repr(one)
    want = general(p, q, "kl", reduction="none")
    assert np.array_equal(infoest.divergence(p, q, "kl", reduction="none", context=one), want)
    assert np.array_equal(infoest.entropy(p, reduction="none", context=one),
                          infoest.entropy(p, reduction="none"))
    for bad in (-1, 5000):
        with pytest.raises(infoest.OptionError, match="threads"):
            infoest.Context(backend="cpu", threads=bad)
    for bad in (1.5, True, "2"):
        with pytest.raises(infoest.OptionError, match="threads"):
            infoest.Context(backend="cpu", threads=bad)


def test_gil_is_released_on_the_short_path(rng):
    # One long call (JS on 4.8 x 10^7 float32 logits, one thread: about 50 ms
    # on a Zen 4 EPYC, where 8 x 10^6 took 14 ms, too short to tell) while
    # this thread counts: with the GIL held it could not count.
    p = rng.standard_normal((24, 2_000_000), dtype=np.float32)
    q = p[::-1].copy()
    one = infoest.Context(backend="cpu", threads=1)
    box = {}
    started, done = threading.Event(), threading.Event()

    def work():
        started.set()
        t = time.perf_counter()
        box["r"] = infoest.divergence(p, q, "js", context=one)
        box["t"] = time.perf_counter() - t
        done.set()

    th = threading.Thread(target=work)
    th.start()
    started.wait()
    ticks = 0
    t0 = time.perf_counter()
    while not done.is_set():
        ticks += 1
    elapsed = time.perf_counter() - t0
    th.join()
    assert 0 < box["r"] < math.log(2)
    assert box["t"] > 0.02, "the call was too short to tell"
    assert ticks / elapsed > 100_000, f"this thread advanced {ticks} times in {elapsed:.3f} s"
