/*
 * backend.h — PRIVATE.  The table of function pointers a backend fills, and
 * the already-checked argument bundles the dispatcher hands it.
 *
 * Contract between src/ and a backend:
 *  - src/ has checked every argument (shapes, dtypes, devices, options); a
 *    backend never parses or re-checks them.
 *  - Matrices are in the backend's own memory (src/ staged host tensors).
 *  - Row-reducing kernels write one double and one ie_rowerr per row into
 *    HOST arrays (`val`, `err`); the backend copies them back.  src/ turns the
 *    first non-zero err into a status and computes all summaries.  GPU
 *    backends also have the device-resident forms (rows_device,
 *    softmax_device): values go straight into the caller's per_row, and the
 *    errors and summary sums are reduced on the device into an outcome
 *    (src/kernels/rows_outcome.h) that is read back in one small copy.
 *  - A failed device call becomes a status with the call, file and line in
 *    the context's message (ie__error); never an abort.
 *  - NULL in the table means "not supported by this backend".
 */
#ifndef IE_BACKEND_H
#define IE_BACKEND_H

#include <stdint.h>
#include <stddef.h>
#include "infoest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  IE_DT_F32 = 0,
  IE_DT_F16 = 1,
  IE_DT_BF16 = 2,
  IE_DT_F64 = 3,
  IE_DT_I32 = 4,
  IE_DT_I64 = 5,
  IE_DT_U8 = 6 /* also bool */
} ie_dtype;

size_t ie__dtype_size(ie_dtype t);
const char *ie__dtype_name(ie_dtype t);
/* Machine epsilon of a floating dtype (float's for the integer ones). */
double ie__dtype_eps(ie_dtype t);

/* Per-row error codes written by kernels; 0 means the row is fine.  When
 * several apply, the kernel may report any of them. */
typedef enum {
  IE_ROW_OK = 0,
  IE_ROW_NONFINITE = 1, /* NaN or +inf in logits; NaN or inf in probs */
  IE_ROW_NEGATIVE = 2,  /* negative probability */
  IE_ROW_EMPTY = 3,     /* no support */
  IE_ROW_BAD_LABEL = 4  /* label outside [0, V) */
} ie_rowerr_code;
typedef int32_t ie_rowerr;

/* A given similarity matrix is symmetric with a unit diagonal to within
 * this many ulps of its dtype (src/spectral.c, ops->gram). */
#define IE_GIVEN_ULPS 16

/* A row-major matrix view in backend memory.  `buf` is a pointer (CPU, CUDA)
 * or a cl_mem (OpenCL); the first element is at byte `offset` in it. */
typedef struct {
  void *buf;
  size_t offset; /* bytes */
  ie_dtype dtype;
  int64_t rows, cols;
  int64_t stride; /* elements between row starts, >= cols */
} ie_mat;

/* A 1-D vector in backend memory (labels). */
typedef struct {
  void *buf;
  size_t offset;
  ie_dtype dtype;
  int64_t n;
  int64_t stride; /* elements */
} ie_vec;

/* What a row reduction computes (docs/SPEC.md §2, §3), with parameters resolved. */
typedef enum {
  IE_OP_LSE = 0,      /* val = lse(a/T) */
  IE_OP_ENTROPY = 1,  /* val = entropy of kind `ent` with order `alpha` */
  IE_OP_NLL = 2,      /* val = lse(a/T) - a_y/T */
  IE_OP_DIVERGENCE = 3
} ie_rowop;

typedef struct {
  ie_rowop op;
  double inv_temp;         /* 1/T */
  ie_input_kind input;     /* for the first matrix */
  ie_input_kind q_input;   /* for the second (divergence) */
  ie_entropy_kind ent;     /* IE_OP_ENTROPY */
  ie_divergence_kind div;  /* IE_OP_DIVERGENCE */
  double alpha;            /* order (limits resolved by src: never exactly 1
                              for Rényi/Tsallis, which become Shannon/KL) */
  double beta;             /* JS weight */
  int64_t ignore_index;    /* IE_OP_NLL */
  int has_ignore_index;
} ie_rowargs;

/* Where a device-resident row call puts its results (rows_device,
 * softmax_device).  Vectors in backend memory: buf NULL means none;
 * offsets in bytes, strides in elements. */
