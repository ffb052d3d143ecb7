// infoest._ext: the nanobind module under the `infoest` Python package.
//
// One thin function per C call of include/infoest.h.  Arrays arrive as
// nb::ndarray (anything with __dlpack__, the buffer protocol, or a DLPack
// capsule made by the Python layer with the framework's stream), are viewed
// as DLTensors with no copy, and the call runs with the GIL released under
// the context's mutex.  Option strings are parsed in Python (infoest/_api.py);
// here they are the C enums' integer values.  A failed call raises the
// Python exception class registered for its status (infoest/_errors.py)
// with ie_errmsg() as its text.
//
// Adding a C function: write a def like the ones below (view the arrays,
// fill the options, run()), then a Python wrapper with its docstring.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "infoest.h"
#ifdef IE_PY_HAVE_CUDA
#include <cuda_runtime_api.h>
#include "infoest_cuda.h"
#endif

namespace nb = nanobind;
using namespace nb::literals;

using In = nb::ndarray<nb::ro>;  // any dtype, device and layout, never converted
// Outputs are imported like inputs (nanobind's writable import asks
// __dlpack__ for a versioned capsule first, which NumPy < 2 answers with an
// exception: microseconds a call); infoest/_context.py refuses read-only
// NumPy outputs before they get here.
using Out = nb::ndarray<nb::ro>;
using OptIn = std::optional<In>;
using OptOut = std::optional<Out>;

