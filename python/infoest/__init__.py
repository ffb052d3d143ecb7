"""infoest: information-theoretic quantities, fast, on CPU, CUDA and OpenCL.

Log-softmax, entropies, NLL, thirteen divergences, Sinkhorn, kNN estimators,
spectral (Vendi) measures, MAUVE, and discrete information (counting, PMI,
MI/NMI/AMI of tables, partial information decompositions), with one meaning for every result on every
backend (docs/SPEC.md).  Everything is in nats.

>>> import numpy as np, infoest
>>> p = np.random.default_rng(0).standard_normal((8, 32000)).astype(np.float32)
>>> q = p + 0.1
>>> infoest.divergence(p, q, "kl")                 # mean KL over the rows  # doctest: +SKIP
>>> infoest.entropy(p, reduction="none")           # one value a row        # doctest: +SKIP

Arrays: anything with ``__dlpack__`` (NumPy, PyTorch, CuPy, JAX), taken with
no copy on the device it lives on (a CUDA tensor runs on its GPU, on the
framework's current stream); lists and other array-likes are converted (a
copy).  Per-row results come back in the input's framework and device;
summaries as floats.  The GIL is released while the library works.

Contexts: each thread gets its own, made on first use (the CPU for host
arrays, CUDA device N for arrays on it); ``with infoest.Context(backend=
"opencl"):`` runs the calls inside the block on another backend.

Errors: :class:`infoest.Error` and its subclasses, with the library's
message and the failing place as numbers (``e.tensor``, ``e.row``, ...);
shape, dtype, option and value problems are also ``ValueError``.

Pieces: ``partial=True`` (entropy, nll, divergence) returns an
:class:`infoest.Partial` instead of a summary; pieces computed anywhere
(mpi4py ranks, Ray tasks) pickle, merge in row order and finalize to the
one-process summary, bit for bit (examples/python/mpi4py_reduce.py).
"""
from . import _ext
from . import _errors
from ._errors import (Error, OptionError, ArgumentTypeError, ShapeError, DTypeError, DeviceError, BadValueError,
                      NonFiniteError, NegativeError, EmptyRowError, LabelError,
                      EmptyReductionError, OutOfMemoryError, BackendUnavailable, BackendError,
                      UnsupportedError, CancelledError, InternalError)
from ._context import Context, current_context, backends
from ._partial import Partial, Summary, merge_partials, PARTIAL_BLOCK_ROWS
from ._mauve import mauve, mauve_histograms, MauveResult, mauve_default_clusters
from ._discrete import (count_pairs, pmi, PmiResult, table_mi, TableMIResult, pid, pid_gaussian,
                        pid_pointwise, PIDResult, PointwisePID)
from ._api import (log_softmax, softmax, logsumexp, entropy, nll, divergence, DIVERGENCE_KINDS,
                   sinkhorn, SinkhornResult, knn, knn_entropy, knn_divergence,
                   knn_mutual_information, KnnResult, vendi, vendi_batch, matrix_entropy,
                   matrix_joint_entropy, matrix_mutual_information, SpectralResult)

_errors.install(_ext)

__version__ = _ext.version

__all__ = [
    "Context", "current_context", "backends",
    "Partial", "Summary", "merge_partials", "PARTIAL_BLOCK_ROWS",
    "log_softmax", "softmax", "logsumexp", "entropy", "nll", "divergence", "DIVERGENCE_KINDS",
    "sinkhorn", "SinkhornResult", "knn", "knn_entropy", "knn_divergence",
    "knn_mutual_information", "KnnResult", "vendi", "vendi_batch", "matrix_entropy",
    "matrix_joint_entropy", "matrix_mutual_information", "SpectralResult",
    "mauve", "mauve_histograms", "MauveResult", "mauve_default_clusters",
    "count_pairs", "pmi", "PmiResult", "table_mi", "TableMIResult", "pid", "pid_gaussian",
    "pid_pointwise", "PIDResult", "PointwisePID",
    "Error", "OptionError", "ArgumentTypeError", "ShapeError", "DTypeError", "DeviceError", "BadValueError",
    "NonFiniteError", "NegativeError", "EmptyRowError", "LabelError", "EmptyReductionError",
    "OutOfMemoryError", "BackendUnavailable", "BackendError", "UnsupportedError",
    "CancelledError", "InternalError",
]
