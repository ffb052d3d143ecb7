"""Contexts (a backend and a device), one set per thread, and how arrays are
handed to the library: through DLPack, on the device they live on, on the
framework's current stream; and how outputs are made in the input's
framework and device."""
from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _ext
from ._errors import ArgumentTypeError, DTypeError, OptionError
from ._options import INT32_MAX, integer as _integer

__all__ = ["Context", "current_context", "backends"]

# DLPack device types (dlpack.h).
_DL_CPU, _DL_CUDA, _DL_CUDA_HOST, _DL_CUDA_MANAGED = 1, 2, 3, 13
_HOST = (_DL_CPU, _DL_CUDA_HOST)
_CPU_DEV = (_DL_CPU, 0)
_CUDA = (_DL_CUDA, _DL_CUDA_MANAGED)


class Context:
    """A library context: one backend, one device.

    ``backend`` is ``"auto"`` (a CUDA device, else an OpenCL GPU, else the
    CPU), ``"cpu"``, ``"cuda"`` or ``"opencl"``; ``device`` the index within
    it.  Asking for a backend that is not built in or has no device raises
    :class:`infoest.BackendUnavailable`.  ``threads``: the host threads a
    call on this context may use (0, the default: all cores, or
    ``OMP_NUM_THREADS``); 1 for a program that runs one context a thread, or
    on a machine shared with other work, where a call that waits for a
    descheduled helper thread can lose a whole scheduler time slice.

    Used as a context manager it becomes the current thread's context for
    every call inside the ``with`` block (host arrays are then staged to its
    device); otherwise pass ``context=ctx`` to a call.  Without either, each
    thread gets its own contexts, made on first use: the CPU for host arrays,
    CUDA device N for arrays on CUDA device N.

    A context is used by one call at a time (calls from other threads on the
    same context wait).  :meth:`cancel`, from any thread, stops the long call
    in progress (Sinkhorn, kNN, spectral) with :class:`infoest.CancelledError`.

    >>> with infoest.Context(backend="opencl") as ctx:      # doctest: +SKIP
    ...     infoest.entropy(logits)
    """

    __slots__ = ("_c", "device", "threads", "__weakref__")

    def __init__(self, backend: str = "auto", device: int = 0, threads: int = 0) -> None:
        if not isinstance(backend, str):
            raise OptionError(f"backend must be a string (auto, cpu, cuda, opencl), not {backend!r}")
        device = _integer("device", device, 0, INT32_MAX)
        threads = _integer("threads (0: all cores)", threads, 0, INT32_MAX)
        self._c = _ext.Context(backend, device, threads)
        self.device = device
        self.threads = threads

    @property
    def backend(self) -> str:
        """The backend the context runs on: "cpu", "cuda" or "opencl" (never "auto")."""
        return self._c.backend

    @property
    def device_name(self) -> str:
        """The device, in words."""
        return self._c.device_name

    def cancel(self) -> None:
        """Stop the long call now running on this context (from another thread)."""
        self._c.cancel()

    def __enter__(self) -> "Context":
        _stack().append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        st = _stack()
        if st and st[-1] is self:
            st.pop()
        elif self in st:
            st.remove(self)

    def __repr__(self) -> str:
        t = f", threads={self.threads}" if self.threads else ""
        return (f"infoest.Context(backend={self.backend!r}, device={self.device}{t}) "
                f"on {self.device_name!r}")


class _Local(threading.local):
    def __init__(self) -> None:
        self.stack: List[Context] = []
        self.defaults: Dict[Tuple[str, int], Context] = {}
        self.cpu: Optional[Context] = None     # defaults[("cpu", 0)], looked up faster


_local = _Local()


def _stack() -> List[Context]:
    return _local.stack


def current_context() -> Optional[Context]:
    """The context of the innermost ``with infoest.Context(...)`` block of this
    thread, or None."""
    st = _local.stack
    return st[-1] if st else None


def _default(backend: str, device: int) -> Context:
    d = _local.defaults
    c = d.get((backend, device))
    if c is None:
        c = d[(backend, device)] = Context(backend, device)
        if (backend, device) == ("cpu", 0):
            _local.cpu = c
    return c


def _host_context(context: Optional[Context]) -> Any:
    """The extension's context for a call on host arrays (what _Call picks
    for NumPy arrays, in fewer steps): `context`'s, else the ``with`` block's,
    else the thread's CPU context; None when `context` is not a Context (the
    caller then takes the path that says so)."""
    if context is None:
        st = _local.stack
        return (st[-1] if st else (_local.cpu or _default("cpu", 0)))._c
    return context._c if type(context) is Context else None


def _check_context(context: Any) -> Context:
    """`context` if it is a Context, else a TypeError that says what it takes."""
    if isinstance(context, Context):
        return context
    hint = (f" (e.g. context=infoest.Context(backend={context!r}))"
            if isinstance(context, str) else "")
    raise ArgumentTypeError(f"context takes an infoest.Context{hint}, not {context!r}")


