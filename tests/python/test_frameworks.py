"""PyTorch CPU tensors (when torch is installed), CUDA tensors (when a GPU and
the CUDA backend are here), CuPy and JAX arrays (when installed): taken with
no copy, results in the same framework and on the same device."""
import math

import numpy as np
import pytest
from scipy.special import log_softmax as sp_log_softmax

import infoest
from conftest import close, have_cuda_torch, have_torch, lm_logits

torch_only = pytest.mark.skipif(not have_torch(), reason="PyTorch is not installed")
cuda_only = pytest.mark.skipif(not have_cuda_torch(),
                               reason="no CUDA GPU (or PyTorch, or the CUDA backend) here")


def ref_entropy(x):
    lp = sp_log_softmax(np.asarray(x, np.float64), axis=-1)
    p = np.exp(lp)
    return -np.where(p > 0, p * lp, 0.0).sum(-1)


@torch_only
def test_torch_cpu_tensors(rng):
    import torch
    x = torch.from_numpy(lm_logits(rng, 8, 1000))
    h = infoest.entropy(x, reduction="none")
    assert isinstance(h, torch.Tensor) and h.dtype == torch.float64 and h.device.type == "cpu"
    close(h.numpy(), ref_entropy(x.numpy()))
    close(infoest.entropy(x), ref_entropy(x.numpy()).mean())
    ls = infoest.log_softmax(x)
    assert isinstance(ls, torch.Tensor) and ls.dtype == torch.float32
    # requires_grad tensors are read through .detach() (no copy)
    xg = x.clone().requires_grad_(True)
    close(infoest.entropy(xg, reduction="none").numpy(), ref_entropy(x.numpy()))
    # out= is written in place
    out = torch.empty(8, dtype=torch.float64)
    assert infoest.entropy(x, reduction="none", out=out) is out
    close(out.numpy(), ref_entropy(x.numpy()))
    # labels as a tensor, [batch, seq, V]
    y = torch.from_numpy(rng.integers(0, 1000, size=8))
    n = infoest.nll(x.reshape(2, 4, 1000), y.reshape(2, 4), reduction="none")
    assert tuple(n.shape) == (2, 4)


@torch_only
def test_torch_bf16_and_layout(rng):
    import torch
    x = torch.from_numpy(lm_logits(rng, 6, 500)).to(torch.bfloat16)
    xr = x.to(torch.float64).numpy()          # the rounded values
    close(infoest.entropy(x, reduction="none").numpy(), ref_entropy(xr))
    ls = infoest.log_softmax(x)
    assert ls.dtype == torch.bfloat16
    np.testing.assert_allclose(ls.to(torch.float64).numpy(), sp_log_softmax(xr, axis=-1),
                               rtol=1e-2, atol=1e-2)
    with pytest.raises(infoest.ShapeError, match=r"\.contiguous\(\)"):
        infoest.entropy(x.t())


@torch_only
@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_torch_sparse_and_meta_tensors_are_argument_errors():
    import torch
    eye = torch.eye(3)
    for bad, what in [(eye.to_sparse(), "to_dense"), (eye.to_sparse_csr(), "to_dense"),
                      (eye.to("meta"), "meta")]:
        with pytest.raises(infoest.ArgumentTypeError, match=what) as e:
            infoest.entropy(bad)
        assert "incompatible function arguments" not in str(e.value)
    with pytest.raises(infoest.ArgumentTypeError, match=r"'x'.*to_dense"):
        infoest.count_pairs(torch.tensor([0, 1]).to_sparse(), torch.tensor([1, 0]))
    # the same in any argument, after a NumPy first one
    z = np.zeros((2, 3), np.float32)
    for call, what in [(lambda: infoest.divergence(z, torch.zeros(2, 3).to_sparse()), r"'q'.*to_dense"),
                       (lambda: infoest.divergence(z, torch.zeros(2, 3, device="meta")), r"'q'.*meta"),
                       (lambda: infoest.nll(z, torch.tensor([0, 1]).to_sparse()), r"'labels'.*to_dense"),
                       (lambda: infoest.count_pairs(np.array([0, 1]), torch.tensor([1, 0]).to_sparse()),
                        r"'y'.*to_dense")]:
        with pytest.raises(infoest.ArgumentTypeError, match=what):
            call()


