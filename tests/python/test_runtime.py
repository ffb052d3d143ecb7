"""No copies of large inputs, the GIL released, threads, cancellation."""
import json
import math
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import infoest
from infoest import _context

# Size of the "large input" (bytes); 1 GiB by default.
BIG = int(os.environ.get("INFOEST_TEST_BIG_BYTES", str(1 << 30)))

_NO_COPY_SCRIPT = r"""
import json, resource, sys, tracemalloc
import numpy as np
import infoest

big = int(sys.argv[1])
cols = 1 << 18
rows = big // (4 * cols)
x = np.empty((rows, cols), np.float32)
x[...] = np.linspace(-3, 3, cols, dtype=np.float32)      # touch every page
x[:, 0] += np.arange(rows, dtype=np.float32)

def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

out = {"bytes": x.nbytes}
infoest.entropy(x[:2])                       # contexts and tables made before measuring
before = peak_kib()
tracemalloc.start()
h = infoest.entropy(x, reduction="none")
kl = infoest.divergence(x, x, "kl")
strided = infoest.entropy(x[:, : cols - 8])  # a row-strided view: still no copy
_, traced_peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
out["rss_growth"] = (peak_kib() - before) * 1024
out["traced_peak"] = traced_peak
out["h0"] = float(h[0]); out["kl"] = kl; out["strided"] = strided
print(json.dumps(out))
"""


def test_large_input_is_not_copied():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    r = subprocess.run([sys.executable, "-c", _NO_COPY_SCRIPT, str(BIG)], capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    # A copy of the input would add res["bytes"] to the peak; outputs are [rows].
    assert res["rss_growth"] < 64 << 20, res
    assert res["traced_peak"] < 1 << 20, res
    assert res["kl"] == 0.0 and math.isfinite(res["h0"]) and math.isfinite(res["strided"])


def test_out_is_written_in_place():
    x = np.random.default_rng(0).standard_normal((64, 100)).astype(np.float32)
    out = np.full(64, np.nan)
    got = infoest.entropy(x, reduction="none", out=out)
    assert got is out and np.isfinite(out).all()
    ls = np.empty_like(x)
    assert infoest.log_softmax(x, out=ls) is ls


def _long_sinkhorn(n=900, iters=40, ctx=None):
    rng = np.random.default_rng(3)
    C = rng.random((n, n))
    return infoest.sinkhorn(np.ones(n), np.ones(n), C, epsilon=1e-3, max_iter=iters,
                            tol=1e-300, check_every=iters, context=ctx)


def test_gil_is_released_during_a_call():
    _long_sinkhorn(n=50, iters=2)               # warm up
    done = threading.Event()
    started = threading.Event()
    box = {}

    def work():
        started.set()
        t = time.perf_counter()
        box["r"] = _long_sinkhorn()
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
    assert box["r"].iterations == 40
    # With the GIL held by the call, this loop would only run in the few
    # switch intervals before the call starts; released, it spins all along.
    assert box["t"] > 0.05, "the call was too short to tell"
    rate = ticks / elapsed
    assert rate > 100_000, f"main thread advanced {ticks} times in {elapsed:.3f}s"


def test_cancel_from_another_thread():
    ctx = infoest.Context(backend="cpu")
    box = {}

    def work():
        try:
            _long_sinkhorn(n=900, iters=100000, ctx=ctx)
            box["result"] = "finished"
        except infoest.CancelledError as e:
            box["result"] = str(e)

    th = threading.Thread(target=work)
    th.start()
    time.sleep(0.3)
    ctx.cancel()
    th.join(60)
    assert not th.is_alive()
    assert "cancel" in box["result"].lower(), box
    # the context stays usable
    assert infoest.entropy(np.zeros((2, 4)), context=ctx) == pytest.approx(math.log(4))


def test_a_context_per_thread_and_a_shared_one():
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((50, 300)).astype(np.float32) for _ in range(4)]
    want = [infoest.entropy(x, reduction="none") for x in xs]
    shared = infoest.Context(backend="cpu")
    ctxs, errors = {}, []

    def work(i):
        try:
            for _ in range(20):
                np.testing.assert_array_equal(infoest.entropy(xs[i], reduction="none"), want[i])
                np.testing.assert_array_equal(
                    infoest.entropy(xs[i], reduction="none", context=shared), want[i])
            ctxs[i] = _context._local.defaults[("cpu", 0)]   # kept alive: ids stay distinct
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ths = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    assert not errors, errors
    assert len({id(c) for c in ctxs.values()}) == 4      # one default context per thread
    assert all(c is not shared for c in ctxs.values())