typedef struct {
  ie_vec per_row;  /* F32 or F64: each row's value (clamped at 0 with `clamp`) */
  ie_vec weights;  /* row_weights (F32, F64, I32, I64, U8) */
  int clamp;       /* docs/SPEC.md §1: values below 0 are 0 (entropies, divergences) */
  int sums;        /* reduce the summary's sums (else errors only) */
  void *outcome;   /* device buffer: ROWS_OC_WORDS words at byte outcome_offset, */
  size_t outcome_offset; /* zeroed by the backend, then reduced into */
  void *host;      /* where the outcome is read to (ROWS_OC_WORDS words) */
  int blocking;    /* 1: the read completes before return; 0: it is enqueued */
} ie_rows_sink;

typedef struct ie_backend_ops {
  const char *name;
  ie_backend kind;

  /* Open device `device`; fill *state.  Returns IE_BACKEND_UNAVAILABLE with a
   * message when there is no such device. */
  ie_status (*open)(ie_context *ctx, int device, void **state);
  void (*close)(void *state);
  const char *(*device_name)(void *state);
  /* 1 if the device is a GPU or other accelerator (auto selection); may be
   * NULL, meaning no. */
  int (*is_gpu)(void *state);

  /* Memory of the backend.  alloc(0 bytes) may return NULL. */
  ie_status (*alloc)(ie_context *ctx, size_t bytes, void **buf);
  void (*free)(ie_context *ctx, void *buf);
  ie_status (*upload)(ie_context *ctx, void *dst, size_t dst_offset,
                      const void *src, size_t bytes);
  ie_status (*download)(ie_context *ctx, void *dst, const void *src,
                        size_t src_offset, size_t bytes);
  /* Set every element of the rows of `m` to NaN (all-ones bytes). */
  ie_status (*fill_nan)(ie_context *ctx, const ie_mat *m);

  /* softmax / log-softmax into `out` (same rows and cols as x).  err (host,
   * rows entries) is filled; rows with err != 0 are written as NaN. */
  ie_status (*softmax)(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                       int log_out, double inv_temp, ie_rowerr *err);

  /* One value a row.  `y` is the second matrix (divergences) or NULL;
   * `labels` the labels (NLL) or NULL.  val and err are host arrays of
   * x->rows entries. */
  ie_status (*rows)(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                    const ie_mat *y, const ie_vec *labels, double *val,
                    ie_rowerr *err);

  /* Spectral measures (docs/SPEC.md §6); NULL: unsupported.  `x` holds `sets`
   * stacked sets of n = x->rows / sets rows.  For each set, gram writes the
   * m × m matrix scale·K (with `mul`: multiplies the one already there by it,
   * elementwise) into `out` (backend memory, dtype dt = F32 or F64, sets·m·m
   * elements, row-major, both triangles).  cosine and rbf (gamma = 1/(2σ²))
   * give m = n, or with `dual` (cosine) m = d and scale·X̂ᵀX̂; precomputed
   * copies x (m = n).  err (host, x->rows entries) gets IE_ROW_NONFINITE for
   * a row holding NaN or ±inf, IE_ROW_EMPTY for a zero row under cosine; dev
   * (host, x->rows; precomputed only, else NULL) gets each row's
   * max_j max(|K_ij − K_ji|, |K_ii − 1|).  The caller zeroes err and dev and
   * reports only the first row with a code, then the first whose deviation
   * exceeds IE_GIVEN_ULPS ulps of x's dtype; a GPU backend finds these two
   * rows on the device and writes only them, so that a few bytes cross
   * whatever n is.  `out` and every temporary of a GPU backend are slots
   * IE_WS_SPECTRAL + 0..7 of the workspace. */
  ie_status (*gram)(ie_context *ctx, const ie_mat *x, int64_t sets,
                    ie_kernel kernel, double gamma, int dual, double scale,
                    int mul, ie_dtype dt, void *out, ie_rowerr *err,
                    double *dev);
  /* Eigenvalues of the `sets` symmetric m × m matrices in `a` (backend
   * memory, dtype dt; overwritten) into w (host, sets·m, ascending in each
   * set).  A solver reporting failure gives IE_BACKEND_FAILURE naming the set.
   * (OpenCL solves on the host: its m × m download is the one copy of the
   * spectral measures that grows with the input; docs/SPEC.md §6.) */
  ie_status (*eigvalsh)(ie_context *ctx, void *a, ie_dtype dt, int64_t sets,
                        int64_t m, double *w);

  /* Sinkhorn (docs/SPEC.md §4): the sub-table of src/sinkhorn.h; NULL: unsupported. */
  const struct ie_sk_ops *sinkhorn;

  /* k-nearest neighbours (docs/SPEC.md §5, src/knn.c); NULL: unsupported.  q (m × d)
   * and r (n × d) are compact matrices in backend memory, F64 on the CPU,
   * F32 elsewhere, already checked finite.  knn writes, for each query i,
   * the k nearest rows of r sorted by (distance, index) into idx and dist
   * (HOST arrays of m·k), distances computed in double from coordinate
   * differences; `self` excludes r's row i from query i.  range_count writes
   * count[i] = #{j (≠ i with self) : ‖r_j − q_i‖∞ < radius[i]} (strictly;
   * radius and count are HOST arrays of m), the max-norm in double. */
  ie_status (*knn)(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                   ie_knn_metric metric, int self, int64_t *idx, double *dist);
  ie_status (*range_count)(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                           const double *radius, int self, int64_t *count);

  /* Page-locked host memory for ie_host_alloc; NULL: plain malloc/free. */
  ie_status (*host_alloc)(ie_context *ctx, size_t bytes, void **ptr);
  void (*host_free)(ie_context *ctx, void *ptr);

  /* MAUVE (docs/SPEC.md §8): the sub-table of src/mauve.h; NULL: unsupported. */
  const struct ie_mauve_ops *mauve;
  /* Discrete information (docs/SPEC.md §9): the sub-table of src/discrete.h;
   * NULL: unsupported. */
  const struct ie_disc_ops *discrete;

  /* The workspace (src/host/workspace.c).  sub: a buffer usable like one of
   * alloc's for bytes [offset, offset + bytes) of `base` (an alloc'd arena;
   * offset a multiple of IE_WS_ALIGN); sub_free releases it (not the arena).
   * NULL: the backend cannot carve, every slot is its own allocation.
   * synchronize: wait for all the work enqueued on the context's stream or
   * queue; NULL: the backend's calls are complete on return. */
  ie_status (*sub)(ie_context *ctx, void *base, size_t offset, size_t bytes, void **view);
  void (*sub_free)(ie_context *ctx, void *view);
  ie_status (*synchronize)(ie_context *ctx);

  /* Device-resident k-nearest neighbours (GPU backends; src/knn_dev.h):
   * the estimators and ie_knn keep samples, neighbours and per-point terms
   * in device memory.  NULL: knn and range_count above (host arrays). */
  const struct ie_knn_ops *knn_dev;
  /* The device-resident row family (src/rows.c); NULL: use rows/softmax.
   * As rows and softmax, but nothing per row comes back: values are written
   * into sink->per_row, and errors, weights (NLL's ignore_index applied from
   * labels) and the exact summary sums are reduced into the outcome, then
   * read to sink->host.  IE_UNSUPPORTED before anything is enqueued: this
   * device cannot (no 64-bit atomics); src/ then takes rows/softmax. */
  ie_status (*rows_device)(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                           const ie_mat *y, const ie_vec *labels, const ie_rows_sink *sink);
  ie_status (*softmax_device)(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                              int log_out, double inv_temp, const ie_rows_sink *sink);
  /* The size in bytes of the device allocation a caller's device tensor
   * names (DLTensor.data: a cl_mem on OpenCL), so that src/tensor.c can
   * refuse a tensor whose byte_offset and extent run past it.  1 with
   * *bytes set; 0 when the backend cannot tell for this buffer (no check,
   * nothing recorded on ctx).  One cheap query: called once per device
   * tensor of a call.  NULL: the backend cannot tell (CUDA: its pointers may
   * come from any allocator, managed memory included). */
  int (*device_bytes)(ie_context *ctx, const void *data, size_t *bytes);
} ie_backend_ops;