@torch_only
def test_torch_no_copy(rng):
    import torch
    x = torch.from_numpy(lm_logits(rng, 4, 300))
    ptr = x.data_ptr()
    infoest.entropy(x)
    assert x.data_ptr() == ptr
    # a view with a row stride: taken as it is
    big = torch.from_numpy(lm_logits(rng, 4, 320))
    v = big[:, :300]
    close(infoest.entropy(v, reduction="none").numpy(), ref_entropy(v.numpy()))


@cuda_only
def test_torch_cuda_tensors_stay_on_the_device(rng):
    import torch
    dev = torch.device("cuda", torch.cuda.current_device())
    xc = lm_logits(rng, 16, 4096)
    x = torch.from_numpy(xc).to(dev)
    h = infoest.entropy(x, reduction="none")
    assert isinstance(h, torch.Tensor) and h.device == dev
    close(h.cpu().numpy(), ref_entropy(xc))
    ls = infoest.log_softmax(x)
    assert ls.device == dev and ls.dtype == torch.float32
    close(ls.cpu().numpy(), sp_log_softmax(xc.astype(np.float64), axis=-1))
    q = torch.roll(x, 1, 0)
    d = infoest.divergence(x, q, "js", reduction="none")
    assert d.device == dev
    y = torch.randint(0, 4096, (16,), device=dev)
    n = infoest.nll(x, y, reduction="none")
    assert n.device == dev
    want = -sp_log_softmax(xc.astype(np.float64), axis=-1)[np.arange(16), y.cpu().numpy()]
    close(n.cpu().numpy(), want)


@cuda_only
def test_torch_cuda_current_stream(rng):
    import torch
    dev = torch.device("cuda", torch.cuda.current_device())
    s = torch.cuda.Stream(device=dev)
    base = torch.from_numpy(lm_logits(rng, 64, 8192)).to(dev)
    torch.cuda.synchronize()
    with torch.cuda.stream(s):
        # made on s, read by infoest on s: no synchronisation needed
        x = base * 1.5 + 0.25
        h = infoest.entropy(x, reduction="none")
        h2 = h * 2                   # queued after infoest's work on s
    s.synchronize()
    close((h2 / 2).cpu().numpy(), ref_entropy(base.cpu().numpy().astype(np.float64) * 1.5 + 0.25))


@cuda_only
def test_torch_cuda_sinkhorn_and_wrong_device(rng):
    import torch
    dev = torch.device("cuda", torch.cuda.current_device())
    a = torch.rand(20, device=dev, dtype=torch.float32) + 0.1
    b = torch.rand(30, device=dev, dtype=torch.float32) + 0.1
    C = torch.rand(20, 30, device=dev, dtype=torch.float32)
    r = infoest.sinkhorn(a, b, C, epsilon=0.1, return_potentials=True)
    ref = infoest.sinkhorn(a.cpu().numpy(), b.cpu().numpy(), C.cpu().numpy(), epsilon=0.1)
    assert r.f.device == dev
    assert abs(r.transport_cost - ref.transport_cost) <= 1e-5 * abs(ref.transport_cost) + 1e-6
    with pytest.raises(infoest.DeviceError):
        infoest.entropy(a.reshape(2, 10), context=infoest.Context(backend="cpu"))


def test_cupy_arrays(rng):
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    if "cuda" not in infoest.backends():
        pytest.skip("the CUDA backend is not built here")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:
        pytest.skip("no CUDA device")
    xc = lm_logits(rng, 8, 2000)
    x = cupy.asarray(xc)
    h = infoest.entropy(x, reduction="none")
    assert isinstance(h, cupy.ndarray)
    close(cupy.asnumpy(h), ref_entropy(xc))


def test_jax_arrays(rng):
    jnp = pytest.importorskip("jax.numpy", reason="JAX is not installed")
    xc = lm_logits(rng, 8, 2000)
    x = jnp.asarray(xc)
    h = infoest.entropy(x, reduction="none")
    assert type(h).__module__.partition(".")[0] in ("jax", "jaxlib")
    close(np.asarray(h), ref_entropy(xc))
    assert math.isclose(infoest.entropy(x), float(ref_entropy(xc).mean()), rel_tol=1e-5)