namespace {

// ---- Errors -------------------------------------------------------------------

// Python classes by status code (set once by infoest/_errors.py), and the
// class for layout problems found here before the library sees the arrays.
nb::object g_errors[IE_STATUS_COUNT_];

// Where a failure is (ie_error_tensor/_index/_row/_column), read from the
// context with the message, before the GIL is taken back: the exception gets
// them as `tensor`, `index`, `row`, `column` (None where the library says -1
// or NULL).  Failures found here, before the library is called, name no place.
struct Place {
  int64_t index = -1, row = -1, column = -1;
  bool has_tensor = false;
  std::string tensor;
  static Place of(const ie_context *ctx) {
    Place p;
    p.index = ie_error_index(ctx);
    p.row = ie_error_row(ctx);
    p.column = ie_error_column(ctx);
    const char *t = ie_error_tensor(ctx);
    if (t) {
      p.has_tensor = true;
      p.tensor = t;
    }
    return p;
  }
};

nb::object position(int64_t v) { return v >= 0 ? nb::object(nb::int_(v)) : nb::object(nb::none()); }

// A DLPack dtype in words, as NumPy and PyTorch name it ("float64", "int16").
std::string dtype_words(int code, int bits, int lanes) {
  std::string name;
  switch (code) {
    case 0: name = "int" + std::to_string(bits); break;
    case 1: name = "uint" + std::to_string(bits); break;
    case 2: name = "float" + std::to_string(bits); break;
    case 4: name = "bfloat" + std::to_string(bits); break;
    case 5: name = "complex" + std::to_string(bits); break;
    case 6: name = bits == 8 ? std::string("bool") : "bool" + std::to_string(bits); break;
    default: name = "dtype code " + std::to_string(code) + " of " + std::to_string(bits) + " bits";
  }
  if (lanes != 1) name += " with " + std::to_string(lanes) + " lanes";
  return name;
}

void replace_all(std::string &s, const std::string &from, const std::string &to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// The library's message in the package's words: a dtype by its name, the
// package's keywords for the C options, and what to do about a dtype or a
// layout that is not taken (an argument that takes integers, as labels and
// count tables, is told to cast to int64).
std::string package_words(ie_status st, std::string text) {
  replace_all(text, "(or set skip_ami)", "(or pass no_ami=True)");
  if (st == IE_BAD_DTYPE) {
    bool integer_given = false;
    size_t at = text.find("dtype code ");
    int code = 0, bits = 0, lanes = 0, used = 0;
    if (at != std::string::npos &&
        std::sscanf(text.c_str() + at, "dtype code %d, %d bits, %d lanes%n", &code, &bits,
                    &lanes, &used) == 3 && used > 0) {
      text.replace(at, (size_t)used, "dtype " + dtype_words(code, bits, lanes));
      integer_given = code == 0 || code == 1 || code == 6;
    }
    // The tensor the message names, for the example cast.
    std::string name = "x";
    size_t t = text.find("tensor '");
    if (t == std::string::npos) t = text.find("'");
    else t += 7;
    if (t != std::string::npos) {
      size_t e = text.find('\'', t + 1);
      if (e != std::string::npos && e > t + 1) name = text.substr(t + 1, e - t - 1);
    }
    // An argument that takes integers (labels, count tables) is told to
    // cast to int64 when it takes no float, or when it was given integers.
    std::string expected;
    size_t x = text.find("expected one of: ");
    if (x != std::string::npos) expected = text.substr(x, text.find(';', x) - x);
    const bool takes_int = expected.find("int") != std::string::npos;
    const bool takes_float = expected.find("float") != std::string::npos;
    if (takes_int && (!takes_float || integer_given))
      text += "; cast it, e.g. " + name + ".astype(numpy.int64) (NumPy) or " + name +
              ".long() (PyTorch)";
    else
      text += "; cast it, e.g. " + name + ".astype(numpy.float32) (NumPy) or " + name +
              ".float() (PyTorch)";
  } else if (st == IE_BAD_SHAPE && (text.find("overlap or run backwards") != std::string::npos ||
                                    text.find("it must be positive") != std::string::npos)) {
    text += "; pass numpy.ascontiguousarray(x) (or x.contiguous())";
  }
  return text;
}

[[noreturn]] void raise(ie_status st, const std::string &msg, const Place &at = Place()) {
  PyObject *cls = (st > 0 && st < IE_STATUS_COUNT_ && g_errors[st].is_valid())
                      ? g_errors[st].ptr()
                      : PyExc_RuntimeError;
  std::string text = package_words(st, msg);
  nb::object e = nb::borrow(cls)(nb::str(text.c_str(), text.size()));
  if (cls != PyExc_RuntimeError) {
    e.attr("tensor") = at.has_tensor ? nb::object(nb::str(at.tensor.c_str())) : nb::none();
    e.attr("index") = position(at.index);
    e.attr("row") = position(at.row);
    e.attr("column") = position(at.column);
  }
  PyErr_SetObject(cls, e.ptr());
  throw nb::python_error();
}

// ---- Contexts -----------------------------------------------------------------

// An ie_context, plus a mutex: a context is not thread-safe, so an explicit
// Context shared by threads is used by one at a time instead of crashing.
struct Context {
  ie_context *ctx = nullptr;
  std::mutex mu;
  volatile int cancel_flag = 0;

  Context(const std::string &backend, int device, int threads) {
    int b = ie_backend_parse(backend.c_str());
    if (b < 0)
      raise(IE_INVALID_ARGUMENT, "Context: backend '" + backend +
                                     "' is not one of auto, cpu, cuda, opencl");
    if (device < 0) raise(IE_INVALID_ARGUMENT, "Context: device must be >= 0");
    ie_context_options o{};
    o.size = sizeof o;
    o.backend = (ie_backend)b;
    o.device = device;
    o.threads = threads;  // the library refuses < 0 and > 4096 with its message
    ie_status st;
    std::string msg;
    {
      nb::gil_scoped_release release;
      st = ie_context_create(&ctx, &o);
      if (st != IE_OK) {
        msg = ie_errmsg(ctx);
        ie_context_destroy(ctx);
        ctx = nullptr;
      }
    }
    if (st != IE_OK) raise(st, msg);
    ie_context_set_cancel_flag(ctx, &cancel_flag);
  }
  ~Context() { ie_context_destroy(ctx); }
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;
};

// Runs `f(ctx)` without the GIL, holding the context; raises on failure.
// `stream` is the CUDA stream handle to run on (the framework's current one,
// already handed to __dlpack__ by the caller); 0 or -1: the default stream.
template <class F>
void run(Context &c, intptr_t stream, F &&f) {
  ie_status st = IE_OK;
  std::string msg;
  Place at;
  {
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> hold(c.mu);
    __atomic_store_n(&c.cancel_flag, 0, __ATOMIC_SEQ_CST);
#ifdef IE_PY_HAVE_CUDA
    // Every call names its stream (the default one for host arrays), so a
    // framework stream set by an earlier call is never used after it is gone.
    if (ie_context_backend(c.ctx) == IE_BACKEND_CUDA)
      st = ie_cuda_set_stream(c.ctx, stream > 0 ? (cudaStream_t)stream : (cudaStream_t)0);
#else
    (void)stream;
#endif
    if (st == IE_OK) st = f(c.ctx);
    if (st != IE_OK) {
      msg = ie_errmsg(c.ctx);
      at = Place::of(c.ctx);
    }
  }
  if (st != IE_OK) raise(st, msg, at);
}

// ---- Arrays as DLTensors ---------------------------------------------------------

// A DLTensor over an nb::ndarray's memory, with its own shape and strides so
// that leading dimensions can be merged into rows ([batch, seq, V] as
// [batch*seq, V]) without touching the caller's array.
struct View {
  DLTensor t{};
  int64_t shape[8]{};
  int64_t strides[8]{};
  int given_ndim = 0;        // the array's own shape, before rows were merged
  int64_t given_shape[8]{};
  View() = default;
  View(const View &o) { *this = o; }
  View &operator=(const View &o) {  // t points into this copy, not into `o`
    std::memcpy(shape, o.shape, sizeof shape);
    std::memcpy(strides, o.strides, sizeof strides);
    given_ndim = o.given_ndim;
    std::memcpy(given_shape, o.given_shape, sizeof given_shape);
    t = o.t;
    t.shape = shape;
    t.strides = strides;
    return *this;
  }
};

template <class A>
View view(const A &a, const char *name, int rank) {
  View v;
  int nd = (int)a.ndim();
  if (nd > 8)
    raise(IE_BAD_SHAPE, std::string("'") + name + "' has " + std::to_string(nd) +
                            " dimensions; at most 8 are taken");
  int64_t acc = 1;
  v.given_ndim = nd;
  for (int i = nd - 1; i >= 0; --i) {
    v.given_shape[i] = v.shape[i] = (int64_t)a.shape(i);
    v.strides[i] = a.stride_ptr() ? a.stride(i) : acc;
    acc *= v.shape[i];
  }
  bool empty = false;
  for (int i = 0; i < nd; ++i) empty = empty || v.shape[i] == 0;
  if (empty) {  // no element: strides are free (NumPy 2 gives 0); compact ones
    int64_t c = 1;
    for (int i = nd - 1; i >= 0; --i) {
      v.strides[i] = c;
      c *= v.shape[i] > 0 ? v.shape[i] : 1;
    }
  }
  if (nd >= 1 && v.shape[nd - 1] > 1 && v.strides[nd - 1] != 1)
    raise(IE_BAD_SHAPE,
          std::string("'") + name + "': the last dimension is not contiguous (stride " +
              std::to_string(v.strides[nd - 1]) +
              " elements); pass a contiguous array: x.contiguous() (PyTorch), "
              "numpy.ascontiguousarray(x) (NumPy), cupy.ascontiguousarray(x) (CuPy)");
  if (nd >= 1 && v.shape[nd - 1] <= 1) v.strides[nd - 1] = 1;
  if (rank == 1 && nd == 0) {  // a 0-d output (or label) for one row: [1]; a 0-d
                               // matrix stays 0-d, for the library to refuse
    v.shape[0] = 1;
    v.strides[0] = 1;
    nd = 1;
  } else if (rank > 0 && nd > rank) {
    // Merge dimensions 0 .. merge-1 into one (rows): the ones of extent > 1
    // must be evenly strided, as in a reshape that needs no copy.
    int merge = nd - rank + 1;
    int64_t n = 1, row_stride = 0, prev_stride = 0;
    bool seen = false;
    for (int i = merge - 1; i >= 0; --i) {
      n *= v.shape[i];
      if (v.shape[i] == 1) continue;
      if (!seen) {
        row_stride = v.strides[i];
        seen = true;
      } else if (v.strides[i] != prev_stride) {
        raise(IE_BAD_SHAPE,
              std::string("'") + name +
                  "': its leading dimensions cannot be viewed as rows without a copy "
                  "(they are not evenly strided); pass a contiguous array: x.contiguous() "
                  "(PyTorch), numpy.ascontiguousarray(x) (NumPy)");
      }
      prev_stride = v.strides[i] * v.shape[i];
    }
    if (!seen) {  // one row (or none): any stride that the library accepts
      row_stride = 1;
      for (int i = merge; i < nd; ++i) row_stride *= v.shape[i] > 0 ? v.shape[i] : 1;
    }
    v.shape[0] = n;
    v.strides[0] = row_stride;
    for (int i = 1; i < rank; ++i) {
      v.shape[i] = v.shape[merge - 1 + i];
      v.strides[i] = v.strides[merge - 1 + i];
    }
    nd = rank;
  }
  v.t.data = a.data_handle();
  v.t.byte_offset = a.byte_offset();
  v.t.device.device_type = (DLDeviceType)a.device_type();
  v.t.device.device_id = a.device_id();
  v.t.ndim = nd;
  v.t.dtype.code = a.dtype().code;
  v.t.dtype.bits = a.dtype().bits;
  v.t.dtype.lanes = a.dtype().lanes;
  v.t.shape = v.shape;
  v.t.strides = v.strides;
  return v;
}

// The array's own shape in Python's words: "(2, 3, 5)".
std::string shape_words(const View &v, int drop_last = 0) {
  std::string s = "(";
  const int n = v.given_ndim - drop_last;
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(v.given_shape[i]);
  return s + (n == 1 ? ",)" : ")");
}

// p and q of a divergence: the same shape (the library sees rows, so
// [2, 3, V] and [6, V] would both be 6 rows there).
void same_shape(const char *fn, const View &p, const View &q) {
  bool same = p.given_ndim == q.given_ndim;
  for (int i = 0; same && i < p.given_ndim; ++i) same = p.given_shape[i] == q.given_shape[i];
  if (!same)
    raise(IE_BAD_SHAPE, std::string(fn) + ": 'p' has shape " + shape_words(p) +
                            " and 'q' has shape " + shape_words(q) + "; they must be the same");
}

// labels of an NLL: the logits' leading shape ([batch, seq] for [batch,
// seq, V]); for one row [V], a single label (shape () or (1,)).
void labels_shape(const View &logits, const View &labels) {
  if (logits.given_ndim < 1) return;  // the library says what is wrong with the logits
  const int lead = logits.given_ndim - 1;
  bool ok = labels.given_ndim == lead;
  for (int i = 0; ok && i < lead; ++i) ok = labels.given_shape[i] == logits.given_shape[i];
  if (!ok && lead == 0) ok = labels.given_ndim == 1 && labels.given_shape[0] == 1;
  if (!ok)
    raise(IE_BAD_SHAPE, "nll: 'labels' has shape " + shape_words(labels) + " and 'logits' " +
                            shape_words(logits) + "; labels must have the logits' shape less "
                            "the last dimension, " + shape_words(logits, 1));
}

// Views of optional arrays: `p` is NULL when the array is absent.
template <class A>
struct OptView {
  View v;
  DLTensor *p = nullptr;
  OptView(const std::optional<A> &a, const char *name, int rank) {
    if (a) {
      v = view(*a, name, rank);
      p = &v.t;
    }
  }
  // View's DLTensor points into itself: never copy.
  OptView(const OptView &) = delete;
};

// The summary of a call made with reduce = 0 (reduction "none") is all
// zeros: the library was not asked for it (so that zero kept rows is not an
// error there); see reduced() for sums over zero kept rows.
nb::tuple summary(const ie_summary &s) {
  return nb::make_tuple(s.rows, s.rows_kept, s.weight_sum, s.sum, s.mean, s.min, s.max);
}

nb::tuple spectral(const ie_spectral_result &r) {
  return nb::make_tuple(r.value, r.max_clamp, (int)r.path, r.n, r.positive);
}

nb::tuple knn_result(const ie_knn_result &r) {
  return nb::make_tuple(r.estimate, r.n, r.m, r.d, r.k);
}

// ---- Partial states ------------------------------------------------------------------

// An ie_partial owned by Python (infoest.Partial wraps it), with a mutex: the
// calls that fill or read it run without the GIL, so two threads handed the
// same state take turns instead of racing.
struct Partial {
  ie_partial p;
  std::mutex mu;
  explicit Partial(int64_t first_row) { ie_partial_init(&p, first_row); }
  Partial(const Partial &) = delete;
  Partial &operator=(const Partial &) = delete;
};

// The state's bytes (plain data of fixed size, host order: for processes of
// the same build), and a state made from them.  The library checks the
// contents when the state is next used.
nb::bytes partial_bytes(Partial &s) {
  ie_partial copy;
  {
    std::lock_guard<std::mutex> hold(s.mu);
    copy = s.p;
  }
  return nb::bytes(reinterpret_cast<const char *>(&copy), sizeof copy);
}

Partial *partial_from_bytes(nb::bytes b) {
  if (b.size() != sizeof(ie_partial))
    raise(IE_INVALID_ARGUMENT, "Partial.from_bytes: " + std::to_string(b.size()) +
                                   " bytes; a partial state of this build is " +
                                   std::to_string(sizeof(ie_partial)) + " bytes");
  auto *s = new Partial(0);
  std::memcpy(&s->p, b.c_str(), sizeof s->p);
  return s;
}

void partial_add(Context &c, Partial &s, const In &values, const OptIn &weights) {
  View v = view(values, "values", 0);
  OptView<In> w(weights, "weights", 0);
  run(c, -1, [&](ie_context *ctx) {
    std::lock_guard<std::mutex> hold(s.mu);
    return ie_partial_add(ctx, &s.p, &v.t, w.p);
  });
}

// a <- a followed by b (a and b may be the same object: then the library
// refuses it unless it covers no rows).
void partial_merge(Context &c, Partial &a, Partial &b) {
  run(c, -1, [&](ie_context *ctx) {
    if (&a == &b) {
      std::lock_guard<std::mutex> hold(a.mu);
      ie_partial copy = b.p;
      return ie_partial_merge(ctx, &a.p, &copy);
    }
    std::scoped_lock hold(a.mu, b.mu);
    return ie_partial_merge(ctx, &a.p, &b.p);
  });
}

nb::tuple partial_finalize(Context &c, Partial &s) {
  ie_summary sm{};
  run(c, -1, [&](ie_context *ctx) {
    std::lock_guard<std::mutex> hold(s.mu);
    return ie_partial_finalize(ctx, &s.p, &sm);
  });
  return summary(sm);
}

// A call's `partial` option (None: nullptr): `call(state)` runs the library
// call with the state locked.  Inside run(), so without the GIL.
template <class F>
ie_status with_partial(Partial *s, F &&call) {
  if (!s) return call(nullptr);
  std::lock_guard<std::mutex> hold(s->mu);
  return call(&s->p);
}

// A row call (`f(state, summary)`, with the state locked) and the summary
// its reduction asks for.  `reduce`: 0 none (no summary asked: zero kept
// rows is no error), 1 mean (the call's summary: a mean over zero kept rows
// is IE_EMPTY_REDUCTION), 2 sum: the rows go into a partial state (the
// caller's, else one of this call's), finalized here into the same bits as
// the call's summary; a sum over zero kept rows is 0.0, not an error.
template <class F>
ie_status reduced(ie_context *ctx, int reduce, Partial *partial, int64_t first_row,
                  ie_summary *s, F &&f) {
  return with_partial(partial, [&](ie_partial *pt) {
    if (reduce != 2) return f(pt, reduce == 1 ? s : nullptr);
    ie_partial local;
    if (!pt) {
      ie_partial_init(&local, first_row);
      pt = &local;
    }
    ie_status st = f(pt, nullptr);
    if (st != IE_OK) return st;
    if (pt->rows_kept == 0) {
      *s = ie_summary{};
      s->rows = pt->row_end - pt->row_begin;
      s->sum = 0.0;
      s->mean = s->min = s->max = NAN;
      return IE_OK;
    }
    return ie_partial_finalize(ctx, pt, s);
  });
}

// ---- One distribution a row ------------------------------------------------------

// which: 0 log-softmax, 1 softmax, 2 logsumexp.
void softmax_family(Context &c, const In &logits, const Out &out, double temperature,
                    int which, intptr_t stream) {
  View x = view(logits, "logits", 2);
  View o = view(out, "out", which == 2 ? 1 : 2);
  ie_softmax_options opt{};
  opt.size = sizeof opt;
  opt.temperature = temperature;
  run(c, stream, [&](ie_context *ctx) {
    if (which == 0) return ie_log_softmax(ctx, &x.t, &o.t, &opt);
    if (which == 1) return ie_softmax(ctx, &x.t, &o.t, &opt);
    return ie_logsumexp(ctx, &x.t, &o.t, &opt);
  });
}

nb::tuple entropy(Context &c, const In &x, const OptOut &per_row, int input, int kind,
                  double alpha, double temperature, const OptIn &row_weights,
                  int reduce, Partial *partial, int64_t first_row, intptr_t stream) {
  View xv = view(x, "x", 2);
  OptView<Out> pr(per_row, "out", 1);
  OptView<In> w(row_weights, "row_weights", 1);
  ie_entropy_options opt{};
  opt.size = sizeof opt;
  opt.input = (ie_input_kind)input;
  opt.kind = (ie_entropy_kind)kind;
  opt.alpha = alpha;
  opt.temperature = temperature;
  opt.row_weights = w.p;
  opt.first_row = first_row;
  ie_summary s{};
  run(c, stream, [&](ie_context *ctx) {
    return reduced(ctx, reduce, partial, first_row, &s, [&](ie_partial *pt, ie_summary *sm) {
      opt.partial = pt;
      return ie_entropy(ctx, &xv.t, pr.p, &opt, sm);
    });
  });
  return summary(s);
}

nb::tuple nll(Context &c, const In &logits, const In &labels, const OptOut &per_row,
              double temperature, std::optional<int64_t> ignore_index,
              const OptIn &row_weights, int reduce, Partial *partial, int64_t first_row,
              intptr_t stream) {
  View x = view(logits, "logits", 2);
  View y = view(labels, "labels", 1);
  labels_shape(x, y);
  OptView<Out> pr(per_row, "out", 1);
  OptView<In> w(row_weights, "row_weights", 1);
  ie_nll_options opt{};
  opt.size = sizeof opt;
  opt.temperature = temperature;
  opt.has_ignore_index = ignore_index.has_value();
  opt.ignore_index = ignore_index.value_or(0);
  opt.row_weights = w.p;
  opt.first_row = first_row;
  ie_summary s{};
  run(c, stream, [&](ie_context *ctx) {
    return reduced(ctx, reduce, partial, first_row, &s, [&](ie_partial *pt, ie_summary *sm) {
      opt.partial = pt;
      return ie_nll(ctx, &x.t, &y.t, pr.p, &opt, sm);
    });
  });
  return summary(s);
}

// ---- Two distributions a row ------------------------------------------------------

nb::tuple divergence(Context &c, int kind, const In &p, const In &q, const OptOut &per_row,
                     int p_input, int q_input, double temperature, double alpha, double beta,
                     const OptIn &row_weights, int reduce, Partial *partial,
                     int64_t first_row, intptr_t stream) {
  View pv = view(p, "p", 2), qv = view(q, "q", 2);
  same_shape("divergence", pv, qv);
  OptView<Out> pr(per_row, "out", 1);
  OptView<In> w(row_weights, "row_weights", 1);
  ie_divergence_options opt{};
  opt.size = sizeof opt;
  opt.p_input = (ie_input_kind)p_input;
  opt.q_input = (ie_input_kind)q_input;
  opt.temperature = temperature;
  opt.alpha = alpha;
  opt.beta = beta;
  opt.row_weights = w.p;
  opt.first_row = first_row;
  ie_summary s{};
  run(c, stream, [&](ie_context *ctx) {
    return reduced(ctx, reduce, partial, first_row, &s, [&](ie_partial *pt, ie_summary *sm) {
      opt.partial = pt;
      return ie_divergence(ctx, (ie_divergence_kind)kind, &pv.t, &qv.t, pr.p, &opt, sm);
    });
  });
  return summary(s);
}

// For bench/python_overhead.py, not the package's interface: the seconds a
// call of `reps` calls of ie_divergence made here, in C, back to back, on the
// arrays and context given (a summary when `per_row` is None, as reduction
// "mean"; the per-row values and no summary otherwise, as "none"): the C call
// timed in the process, on the memory and with the threads, that the Python
// calls it is compared with use.  `thread_clock`: the calling thread's CPU
// time (CLOCK_THREAD_CPUTIME_ID, what time.thread_time() reads) instead of
// the steady clock: on a loaded machine it leaves out the time the thread
// waits for a core, when the context runs on that thread alone (threads=1).
double bench_divergence(Context &c, int kind, const In &p, const In &q, const OptOut &per_row,
                        int64_t reps, bool thread_clock) {
  View pv = view(p, "p", 2), qv = view(q, "q", 2);
  OptView<Out> pr(per_row, "out", 1);
  ie_divergence_options opt{};
  opt.size = sizeof opt;
  opt.temperature = 1.0;
  double seconds = 0.0;
#ifdef CLOCK_THREAD_CPUTIME_ID
  auto now = [thread_clock]() {
    if (!thread_clock)
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
  };
#else
  if (thread_clock) raise(IE_UNSUPPORTED, "_bench_divergence: no thread CPU clock here");
  auto now = []() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
#endif
  run(c, -1, [&](ie_context *ctx) {
    ie_summary s{};
    ie_status st = IE_OK;
    double t0 = now();
    for (int64_t i = 0; i < reps && st == IE_OK; ++i)
      st = ie_divergence(ctx, (ie_divergence_kind)kind, &pv.t, &qv.t, pr.p, &opt,
                         pr.p ? nullptr : &s);
    seconds = (now() - t0) / (double)(reps > 0 ? reps : 1);
    return st;
  });
  return seconds;
}

// ---- The common call, in few steps ----------------------------------------------

// A host array read through the buffer protocol (PEP 3118): for a NumPy
// array, a fraction of the cost of nanobind's DLPack import (__dlpack__, a
// capsule, its deleter, a handle).  It answers what view() asks of an
// nb::ndarray.  `taken` is false where the format is not one of the plain
// little-endian numbers (or strides are not whole elements): the caller then
// imports the array through DLPack as every other call does, which gives the
// usual message for what it cannot take.
struct HostBuffer {
  Py_buffer b{};
  bool taken = false;
  int64_t strides_[8]{};
  nb::dlpack::dtype dt{};

  std::string format;  // the buffer's format, kept for a message when not taken

  HostBuffer(nb::handle o, bool writable) {
    if (PyObject_GetBuffer(o.ptr(), &b, writable ? PyBUF_RECORDS : PyBUF_RECORDS_RO) != 0) {
      PyErr_Clear();
      return;
    }
    format = b.format ? b.format : "B";
    taken = b.ndim <= 8 && b.itemsize > 0 && read_format();
    for (int i = 0; taken && i < b.ndim; ++i) {
      taken = b.strides[i] % b.itemsize == 0;
      strides_[i] = b.strides[i] / b.itemsize;
    }
    if (!taken) {
      PyBuffer_Release(&b);
      b = Py_buffer{};
    }
  }
  ~HostBuffer() {
    if (taken) PyBuffer_Release(&b);
  }
  HostBuffer(const HostBuffer &) = delete;
  HostBuffer &operator=(const HostBuffer &) = delete;

  bool read_format() {
    const char *f = b.format ? b.format : "B";
    if (*f == '@' || *f == '=' || *f == '<') ++f;  // native or little-endian (x86, arm64)
    if (f[0] == 0 || f[1] != 0) return false;
    uint8_t bits = (uint8_t)(8 * b.itemsize);
    switch (*f) {
      case 'e': case 'f': case 'd':
        dt = {(uint8_t)nb::dlpack::dtype_code::Float, bits, 1}; return true;
      case 'b': case 'h': case 'i': case 'l': case 'q':
        dt = {(uint8_t)nb::dlpack::dtype_code::Int, bits, 1}; return true;
      case 'B': case 'H': case 'I': case 'L': case 'Q':
        dt = {(uint8_t)nb::dlpack::dtype_code::UInt, bits, 1}; return true;
      case '?':
        dt = {(uint8_t)nb::dlpack::dtype_code::Bool, bits, 1}; return true;
      default:
        return false;
    }
  }

  // What view() reads of an array.
  size_t ndim() const { return (size_t)b.ndim; }
  int64_t shape(size_t i) const { return (int64_t)b.shape[i]; }
  const int64_t *stride_ptr() const { return strides_; }
  int64_t stride(size_t i) const { return strides_[i]; }
  void *data_handle() const { return b.buf; }
  uint64_t byte_offset() const { return 0; }
  int device_type() const { return (int)nb::device::cpu::value; }
  int device_id() const { return 0; }
  nb::dlpack::dtype dtype() const { return dt; }
};

// A host array as the library takes it: read through the buffer protocol
// when it can (the buffer is held until the call is over), imported through
// nanobind's DLPack otherwise.
struct HostArray {
  std::optional<HostBuffer> buf;
  std::optional<In> nd;
  View v;
  HostArray(nb::handle o, const char *name, int rank, bool writable) {
    buf.emplace(o, writable);
    if (buf->taken) {
      v = view(*buf, name, rank);
      return;
    }
    std::string format = std::move(buf->format);
    buf.reset();
    if (writable && PyObject_CheckBuffer(o.ptr())) {
      // A read-only array given as the output (NumPy refuses a writable buffer).
      Py_buffer probe;
      if (PyObject_GetBuffer(o.ptr(), &probe, PyBUF_RECORDS_RO) == 0) {
        bool readonly = probe.readonly;
        PyBuffer_Release(&probe);
        if (readonly) raise(IE_INVALID_ARGUMENT, std::string(name) + " is a read-only array");
      } else {
        PyErr_Clear();
      }
    }
    try {
      nd = nb::cast<In>(o);
    } catch (const std::exception &) {
      PyErr_Clear();
      std::string dtype;
      try {
        if (nb::hasattr(o, "dtype")) {
          nb::object d = o.attr("dtype");
          dtype = nb::str(nb::handle(d)).c_str();
        }
      } catch (const std::exception &) {
        PyErr_Clear();
      }
      const bool swapped = !format.empty() && (format[0] == '>' || format[0] == '!');
      std::string what = !dtype.empty() ? " has dtype " + dtype
                         : !format.empty() ? " has elements of buffer format '" + format + "'"
                                           : " has elements";
      raise(IE_BAD_DTYPE, std::string("'") + name + "'" + what +
                              (swapped ? " (big-endian), not in the machine's byte order"
                                       : ", which the library does not take"));
    }
    v = view(*nd, name, rank);
  }
  HostArray(const HostArray &) = delete;
  HostArray &operator=(const HostArray &) = delete;
};

// infoest.divergence for host arrays with the default options save `kind`,
// `temperature`, `reduction` and `out` (infoest/_api.py takes this path for
// NumPy arrays): `reduction` 0 mean, 1 sum (a float returned), 2 none (the
// per-row values in `out`, None returned).  `out` may be None with mean and sum.
nb::object divergence_host(Context &c, int kind, nb::handle p, nb::handle q, nb::handle out,
                           double temperature, int reduction) {
  HostArray pa(p, "p", 2, false), qa(q, "q", 2, false);
  same_shape("divergence", pa.v, qa.v);
  std::optional<HostArray> oa;
  if (!out.is_none()) oa.emplace(out, "out", 1, true);
  ie_divergence_options opt{};
  opt.size = sizeof opt;
  opt.temperature = temperature;
  ie_summary s{};
  const int reduce = reduction == 0 ? 1 : reduction == 1 ? 2 : 0;  // as reduced() takes it
  run(c, -1, [&](ie_context *ctx) {
    return reduced(ctx, reduce, nullptr, 0, &s, [&](ie_partial *pt, ie_summary *sm) {
      opt.partial = pt;
      return ie_divergence(ctx, (ie_divergence_kind)kind, &pa.v.t, &qa.v.t,
                           oa ? &oa->v.t : nullptr, &opt, sm);
    });
  });
  if (reduce == 0) return nb::none();
  return nb::float_(reduction == 0 ? s.mean : s.sum);
}

// ---- Sinkhorn ----------------------------------------------------------------------

// The number of problems: the largest leading (batch) dimension among the
// inputs, which is what the library's B is when the call succeeds, and an
// upper bound of it otherwise (so `results` is never too short).
int64_t batch_of(const View &v, int unbatched_rank) {
  return v.t.ndim > unbatched_rank ? v.shape[0] : 1;
}

nb::list sinkhorn(Context &c, const In &a, const In &b, const OptIn &cost, const OptIn &x,
                  const OptIn &y, double epsilon, int64_t max_iter, double tol,
                  int64_t check_every, int metric, bool eps_scaling, double eps_start,
                  double eps_factor, int64_t eps_stage_iter, double rho, bool divergence,
                  const OptIn &cost_xx, const OptIn &cost_yy, size_t memory_budget,
                  bool single_precision, const OptOut &f, const OptOut &g, const OptOut &plan,
                  intptr_t stream) {
  View av = view(a, "a", 0), bv = view(b, "b", 0);
  OptView<In> cv(cost, "cost", 0), xv(x, "x", 0), yv(y, "y", 0);
  OptView<In> cxx(cost_xx, "cost_xx", 0), cyy(cost_yy, "cost_yy", 0);
  OptView<Out> fv(f, "f", 0), gv(g, "g", 0), pv(plan, "plan", 0);
  int64_t B = std::max(batch_of(av, 1), batch_of(bv, 1));
  if (cv.p) B = std::max(B, batch_of(cv.v, 2));
  if (xv.p) B = std::max(B, batch_of(xv.v, 2));
  if (yv.p) B = std::max(B, batch_of(yv.v, 2));
  if (B < 1) B = 1;
  ie_sinkhorn_options o{};
  o.size = sizeof o;
  o.epsilon = epsilon;
  o.max_iter = max_iter;
  o.tol = tol;
  o.check_every = check_every;
  o.metric = (ie_cost_metric)metric;
  o.eps_scaling = eps_scaling;
  o.eps_start = eps_start;
  o.eps_factor = eps_factor;
  o.eps_stage_iter = eps_stage_iter;
  o.rho = rho;
  o.divergence = divergence;
  o.cost_xx = cxx.p;
  o.cost_yy = cyy.p;
  o.memory_budget = memory_budget;
  o.single_precision = single_precision;
  std::vector<ie_sinkhorn_result> res((size_t)B);
  run(c, stream, [&](ie_context *ctx) {
    return ie_sinkhorn(ctx, &av.t, &bv.t, cv.p, xv.p, yv.p, &o, res.data(), fv.p, gv.p, pv.p);
  });
  nb::list out;
  for (const ie_sinkhorn_result &r : res)
    out.append(nb::make_tuple(r.transport_cost, r.objective, r.divergence, r.marginal_error,
                              r.iterations, (bool)r.converged));
  return out;
}

// ---- k nearest neighbours -----------------------------------------------------------

void knn(Context &c, const In &queries, const In &refs, int64_t k, const OptOut &indices,
         const OptOut &distances, int metric, bool exclude_self, intptr_t stream) {
  View qv = view(queries, "queries", 0), rv = view(refs, "refs", 0);
  OptView<Out> iv(indices, "indices", 0), dv(distances, "distances", 0);
  ie_knn_options o{};
  o.size = sizeof o;
  o.metric = (ie_knn_metric)metric;
  o.exclude_self = exclude_self;
  run(c, stream, [&](ie_context *ctx) { return ie_knn(ctx, &qv.t, &rv.t, k, iv.p, dv.p, &o); });
}

ie_knn_estimator_options knn_options(int64_t k, std::optional<double> alpha, int nnr_kind,
                                     double beta, double jitter, uint64_t seed) {
  ie_knn_estimator_options o{};
  o.size = sizeof o;
  o.k = k;
  o.has_alpha = alpha.has_value();
  o.alpha = alpha.value_or(0.0);
  o.nnr_kind = (ie_divergence_kind)nnr_kind;
  o.beta = beta;
  o.jitter = jitter;
  o.seed = seed;
  return o;
}

nb::tuple knn_entropy(Context &c, const In &x, int64_t k, std::optional<double> alpha,
                      double jitter, uint64_t seed, intptr_t stream) {
  View xv = view(x, "x", 0);
  ie_knn_estimator_options o = knn_options(k, alpha, 0, 0.0, jitter, seed);
  ie_knn_result r{};
  run(c, stream, [&](ie_context *ctx) { return ie_knn_entropy(ctx, &xv.t, &o, &r); });
  return knn_result(r);
}

nb::tuple knn_divergence(Context &c, int method, const In &x, const In &y, int64_t k,
                         std::optional<double> alpha, int nnr_kind, double beta, double jitter,
                         uint64_t seed, intptr_t stream) {
  View xv = view(x, "x", 0), yv = view(y, "y", 0);
  ie_knn_estimator_options o = knn_options(k, alpha, nnr_kind, beta, jitter, seed);
  ie_knn_result r{};
  run(c, stream, [&](ie_context *ctx) {
    return ie_knn_divergence(ctx, (ie_knn_divergence_method)method, &xv.t, &yv.t, &o, &r);
  });
  return knn_result(r);
}

nb::tuple knn_mutual_information(Context &c, const In &x, const In &y, int64_t k,
                                 double jitter, uint64_t seed, intptr_t stream) {
  View xv = view(x, "x", 0), yv = view(y, "y", 0);
  ie_knn_estimator_options o = knn_options(k, std::nullopt, 0, 0.0, jitter, seed);
  ie_knn_result r{};
  run(c, stream, [&](ie_context *ctx) {
    return ie_knn_mutual_information(ctx, &xv.t, &yv.t, &o, &r);
  });
  return knn_result(r);
}

// ---- Spectral measures ----------------------------------------------------------------

ie_vendi_options vendi_options(int kernel, double sigma, std::optional<double> q, int path,
                               bool single_precision) {
  ie_vendi_options o{};
  o.size = sizeof o;
  o.kernel = (ie_kernel)kernel;
  o.sigma = sigma;
  o.has_q = q.has_value();
  o.q = q.value_or(1.0);
  o.path = (ie_spectral_path)path;
  o.single_precision = single_precision;
  return o;
}

nb::tuple vendi(Context &c, const In &x, int kernel, double sigma, std::optional<double> q,
                int path, bool single_precision, intptr_t stream) {
  View xv = view(x, "x", 0);
  ie_vendi_options o = vendi_options(kernel, sigma, q, path, single_precision);
  ie_spectral_result r{};
  run(c, stream, [&](ie_context *ctx) { return ie_vendi(ctx, &xv.t, &o, &r); });
  return spectral(r);
}

nb::tuple vendi_batch(Context &c, const In &x, const Out &scores, int kernel, double sigma,
                      std::optional<double> q, int path, bool single_precision,
                      intptr_t stream) {
  View xv = view(x, "x", 0), sv = view(scores, "out", 1);
  ie_vendi_options o = vendi_options(kernel, sigma, q, path, single_precision);
  ie_spectral_result r{};
  run(c, stream, [&](ie_context *ctx) { return ie_vendi_batch(ctx, &xv.t, &sv.t, &o, &r); });
  return spectral(r);
}

ie_matrix_entropy_options matrix_options(int kernel, double sigma,
                                         std::optional<int> kernel_y, double sigma_y,
                                         std::optional<double> alpha, int path,
                                         bool single_precision) {
  ie_matrix_entropy_options o{};
  o.size = sizeof o;
  o.kernel = (ie_kernel)kernel;
  o.sigma = sigma;
  o.has_alpha = alpha.has_value();
  o.alpha = alpha.value_or(1.0);
  o.separate_y = kernel_y.has_value();
  o.kernel_y = (ie_kernel)kernel_y.value_or(0);
  o.sigma_y = sigma_y;
  o.path = (ie_spectral_path)path;
  o.single_precision = single_precision;
  return o;
}

// which: 0 entropy of x, 1 joint entropy of (x, y), 2 mutual information.
nb::tuple matrix_measure(Context &c, int which, const In &x, const std::optional<In> &y,
                         int kernel, double sigma, std::optional<int> kernel_y,
                         double sigma_y, std::optional<double> alpha, int path,
                         bool single_precision, intptr_t stream) {
  View xv = view(x, "x", 0);
  OptView<In> yv(y, "y", 0);
  if (which != 0 && !yv.p) raise(IE_INVALID_ARGUMENT, "y is required");
  ie_matrix_entropy_options o =
      matrix_options(kernel, sigma, kernel_y, sigma_y, alpha, path, single_precision);
  ie_spectral_result r{};
  run(c, stream, [&](ie_context *ctx) {
    if (which == 0) return ie_matrix_entropy(ctx, &xv.t, &o, &r);
    if (which == 1) return ie_matrix_joint_entropy(ctx, &xv.t, yv.p, &o, &r);
    return ie_matrix_mutual_information(ctx, &xv.t, yv.p, &o, &r);
  });
  return spectral(r);
}

// ---- MAUVE ----------------------------------------------------------------------------

nb::tuple mauve_scores(const ie_mauve_scores &s) {
  return nb::make_tuple(s.mauve, s.frontier_integral, s.mauve_star, s.frontier_integral_star,
                        s.mauve_std, s.frontier_integral_std, s.mauve_star_std,
                        s.frontier_integral_star_std);
}

using HostF64 = nb::ndarray<double, nb::c_contig, nb::device::cpu>;
using HostI64 = nb::ndarray<int64_t, nb::c_contig, nb::device::cpu>;

ie_mauve_options mauve_options(int64_t clusters, double explained_variance, int64_t redo,
                               int64_t max_iter, uint64_t seed, int64_t seeds, int64_t grid,
                               double scaling) {
  ie_mauve_options o{};
  o.size = sizeof o;
  o.clusters = clusters;
  o.explained_variance = explained_variance;
  o.redo = redo;
  o.max_iter = max_iter;
  o.seed = seed;
  o.seeds = seeds;
  o.grid = grid;
  o.scaling = scaling;
  return o;
}

// `curve` (host, 2·(grid + 2) doubles) receives the frontier.
nb::tuple mauve_histograms(Context &c, const In &p_counts, const In &q_counts, int64_t grid,
                           double scaling, HostF64 curve) {
  View pv = view(p_counts, "p_counts", 0), qv = view(q_counts, "q_counts", 0);
  ie_mauve_options o = mauve_options(0, 0.0, 0, 0, 0, 0, grid, scaling);
  ie_mauve_scores s{};
  double *cv = curve.data();
  run(c, -1, [&](ie_context *ctx) {
    return ie_mauve_histograms(ctx, &pv.t, &qv.t, &o, &s, cv);
  });
  return mauve_scores(s);
}

// The scores of each Q set, and the clustering; `counts` (host int64
// [(1 + sets) · k]) and `curves` (host double [sets · (grid + 2) · 2]) are
// filled for the first seed.
nb::tuple mauve(Context &c, const In &p, const std::vector<In> &q, int64_t clusters,
                double explained_variance, int64_t redo, int64_t max_iter, uint64_t seed,
                int64_t seeds, int64_t grid, double scaling, HostI64 counts, HostF64 curves,
                intptr_t stream) {
  View pv = view(p, "p", 0);
  std::vector<View> qv(q.size());
  std::vector<const DLTensor *> qp(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    qv[i] = view(q[i], "q", 0);
    qp[i] = &qv[i].t;
  }
  ie_mauve_options o =
      mauve_options(clusters, explained_variance, redo, max_iter, seed, seeds, grid, scaling);
  std::vector<ie_mauve_scores> s(q.size() ? q.size() : 1);
  ie_mauve_info info{};
  int64_t *cp = counts.data();
  double *vp = curves.data();
  run(c, stream, [&](ie_context *ctx) {
    return ie_mauve(ctx, &pv.t, qp.data(), (int64_t)q.size(), &o, s.data(), &info, cp, vp);
  });
  nb::list scores;
  for (size_t i = 0; i < q.size(); ++i) scores.append(mauve_scores(s[i]));
  return nb::make_tuple(scores, nb::make_tuple(info.clusters, info.pca_dims, info.explained,
                                               info.n_p, info.d, info.inertia, info.iterations));
}

// ---- Discrete information ------------------------------------------------------------

void count_pairs(Context &c, const In &x, const In &y, const Out &table,
                 std::optional<int64_t> ignore_label, intptr_t stream) {
  View xv = view(x, "x", 0), yv = view(y, "y", 0), tv = view(table, "table", 0);
  ie_count_options o{};
  o.size = sizeof o;
  o.has_ignore_label = ignore_label.has_value();
  o.ignore_label = ignore_label.value_or(0);
  run(c, stream, [&](ie_context *ctx) { return ie_count_pairs(ctx, &xv.t, &yv.t, &tv.t, &o); });
}

nb::tuple pmi(Context &c, const In &counts, const OptOut &out, int kind, double min_count,
              double smooth, const OptIn &x_counts, const OptIn &y_counts, double total,
              intptr_t stream) {
  View cv = view(counts, "counts", 0);
  OptView<Out> ov(out, "out", 0);
  OptView<In> xc(x_counts, "x_counts", 0), yc(y_counts, "y_counts", 0);
  ie_pmi_options o{};
  o.size = sizeof o;
  o.kind = (ie_pmi_kind)kind;
  o.min_count = min_count;
  o.smooth = smooth;
  o.x_counts = xc.p;
  o.y_counts = yc.p;
  o.total = total;
  ie_pmi_result r{};
  run(c, stream, [&](ie_context *ctx) { return ie_pmi(ctx, &cv.t, ov.p, &o, &r); });
  return nb::make_tuple(r.n, r.rows, r.cols, r.min, r.max, r.min_npmi, r.max_npmi);
}

nb::list table_mi(Context &c, const In &counts, int average, bool skip_ami, intptr_t stream) {
  View cv = view(counts, "counts", 0);
  int64_t B = cv.t.ndim == 3 ? std::max<int64_t>(cv.shape[0], 1) : 1;
  ie_table_mi_options o{};
  o.size = sizeof o;
  o.average = (ie_average)average;
  o.skip_ami = skip_ami;
  std::vector<ie_table_mi_result> res((size_t)B);
  run(c, stream, [&](ie_context *ctx) { return ie_table_mi(ctx, &cv.t, &o, res.data()); });
  nb::list l;
  for (const ie_table_mi_result &r : res)
    l.append(nb::make_tuple(r.mi, r.nmi, r.ami, r.emi, r.hx, r.hy, r.n));
  return l;
}

nb::tuple pid_result(const ie_pid_result &r) {
  return nb::make_tuple(r.redundancy, r.unique1, r.unique2, r.synergy, r.mi1, r.mi2, r.mi12,
                        r.iterations);
}

nb::list pid(Context &c, const In &joint, int measure, intptr_t stream) {
  View jv = view(joint, "joint", 0);
  int64_t B = jv.t.ndim == 4 ? std::max<int64_t>(jv.shape[0], 1) : 1;
  ie_pid_options o{};
  o.size = sizeof o;
  o.measure = (ie_pid_measure)measure;
  std::vector<ie_pid_result> res((size_t)B);
  run(c, stream, [&](ie_context *ctx) { return ie_pid(ctx, &jv.t, &o, res.data(), nullptr); });
  nb::list l;
  for (const ie_pid_result &r : res) l.append(pid_result(r));
  return l;
}

nb::tuple pid_gaussian(Context &c, const In &cov, int64_t a, int64_t b, int64_t t,
                       int64_t samples, intptr_t stream) {
  View cv = view(cov, "cov", 0);
  const int64_t sizes[3] = {a, b, t};
  ie_pid_gaussian_options o{};
  o.size = sizeof o;
  o.samples = samples;
  ie_pid_result r{};
  run(c, stream, [&](ie_context *ctx) { return ie_pid_gaussian(ctx, &cv.t, sizes, &o, &r); });
  return pid_result(r);
}

void pid_pointwise(Context &c, const In &i1, const In &i2, const In &i12, const OptOut &r,
                   const OptOut &u1, const OptOut &u2, const OptOut &s, intptr_t stream) {
  View a = view(i1, "i1", 0), b = view(i2, "i2", 0), ab = view(i12, "i12", 0);
  OptView<Out> rv(r, "r", 0), u1v(u1, "u1", 0), u2v(u2, "u2", 0), sv(s, "s", 0);
  run(c, stream, [&](ie_context *ctx) {
    return ie_pid_pointwise(ctx, &a.t, &b.t, &ab.t, rv.p, u1v.p, u2v.p, sv.p);
  });
}

// ---- Device memory for frameworks that cannot allocate a writable output ----------

#ifdef IE_PY_HAVE_CUDA
// An uninitialised C-contiguous CUDA array of `shape` and dtype (code, bits)
// on `device`, freed (cudaFree) when the last reference goes: the output of
// a framework that cannot allocate a writable CUDA array itself (JAX); the
// Python layer hands it to that framework through DLPack once written.
nb::ndarray<nb::device::cuda> cuda_empty(const std::vector<size_t> &shape, int code, int bits,
                                         int device) {
  size_t nbytes = (size_t)bits / 8;
  for (size_t s : shape) nbytes *= s;
  int prev = 0;
  void *p = nullptr;
  cudaError_t e;
  {
    nb::gil_scoped_release release;
    cudaGetDevice(&prev);
    e = cudaSetDevice(device);
    if (e == cudaSuccess) e = cudaMalloc(&p, nbytes ? nbytes : 1);
    cudaSetDevice(prev);
  }
  if (e != cudaSuccess)
    raise(e == cudaErrorMemoryAllocation ? IE_OUT_OF_MEMORY : IE_BACKEND_FAILURE,
          std::string("cuda_empty: ") + cudaGetErrorString(e));
  nb::capsule owner(p, [](void *q) noexcept { cudaFree(q); });
  nb::dlpack::dtype dt{(uint8_t)code, (uint8_t)bits, 1};
  return nb::ndarray<nb::device::cuda>(p, shape.size(), shape.data(), owner, nullptr, dt,
                                       nb::device::cuda::value, device);
}
#endif

}  // namespace

NB_MODULE(_ext, m) {
  m.doc() = "infoest's C library, bound with nanobind (use the `infoest` package instead)";

  m.def("_set_error_classes", [](nb::dict classes) {
    for (auto [k, v] : classes) {
      int code = nb::cast<int>(k);
      if (code > 0 && code < IE_STATUS_COUNT_) g_errors[code] = nb::borrow(v);
    }
  });
  m.def("_clear_error_classes", []() {
    for (auto &e : g_errors) e.reset();
  });

  m.attr("version") = ie_version_string();
  m.attr("header_version") = IE_VERSION_STRING;
  m.def("backend_compiled", [](const std::string &name) {
    int b = ie_backend_parse(name.c_str());
    return b > 0 && ie_backend_compiled((ie_backend)b);
  });
  m.def("status_name", [](int s) { return std::string(ie_status_name((ie_status)s)); });
  m.def("status_codes", []() {
    nb::dict d;
#define IE__PY_STATUS(name, code, msg) d[#name] = code;
    IE_STATUS_MAP(IE__PY_STATUS)
#undef IE__PY_STATUS
    return d;
  });
  m.def("divergence_kinds", []() {
    nb::list l;
    for (int k = 0; k < IE_DIV_COUNT_; ++k) l.append(ie_divergence_name((ie_divergence_kind)k));
    return l;
  });
  m.attr("has_cuda_streams") =
#ifdef IE_PY_HAVE_CUDA
      true;
  m.def("cuda_empty", &cuda_empty, "shape"_a, "code"_a, "bits"_a, "device"_a);
#else
      false;
#endif

  nb::class_<Context>(m, "Context")
      .def(nb::init<const std::string &, int, int>(), "backend"_a = "auto", "device"_a = 0,
           "threads"_a = 0)
      .def_prop_ro("backend",
                   [](Context &c) { return std::string(ie_backend_name(ie_context_backend(c.ctx))); })
      .def_prop_ro("device_name",
                   [](Context &c) { return std::string(ie_context_device_name(c.ctx)); })
      .def("cancel", [](Context &c) { __atomic_store_n(&c.cancel_flag, 1, __ATOMIC_SEQ_CST); });

  nb::class_<Partial>(m, "Partial")
      .def(nb::init<int64_t>(), "first_row"_a = 0)
      .def_static("from_bytes", &partial_from_bytes, "data"_a)
      .def("to_bytes", &partial_bytes)
      .def("fields", [](Partial &s) {
        std::lock_guard<std::mutex> hold(s.mu);
        const ie_partial &p = s.p;
        return nb::make_tuple(p.row_begin, p.row_end, p.rows_kept, p.count_pinf, p.count_ninf,
                              p.count_nan, p.min, p.max, p.version);
      });
  m.attr("partial_block_rows") = IE_PARTIAL_BLOCK_ROWS;
  m.attr("partial_version") = IE_PARTIAL_VERSION;
  m.def("partial_add", &partial_add, "context"_a, "partial"_a, "values"_a,
        "weights"_a.none());
  m.def("partial_merge", &partial_merge);
  m.def("partial_finalize", &partial_finalize);

  m.def("softmax_family", &softmax_family);
  // The `partial` argument may be None (no state asked for).
  m.def("entropy", &entropy, "c"_a, "x"_a, "per_row"_a.none(), "input"_a, "kind"_a, "alpha"_a,
        "temperature"_a, "row_weights"_a.none(), "reduce"_a, "partial"_a.none(),
        "first_row"_a, "stream"_a);
  m.def("nll", &nll, "c"_a, "logits"_a, "labels"_a, "per_row"_a.none(), "temperature"_a,
        "ignore_index"_a.none(), "row_weights"_a.none(), "reduce"_a, "partial"_a.none(),
        "first_row"_a, "stream"_a);
  m.def("divergence", &divergence, "c"_a, "kind"_a, "p"_a, "q"_a, "per_row"_a.none(),
        "p_input"_a, "q_input"_a, "temperature"_a, "alpha"_a, "beta"_a,
        "row_weights"_a.none(), "reduce"_a, "partial"_a.none(), "first_row"_a, "stream"_a);
  m.def("divergence_host", &divergence_host, "c"_a, "kind"_a, "p"_a, "q"_a, "out"_a.none(),
        "temperature"_a, "reduction"_a);
  m.def("_bench_divergence", &bench_divergence, "c"_a, "kind"_a, "p"_a, "q"_a,
        "per_row"_a.none(), "reps"_a, "thread_clock"_a = false);
  m.def("sinkhorn", &sinkhorn);
  m.def("knn", &knn);
  m.def("knn_entropy", &knn_entropy);
  m.def("knn_divergence", &knn_divergence);
  m.def("knn_mutual_information", &knn_mutual_information);
  m.def("vendi", &vendi);
  m.def("vendi_batch", &vendi_batch);
  m.def("matrix_measure", &matrix_measure);
  m.def("mauve_default_clusters", &ie_mauve_default_clusters);
  m.def("mauve_histograms", &mauve_histograms);
  m.def("mauve", &mauve);
  m.def("count_pairs", &count_pairs, "c"_a, "x"_a, "y"_a, "table"_a, "ignore_label"_a.none(),
        "stream"_a);
  m.def("pmi", &pmi, "c"_a, "counts"_a, "out"_a.none(), "kind"_a, "min_count"_a, "smooth"_a,
        "x_counts"_a.none(), "y_counts"_a.none(), "total"_a, "stream"_a);
  m.def("table_mi", &table_mi);
  m.def("pid", &pid);
  m.def("pid_gaussian", &pid_gaussian);
  m.def("pid_pointwise", &pid_pointwise, "c"_a, "i1"_a, "i2"_a, "i12"_a, "r"_a.none(),
        "u1"_a.none(), "u2"_a.none(), "s"_a.none(), "stream"_a);
}