/* ---- The registry (src/registry.c) -------------------------------------------
 * The CPU backend is part of the core library (libinfoest.so: dispatcher +
 * CPU, no GPU library).  The CUDA and OpenCL backends are modules,
 * libinfoest-cuda.so and libinfoest-opencl.so, opened with dlopen the first
 * time a context asks for them (or `auto` probes) and kept for the life of
 * the process, as ggml's backend registry does.  A module exports one
 * symbol, IE_BACKEND_MODULE_ENTRY, returning its ie_backend_module; the core
 * refuses a module whose abi, version, ops_size or context_size differ from
 * its own (a module of another build).  A module never calls into the core:
 * what both need (ie__error, the dtype helpers, the host numerics) is
 * src/host/, compiled into each with hidden visibility.  The static library
 * libinfoest.a holds every backend built, and the registry reaches their
 * descriptors directly. */
#define IE_BACKEND_ABI 1
#define IE_BACKEND_MODULE_ENTRY "ie_backend_module_v1"

typedef struct ie_backend_module {
  uint32_t abi;          /* IE_BACKEND_ABI */
  uint32_t version;      /* IE_VERSION_NUMBER of the sources it was built from */
  uint32_t ops_size;     /* sizeof(ie_backend_ops) */
  uint32_t context_size; /* sizeof(struct ie_context) */
  const ie_backend_ops *ops;
  /* The public extras of infoest_cuda.h / infoest_opencl.h (the core
   * defines the entry points and forwards to these once it has checked that
   * ctx is an open context of this backend; NULL: none).  `queue` is the
   * cudaStream_t or cl_command_queue; get_queue's outputs may be NULL. */
  ie_status (*set_queue)(ie_context *ctx, void *queue);
  ie_status (*get_queue)(const ie_context *ctx, void **context, void **device,
                         void **queue);
} ie_backend_module;