def backends() -> List[str]:
    """The backends compiled into this build ("cpu" always; "cuda", "opencl"
    when built), whether or not a device is present."""
    return [b for b in ("cpu", "cuda", "opencl") if _ext.backend_compiled(b)]


# ---- Arrays ------------------------------------------------------------------------------

class _Call:
    """The arrays of one call: where they live, the context and stream to run
    on, and how to make outputs like them."""

    __slots__ = ("ctx", "device", "stream", "dl_stream", "like", "fw")

    def __init__(self, context: Optional[Context], first: Any) -> None:
        self.like = first          # the array whose framework and device outputs follow
        if type(first) is np.ndarray:          # the common case, kept short
            self.fw, self.device, self.stream, self.dl_stream = "numpy", _CPU_DEV, -1, None
            if context is None:
                st = _local.stack
                context = st[-1] if st else (_local.cpu or _default("cpu", 0))
            elif type(context) is not Context:
                context = _check_context(context)
            self.ctx = context
            return
        self.fw = _framework(first)
        self.device = _device_of(first)
        if self.device[0] in _CUDA:
            self.stream, self.dl_stream = _current_stream(self.fw, self.device[1])
        else:
            self.stream, self.dl_stream = -1, None
        if context is not None and type(context) is not Context:
            context = _check_context(context)
        if context is None:
            context = current_context()
        if context is None:
            if self.device[0] in _CUDA:
                context = _default("cuda", self.device[1])
            else:
                context = _default("cpu", 0)
        self.ctx = context


def _framework(x: Any) -> str:
    t = type(x)
    if t is np.ndarray:
        return "numpy"
    mod = t.__module__.partition(".")[0]
    if mod in ("torch", "cupy", "numpy"):
        return mod
    if mod in ("jax", "jaxlib"):
        return "jax"
    return "other" if hasattr(x, "__dlpack__") else "numpy"


def _device_of(x: Any) -> Tuple[int, int]:
    if type(x) is np.ndarray:
        return (_DL_CPU, 0)
    f = getattr(x, "__dlpack_device__", None)
    if f is None:
        return (_DL_CPU, 0)
    try:
        t, i = f()
    except (ValueError, TypeError, BufferError, RuntimeError) as e:   # torch's meta device, ...
        raise ArgumentTypeError(f"a {type(x).__name__} on a device DLPack cannot name: {e}") from None
    return (int(t), int(i))


def _current_stream(fw: str, device: int) -> Tuple[int, Optional[int]]:
    """(the stream the library runs on, the `stream` handed to __dlpack__) for
    the framework's current stream on CUDA device `device`.  A stream handle
    of 0 (the legacy default stream) is 1 in DLPack's words."""
    s: Optional[int] = None
    if fw == "torch":
        import torch
        s = int(torch.cuda.current_stream(device).cuda_stream)
    elif fw == "cupy":
        import cupy
        with cupy.cuda.Device(device):
            s = int(cupy.cuda.get_current_stream().ptr)
    if s is None:      # no stream concept known: the legacy default stream
        return 0, None
    return s, (1 if s == 0 else s)


# NumPy dtypes the extension can hand to the library (which then says which
# of them the argument takes): numbers, in the machine's byte order.
_TAKEN = frozenset(np.dtype(c) for c in "?bBhHiIlLqQefdFD")


def _dtype_error(x: Any, name: str, integer: bool) -> DTypeError:
    """The error for an array whose dtype the extension cannot take at all
    (another byte order, objects, strings, dates, ...), naming the argument."""
    dt = x.dtype
    if dt.byteorder not in "=|" and dt.newbyteorder("=") in _TAKEN:
        what = f"dtype {dt.str} ({'big' if dt.byteorder == '>' else 'little'}-endian), " \
               "not in the machine's byte order"
    else:
        what = f"dtype {dt}, which the library does not take"
    to = "int64" if integer and dt.kind not in "fc" else "float32"   # labels, counts
    e = DTypeError(f"'{name}' has {what}; cast it, e.g. {name}.astype(numpy.{to})")
    e.tensor = name
    return e