def _spin_while(call):
    """(the call's seconds, how fast the main thread advanced meanwhile) for
    `call` run in another thread."""
    done, started, box = threading.Event(), threading.Event(), {}

    def work():
        started.set()
        t = time.perf_counter()
        box["r"] = call()
        box["t"] = time.perf_counter() - t
        done.set()

    th = threading.Thread(target=work)
    th.start()
    started.wait()
    ticks, t0 = 0, time.perf_counter()
    while not done.is_set():
        ticks += 1
    elapsed = time.perf_counter() - t0
    th.join()
    return box["t"], ticks / elapsed


def test_gil_is_released_by_mauve_and_partial_states():
    rng = np.random.default_rng(8)
    p = rng.standard_normal((2000, 64)).astype(np.float32)
    q = (p + 0.3 * rng.standard_normal(p.shape)).astype(np.float32)
    values = rng.random(10_000_000)
    for call in (lambda: infoest.mauve(p, q, clusters=100, redo=2),
                 lambda: infoest.Partial().add(values)):
        t, rate = _spin_while(call)
        assert t > 0.05, "the call was too short to tell"
        assert rate > 100_000, f"main thread advanced {rate:.0f} times a second"


def test_the_extension_needs_no_gpu_runtime():
    """The extension links the core library, which opens the backend modules
    (and their GPU runtimes) beside it only when a context asks: importing
    infoest needs no CUDA or OpenCL library (a wheel built with CUDA imports
    where CUDA is missing)."""
    import shutil
    from infoest import _ext
    if not shutil.which("readelf"):
        pytest.skip("no readelf here")
    dyn = subprocess.run(["readelf", "-d", _ext.__file__], capture_output=True, text=True,
                         check=True).stdout
    needed = [ln.split("[", 1)[1].rstrip("]") for ln in dyn.splitlines() if "(NEEDED)" in ln]
    assert any(n.startswith("libinfoest.so") for n in needed), needed
    gpu = [n for n in needed if n.startswith(("libcuda", "libcublas", "libcusolver", "libOpenCL", "libnv"))]
    assert not gpu, f"{_ext.__file__} needs {gpu}"
    if "opencl" in infoest.backends():     # its module, found beside the core
        try:
            infoest.Context(backend="opencl")
        except infoest.BackendUnavailable as e:
            assert "module" not in str(e), e     # no device is fine; no module is not


_FORK_SCRIPT = r"""
import multiprocessing as mp
import numpy as np
import infoest

x = np.random.default_rng(0).standard_normal((4096, 500)).astype(np.float32)

def work(i):
    return infoest.entropy(x), infoest.divergence(x, x[::-1].copy(), "js")

if __name__ == "__main__":
    want = work(0)                      # the parent's OpenMP threads start here
    with mp.get_context("fork").Pool(2) as pool:
        got = pool.map(work, range(2))
    assert got == [want, want], (got, want)
    print("ok")
"""


def test_forked_workers_after_a_threaded_call():
    """GNU OpenMP's threads do not survive fork: a fork-started worker of a
    process whose calls ran threaded had waited forever in its first call.
    The library runs a forked process's regions on one thread (the same
    bits: the sums are exact)."""
    import signal
    p = subprocess.Popen([sys.executable, "-c", _FORK_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ, OMP_NUM_THREADS="2"), start_new_session=True)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)     # the workers too, which hold the pipes
        p.communicate()
        pytest.fail("a fork-started worker hung in its first call")
    assert p.returncode == 0 and out.strip() == "ok", err[-2000:]