typedef const ie_backend_module *(*ie_backend_module_fn)(void);

extern const ie_backend_ops ie__cpu_ops;
/* The GPU backends' descriptors (src/cuda/context.cu,
 * src/opencl/ocl_backend.c); their modules' entry symbols return them. */
extern const ie_backend_module ie__cuda_module;
extern const ie_backend_module ie__opencl_module;

/* The table of backend b, loading its module if needed.  On failure: NULL,
 * and ctx (may be NULL) records IE_BACKEND_UNAVAILABLE with a message that
 * names the module and why (not built, not found where, failed to load and
 * the loader's words, another build's module). */
const ie_backend_ops *ie__backend_load(ie_context *ctx, ie_backend b);

/* ---- The workspace (src/host/workspace.c) -------------------------------------
 * The scratch of a GPU context, kept between calls (include/infoest.h,
 * "Workspace").  Every temporary buffer a call needs is a slot: the slot's
 * buffer grows when a call needs more than it has and is otherwise reused,
 * so a warm context allocates nothing.  Each family owns a range of slots
 * (no two temporaries of one call may share a slot).  A slot's contents are
 * not kept between calls.  Host slots hold staging memory (page-locked via
 * ops->host_alloc when the backend has it). */
enum {
  IE_WS_STAGE = 0,     /* 8: host tensors staged by the dispatcher (src/tensor.c) */
  IE_WS_ROWS = 8,      /* 12: the row family (OpenCL scratch +0..+5, CUDA +0; the
                          outcome ring of src/async.c +8..+10) */
  IE_WS_KNN = 20,      /* 12 (src/knn_dev.h) */
  IE_WS_SINKHORN = 32, /* 20 */
  IE_WS_SPECTRAL = 52, /* 8 */
  IE_WS_MAUVE = 60,    /* 24 (src/mauve.h) */
  IE_WS_DISCRETE = 84, /* 12 */
  IE_WS_KNN_TILE = 96, /* 4: the kNN GEMM filter's (src/knn_dev.h) */
  IE_WS_SLOTS = 100
};
enum {
  IE_WSH_STAGE = 0,     /* 2: packing strided host tensors */
  IE_WSH_ROWS = 2,      /* 5 (+0: ie__ocl_host; the outcome ring +1..+3; +4 a
                           blocking call's outcome when the ring is full) */
  IE_WSH_KNN = 7,       /* 4 */
  IE_WSH_SINKHORN = 11, /* 4 */
  IE_WSH_SPECTRAL = 15, /* 4 */
  IE_WSH_MAUVE = 19,    /* 4 */
  IE_WSH_DISCRETE = 23, /* 4 */
  IE_WSH_SLOTS = 27
};
#define IE_WS_ALIGN 4096 /* carving granularity in the arena (>= any device's base alignment) */