def _arg(call: _Call, x: Any, name: str, integer: bool = False) -> Any:
    """`x` as the extension takes it: the array itself (NumPy, host DLPack
    producers), a DLPack capsule made on the call's stream (CUDA arrays), or,
    for lists and other array-likes, a NumPy copy (float64, float32 for a
    list on a GPU context, or int64 for labels).  None, or something that is
    no array, is a TypeError naming the argument; a NumPy dtype the
    extension cannot take, a DTypeError."""
    t = type(x)
    if t is np.ndarray:
        if x.dtype in _TAKEN:
            return x
        raise _dtype_error(x, name, integer)
    if x is None:
        raise ArgumentTypeError(f"'{name}' must be an array, not None")
    if isinstance(x, np.generic) and not integer:  # a NumPy scalar is a number (a label may be one)
        raise ArgumentTypeError(f"'{name}' must be an array, not a number ({type(x).__name__})")
    if isinstance(x, np.ndarray):
        if x.dtype not in _TAKEN:
            raise _dtype_error(x, name, integer)
    if hasattr(x, "__dlpack__"):
        if _framework(x) == "torch":
            if str(x.layout) != "torch.strided":
                raise ArgumentTypeError(f"'{name}' is a {x.layout} tensor; infoest takes dense arrays "
                                        f"(pass {name}.to_dense())")
            if x.device.type == "meta":
                raise ArgumentTypeError(f"'{name}' is on torch's meta device: it holds no values")
            if x.requires_grad:
                x = x.detach()
        if call.stream >= 0 and _device_of(x)[0] in _CUDA:
            return x.__dlpack__(stream=call.dl_stream)
        return x
    if hasattr(x, "__array_interface__") or hasattr(x, "__array__") or isinstance(x, (list, tuple)):
        try:
            a = np.asarray(x)
        except (ValueError, TypeError) as e:      # ragged lists, ...
            raise ArgumentTypeError(f"'{name}': cannot be made an array: {e}") from None
        if a.dtype.kind in "biu" and not integer:
            a = a.astype(np.float64)
        elif integer and a.size == 0 and a.dtype == np.float64:
            a = a.astype(np.int64)      # NumPy's [] is float64; no labels are of any type
        if a.dtype == np.float64 and isinstance(x, (list, tuple)) and call.ctx.backend != "cpu":
            a = a.astype(np.float32)    # what the GPU backends take
        elif a.dtype.kind not in "biuf":
            raise ArgumentTypeError(f"'{name}': cannot take an array of {a.dtype} "
                                    "(numbers only)")
        elif a.dtype not in _TAKEN:
            raise _dtype_error(a, name, integer)
        return np.ascontiguousarray(a)
    if isinstance(x, (int, float)):
        raise ArgumentTypeError(f"'{name}' must be an array, not the number {x!r}")
    raise ArgumentTypeError(f"'{name}' must be an array (NumPy, PyTorch, CuPy, JAX, anything with "
                    f"__dlpack__) or a list, not a {t.__name__}")


def _opt(call: _Call, x: Any, name: str, integer: bool = False) -> Any:
    """An optional array argument: None stays None, else as :func:`_arg`."""
    return None if x is None else _arg(call, x, name, integer)


_DT = {"float64": (2, 64), "float32": (2, 32), "float16": (2, 16), "bfloat16": (4, 16),
       "int64": (0, 64), "int32": (0, 32)}


def _empty(call: _Call, shape: Sequence[int], dtype: str) -> Any:
    """An uninitialised output in the call's framework and device."""
    fw, (dt, dev) = call.fw, call.device
    shape = tuple(int(s) for s in shape)
    if fw == "torch":
        import torch
        return torch.empty(shape, dtype=getattr(torch, dtype), device=call.like.device)
    if fw == "cupy" and dt in _CUDA:
        import cupy
        with cupy.cuda.Device(dev):
            return cupy.empty(shape, dtype=dtype)
    if dt in _CUDA:
        if not getattr(_ext, "has_cuda_streams", False):
            raise OptionError("this build of infoest has no CUDA backend")
        code, bits = _DT[dtype]
        return _ext.cuda_empty(list(shape), code, bits, dev)
    if dtype == "bfloat16":
        dtype = "float32"
    return np.empty(shape, _NP_DTYPE.get(dtype, dtype))


# NumPy dtypes made once: np.empty converts a name or a type on every call.
_NP_DTYPE = {name: np.dtype(name) for name in ("float64", "float32", "float16", "int64", "int32")}


def _out_arg(call: _Call, out: Any, name: str = "out") -> Any:
    """An output as the extension takes it (a capsule on the call's stream
    for CUDA framework arrays).  Something that is no writable array is a
    TypeError naming ``out``."""
    if isinstance(out, np.ndarray):
        if not out.flags.writeable:
            raise OptionError(f"{name} is a read-only array")
        if out.dtype not in _TAKEN:
            raise _dtype_error(out, name, False)
    elif not hasattr(out, "__dlpack__") or type(out).__module__.partition(".")[0] in ("jax", "jaxlib"):
        # (JAX arrays are immutable: a write into one would change a value
        # that JAX may share or still be computing)
        raise ArgumentTypeError(f"'{name}' must be a writable array of the input's framework (NumPy, "
                        f"PyTorch, CuPy), not a {type(out).__name__}")
    if call.stream >= 0 and call.fw in ("torch", "cupy") and _device_of(out)[0] in _CUDA:
        return out.__dlpack__(stream=call.dl_stream)
    return out


def _finish(call: _Call, out: Any) -> Any:
    """An output made by _empty, handed to the input's framework (JAX and
    other DLPack producers get theirs through from_dlpack, no copy)."""
    if call.fw in ("numpy", "torch", "cupy"):
        return out
    if call.fw == "jax":
        import jax.numpy as jnp
        return jnp.from_dlpack(out)
    mod = __import__(type(call.like).__module__.partition(".")[0])
    f = getattr(mod, "from_dlpack", None)
    return f(out) if f is not None else out
