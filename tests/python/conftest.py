"""pytest set-up for the `infoest` Python package.

ctest (tests/CMakeLists.txt) runs these tests against the package laid out
in the build tree (build/python, put first on PYTHONPATH); run by hand:

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/python

or, after `pip install .`, with no PYTHONPATH.
"""
import numpy as np
import pytest

import infoest


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


def lm_logits(rng, rows, cols, dtype=np.float32):
    """Language-model-like logits: a Zipf-like bias over the vocabulary,
    noise, and every third row confident (one logit 25 above the rest)."""
    ranks = np.arange(1, cols + 1)
    bias = -1.1 * np.log(ranks)
    rng.shuffle(bias)
    x = bias + rng.standard_normal((rows, cols)) * 2.0
    for r in range(0, rows, 3):
        x[r, rng.integers(cols)] = x[r].max() + 25.0
    return x.astype(dtype)


@pytest.fixture
def lm(rng):
    return lm_logits(rng, 12, 4099)


def close(got, want, rtol=1e-5, atol=1e-6):
    """SPEC §1: within 1e-5 relative or 1e-6 absolute, whichever is looser."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    both_inf = np.isinf(want) & (got == want)
    err = np.abs(got - want)
    ok = both_inf | (err <= np.maximum(atol, rtol * np.abs(want)))
    assert ok.all(), f"worst: got {got[~ok][:5]}, want {want[~ok][:5]}"


def have_torch():
    try:
        import torch  # noqa: F401
        return True
    except Exception:
        return False


def have_cuda_torch():
    if not have_torch():
        return False
    import torch
    return torch.cuda.is_available() and "cuda" in infoest.backends()