typedef struct {
  void *buf;   /* alloc'd, or carved from the arena (sub) */
  size_t size; /* bytes */
  int carved;
} ie_ws_slot;

typedef struct ie_workspace {
  ie_ws_slot dev[IE_WS_SLOTS];
  void *host[IE_WSH_SLOTS];
  size_t host_size[IE_WSH_SLOTS];
  void *arena; /* ie_workspace_reserve's, or NULL */
  size_t arena_size, arena_used;
  ie_workspace_info info; /* the counters ie_workspace_query reports */
  int stage_next;         /* the next IE_WS_STAGE slot of this call (src/tensor.c) */
} ie_workspace;

/* Slot `slot`'s device buffer, of at least `bytes` (0 is taken as 1);
 * *buf is usable like one from ops->alloc, at offset 0. */
ie_status ie__ws_device(ie_context *ctx, int slot, size_t bytes, void **buf);
/* Host slot `slot`, of at least `bytes`. */
ie_status ie__ws_host(ie_context *ctx, int slot, size_t bytes, void **ptr);
/* Count a copy between host and device (ie_workspace_query). */
void ie__ws_copied(ie_context *ctx, int to_device, size_t bytes);
/* Free every buffer (slots and arena); counters are kept. */
void ie__ws_free(ie_context *ctx);
/* Replace the arena by one of at least `bytes` (slots carved from the old
 * one are dropped: they are scratch). */
ie_status ie__ws_reserve(ie_context *ctx, size_t bytes);

/* Context internals shared by src/ and the backends. */
/* One tensor argument of the current call, as tensor.c checked it: the
 * bytes from its first element to the end of its last row, in one memory
 * space, for the check that no output shares memory with another argument. */
typedef struct {
  uintptr_t space;          /* 0: host (and CUDA) addresses; else the cl_mem */
  uint64_t first, end;      /* [first, end): address, or offset in the cl_mem */
  uint64_t row_step, row_bytes; /* bytes from a row to the next; of one row */
  const char *name;
  int output;
} ie__span;
#define IE__SPANS 16

struct ie_context {
  const ie_backend_ops *ops; /* NULL when creation failed */
  void *state;               /* the backend's */
  ie_backend backend;
  int device;
  ie_status last;
  char msg[1024];
  /* Where the last failure is (ie_error_index/row/column/tensor): -1 and ""
   * when it names no element.  Set by ie__locate, cleared by ie__clear_error. */
  int64_t err_index, err_row, err_col;
  char err_tensor[32];
  const volatile int *cancel; /* ie_context_set_cancel_flag; NULL: none */
  int threads;                /* ie_context_options.threads; 0: OpenMP's count (src/threads.h) */
  int async;                  /* ie_context_options.async, on a GPU context */
  ie_workspace ws;            /* GPU contexts' scratch (src/host/workspace.c) */
  struct ie__pending *pending; /* calls in flight in the asynchronous mode (src/async.c) */
  ie__span spans[IE__SPANS];   /* the call's checked tensors (src/tensor.c); */
  int n_spans;                 /* emptied by ie__begin */
};

/* ---- Services a backend may use ------------------------------------------------
 * Defined in src/host/ (error.c, dtype.c), which is compiled into the core
 * and into each module: a backend calling them never calls into the core.
 * (ie__dtype_size and ie__dtype_name are declared above.) */

/* Record a failure on ctx and return `s`.  printf-style. */
ie_status ie__error(ie_context *ctx, ie_status s, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The first statement of every public call that takes a (non-const)
 * context: forget the last failure (code, message, location), so that a
 * success after a failure reads IE_OK.  NULL: no-op. */
void ie__clear_error(ie_context *ctx);

/* 1 when the caller's cancel flag is set (read atomically; any thread). */
int ie__cancelled(const ie_context *ctx);
/* Record IE_CANCELLED for public call `fn` and return it. */
ie_status ie__cancel(ie_context *ctx, const char *fn);

#ifdef __cplusplus
}
#endif
#endif
