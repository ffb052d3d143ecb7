/*
 * infoest.h — information-theoretic quantities, fast, on CPU, CUDA and OpenCL.
 *
 * This header is the whole public API and its documentation.  The meaning of
 * every result is fixed by docs/SPEC.md; this page says how to ask for it.
 *
 * Shape of the API (after SQLite and cuBLAS):
 *
 *   ie_context *ctx;
 *   ie_context_options o = {0};             zeroed means: auto backend, device 0
 *   if (ie_context_create(&ctx, &o) != IE_OK) ... ie_errmsg(ctx) says why
 *   ie_summary s;
 *   ie_entropy(ctx, &logits, NULL, NULL, &s);   s.mean is the mean entropy (nats)
 *   ie_context_destroy(ctx);                    NULL is a no-op
 *
 * Every call returns an ie_status.  On failure the context keeps a message that
 * names the call, the tensor and, for bad values, the first offending row:
 * ie_errmsg(ctx); the same place as numbers: ie_error_tensor, ie_error_row,
 * ie_error_column.  ie_status_string(s) gives the fixed text of a code.
 *
 * Tensors are DLPack DLTensors (dlpack.h), so a framework can hand over its
 * buffers with no copy.  A tensor lives in host memory (kDLCPU, kDLCUDAHost) or
 * in the memory of the context's device (kDLCUDA / kDLCUDAManaged for a CUDA
 * context; kDLOpenCL for an OpenCL context, where `data` is a cl_mem and
 * `byte_offset` the offset into it).  Host tensors given to a GPU context are
 * staged by the library; device tensors given to another backend are refused
 * with IE_WRONG_DEVICE.  An OpenCL tensor that runs past its cl_mem (byte_offset
 * plus its extent, against CL_MEM_SIZE) is IE_INVALID_ARGUMENT.  A batch of distributions is 2-D [B, V] (1-D [V] is one
 * row); the last dimension must be contiguous (stride 1) and the row stride,
 * in elements, at least V.  Inputs are never modified: an output that shares
 * memory with another tensor of the call is IE_INVALID_ARGUMENT (tensors side
 * by side in one buffer, say columns [0, V) and [V, 2V) of its rows, are
 * apart; on OpenCL, tensors in different cl_mem handles are taken as apart).
 * A row's value does not depend on where the row lies in memory.
 *
 * Threads: a context is not thread-safe.  Use one context per thread; distinct
 * contexts may be used concurrently, also on the same device.  Nothing else is
 * shared between contexts except read-only, lazily built, immutable tables.
 * A call's own host threads (OpenMP) are bounded per context:
 * ie_context_options.threads (1 for a server with a context per core).
 *
 * Synchronisation: every call returns when its results are complete and any
 * bad value has been detected (a GPU call waits for its own stream), unless
 * the context was made asynchronous ("Asynchronous mode" below).
 *
 * Memory: a GPU context keeps its scratch between calls, so warm calls
 * allocate nothing ("Workspace" below); docs/SERVER.md puts these pieces in
 * the order a server needs them.
 *
 * The library never calls exit() or abort() and never prints.
 */
#ifndef INFOEST_H
#define INFOEST_H

#include <stddef.h>
#include <stdint.h>
#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(IE_SHARED)
#  ifdef IE_BUILDING
#    define IE_API __declspec(dllexport)
#  else
#    define IE_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(IE_BUILDING)
#  define IE_API __attribute__((visibility("default")))
#else
#  define IE_API
#endif

/* ---- Version -------------------------------------------------------------- */

#define IE_VERSION_MAJOR 0
#define IE_VERSION_MINOR 1
#define IE_VERSION_PATCH 0
#define IE_VERSION_STRING "0.1.0"
#define IE_VERSION_NUMBER \
  (IE_VERSION_MAJOR * 1000000 + IE_VERSION_MINOR * 1000 + IE_VERSION_PATCH)

/* The version of the library actually linked, as IE_VERSION_NUMBER. */
IE_API int ie_version(void);
IE_API const char *ie_version_string(void);

/* ---- Status codes ----------------------------------------------------------- */

/* One list makes the enum, the names and the messages (after libuv). */
#define IE_STATUS_MAP(X)                                                        \
  X(OK, 0, "success")                                                           \
  X(INVALID_ARGUMENT, 1, "invalid argument")                                    \
  X(BAD_SHAPE, 2, "tensor shape or layout is not accepted")                     \
  X(BAD_DTYPE, 3, "tensor data type is not supported here")                     \
  X(WRONG_DEVICE, 4, "tensor is not in memory this context can use")            \
  X(NONFINITE, 5, "input holds NaN or +inf")                                    \
  X(NEGATIVE, 6, "probabilities hold a negative value")                         \
  X(EMPTY_ROW, 7, "a row has no support (all -inf, or zero sum)")              \
  X(BAD_LABEL, 8, "a label is outside [0, V)")                                  \
  X(EMPTY_REDUCTION, 9, "a mean over zero kept rows")                           \
  X(OUT_OF_MEMORY, 10, "out of memory")                                         \
  X(BACKEND_UNAVAILABLE, 11, "the asked backend is not available here")        \
  X(BACKEND_FAILURE, 12, "the backend reported a failure")                     \
  X(UNSUPPORTED, 13, "operation not supported by this backend")                \
  X(INTERNAL, 14, "internal error")                                            \
  X(CANCELLED, 15, "the call was cancelled through the context's cancel flag")

typedef enum {
#define IE__STATUS_ENUM(name, code, msg) IE_##name = code,
  IE_STATUS_MAP(IE__STATUS_ENUM)
#undef IE__STATUS_ENUM
  IE_STATUS_COUNT_
} ie_status;

/* "IE_NONFINITE" for IE_NONFINITE; "IE_UNKNOWN" for codes not in the list. */
IE_API const char *ie_status_name(ie_status s);
/* The fixed message of a code ("input holds NaN or +inf"). */
IE_API const char *ie_status_string(ie_status s);

/* ---- Backends and contexts -------------------------------------------------- */

typedef enum {
  IE_BACKEND_AUTO = 0, /* a working CUDA device, else an OpenCL GPU, else CPU */
  IE_BACKEND_CPU = 1,
  IE_BACKEND_CUDA = 2,
  IE_BACKEND_OPENCL = 3
} ie_backend;

IE_API const char *ie_backend_name(ie_backend b); /* "cpu", "cuda", ... */
/* Parse "auto", "cpu", "cuda", "opencl"; returns -1 for anything else. */
IE_API int ie_backend_parse(const char *name);
/* 1 if this build of infoest has the backend: the CPU always; CUDA and
 * OpenCL when they were built, as modules (libinfoest-cuda.so,
 * libinfoest-opencl.so) of the shared library or compiled into the static
 * one.  Whether a module is installed and loads, and whether there is a
 * device, is known when a context asks for the backend. */
IE_API int ie_backend_compiled(ie_backend b);

typedef struct ie_context ie_context; /* opaque; one per thread */

typedef struct {
  size_t size;        /* sizeof(ie_context_options), or 0: see "Options structs" */
  ie_backend backend; /* default IE_BACKEND_AUTO */
  int device;         /* device index within the backend; default 0 */
  /* Fields below were added after the first version (size 0 reads none). */
  /* Host threads a call on this context may use; 0 (the default, and what
   * a caller of the first version gets): as many as OpenMP would (all cores,
   * or OMP_NUM_THREADS).  A server that runs one context per thread sets 1
   * so that its threads do not oversubscribe the cores.  It bounds every
   * OpenMP region of the library's calls on this context: all the work of
   * the CPU backend and the host-side steps of the others (kNN estimator
   * sums, spectral eigenvalues), as a per-call clause, so other contexts
   * and the caller's own OpenMP settings are untouched.  Not bounded:
   * OpenBLAS's own threads, used by the CPU backend's large Gram matrices
   * and by the eigenvalue step of ie_vendi* / ie_matrix_* (a process-wide
   * setting in OpenBLAS: set OPENBLAS_NUM_THREADS=1, or call
   * openblas_set_num_threads(1), in such a server), and the threads of an
   * OpenCL runtime (PoCL's own pool).  OpenBLAS's idle threads spin for a
   * while after each call and take cores from the OpenMP team that follows:
   * OPENBLAS_THREAD_TIMEOUT=4 in the environment shortens that (a CPU
   * ie_mauve of 10 000 rows of 1280 took 13% less time on 2 cores).  At
   * most 4096; negative or more: IE_INVALID_ARGUMENT.  In a process forked
   * after the library was loaded, every region runs on one thread: GNU
   * OpenMP's threads do not survive fork(), and a forked child's first
   * region would otherwise wait for them forever. */
  int threads;
  /* 1: the asynchronous mode (GPU contexts; see "Asynchronous mode" below).
   * 0, the default: every call returns when its results are complete. */
  int async;
} ie_context_options;

/* Make a context.  `opt` may be NULL (auto, device 0).  On failure *out is
 * still set to a context that holds only the message (ie_errmsg works on it);
 * destroy it as usual.  IE_BACKEND_AUTO never fails for want of a GPU; an
 * explicit CUDA or OpenCL request with no usable device gives
 * IE_BACKEND_UNAVAILABLE.
 *
 * The shared library libinfoest.so is the core (every call, the CPU
 * backend) and links no GPU library.  The CUDA and OpenCL backends are
 * modules it opens the first time a context asks for them (or `auto`
 * probes), and keeps open: libinfoest-cuda.so and libinfoest-opencl.so, from
 * the directories listed in the environment variable IE_BACKEND_PATH
 * (':'-separated) when it is set and not empty, else from the directory
 * libinfoest.so itself was loaded from (where they are installed).  A module
 * not found there, one that fails to load (its GPU runtime is missing), one
 * of another build of infoest, no driver or no device: IE_BACKEND_UNAVAILABLE,
 * with a message that says which.  The static library libinfoest.a has every
 * backend built compiled in and looks for no module. */
IE_API ie_status ie_context_create(ie_context **out,
                                   const ie_context_options *opt);
IE_API void ie_context_destroy(ie_context *ctx); /* NULL: no-op */

/* Cancellation, so that a server or a Ctrl-C can stop a runaway call.  The
 * long calls (ie_sinkhorn*, the kNN estimators and ie_knn, ie_vendi*,
 * ie_matrix_*) read *flag (never write it) between iterations, query blocks,
 * tiles and kernel launches; once it is non-zero the call stops, frees what it
 * made and returns IE_CANCELLED, with a message naming the call, and its
 * outputs are as after any failure.  The context stays usable: clear the flag
 * and call again.  Set it from a signal handler (a volatile sig_atomic_t is an
 * int) or from another thread with an atomic store.  NULL (the default)
 * removes it; the flag must outlive its use on the context. */
IE_API void ie_context_set_cancel_flag(ie_context *ctx, const volatile int *flag);

/* The backend the context runs on (never AUTO; after a failed create, the
 * backend asked for, or the one auto tried last), and its device, in words. */
IE_API ie_backend ie_context_backend(const ie_context *ctx);
IE_API const char *ie_context_device_name(const ie_context *ctx);

/* ---- Errors ------------------------------------------------------------------ */

/* Every call that takes a (non-const) context and returns an ie_status
 * starts by forgetting the context's last failure, so after a successful call
 * ie_errcode is IE_OK, ie_errmsg is "not an error" and the location below is
 * -1 / NULL, whatever failed before.  The other calls that take a context
 * (ie_context_destroy, ie_context_set_cancel_flag, ie_host_free and the
 * readers below, which take a const context) leave it as it is. */

/* The message of the last failed call on this context ("not an error" when
 * the last call succeeded).  Owned by the context; valid until its next call. */
IE_API const char *ie_errmsg(const ie_context *ctx);
IE_API ie_status ie_errcode(const ie_context *ctx);

/* Where the last failure is, as numbers, so that a caller need not parse the
 * message (after SQLite's sqlite3_error_offset).  When a failure names one
 * element of one input (a NaN, a negative probability, a row with no
 * support, a bad label or weight, a zero-distance point, an asymmetric K),
 * ie_error_tensor is that input's name in the call ("logits", "p", "q",
 * "labels", "row_weights", "x", "cost", ...; it is what the message says) and
 * the position is in that tensor's OWN shape, counted from 0:
 *   1-D [n]        ie_error_row is the element (labels, row weights: the row);
 *   2-D [n, k]     ie_error_row, ie_error_column;
 *   3-D [B, n, k]  ie_error_index (the problem or set), then row, column.
 * A part the failure does not name is -1: a row with no support has no
 * column; a failure that names no element (a bad shape or option, out of
 * memory) gives -1 everywhere and a NULL tensor.  When several rows are bad,
 * the first (lowest) is named.  All -1 / NULL after a successful call. */
IE_API int64_t ie_error_index(const ie_context *ctx);
IE_API int64_t ie_error_row(const ie_context *ctx);
IE_API int64_t ie_error_column(const ie_context *ctx);
IE_API const char *ie_error_tensor(const ie_context *ctx);

/* Host memory that the context's device reads fastest: page-locked
 * (cudaMallocHost) on a CUDA context, so that staging a host tensor is one
 * DMA with no bounce; ordinary memory on the other backends.  A client that
 * streams batches through host buffers (the `infoest` command does) should
 * allocate them here.  Free with ie_host_free on the same context; NULL is a
 * no-op.  IE_OUT_OF_MEMORY when it cannot be had. */
IE_API ie_status ie_host_alloc(ie_context *ctx, size_t bytes, void **ptr);
IE_API void ie_host_free(ie_context *ctx, void *ptr);

/* ---- Workspace ------------------------------------------------------------------
 * A GPU context keeps the scratch its calls need between calls: device memory
 * (each temporary of each family has its own buffer, which grows when a call
 * needs more and is then reused) and host memory for staging (page-locked on
 * CUDA).  After a first call of a given size, further calls of that size or
 * smaller allocate nothing.  All of it is freed with the context.  A CPU
 * context has no workspace (these calls succeed and report zeros).
 *
 * ie_workspace_reserve allocates `device_bytes` up front as one arena from
 * which the buffers are carved while it has room, so that a server can take
 * its memory at start-up (and fail then, not under load).  Reserving again
 * with more replaces the arena; with less or equal does nothing.
 * ie_workspace_release frees everything (the next call grows it again); it
 * first waits for the context's work in flight.
 * ie_workspace_query reports what the workspace holds and has done: the
 * device and host allocations it made and the bytes it holds now, and the
 * copies between host and device that the context's calls made (counts and
 * bytes since the context was made).  A server can check that its calls, once
 * warm, allocate nothing and move only a few bytes (a summary, a status).
 * The row family (ie_entropy, ie_nll, ie_divergence, ie_logsumexp,
 * ie_softmax, ie_log_softmax) with device tensors writes its per-row values
 * on the device and reduces its errors, weights and summary there (the same
 * bits as the host's exact sums, see "Partial states"): one read of about
 * 1.2 KB a call, and, only when a row is bad, that row for the message.
 *
 * Where more must cross, by design: the spectral measures read back their
 * eigenproblem's input on OpenCL (S·m² numbers; it is solved on the host),
 * its eigenvalues on CUDA (S·m); ie_table_mi reads the table's X + Y
 * marginals (the entropies and E[I] are host sums; ie_pmi keeps them on
 * the device, or sends up the ones the caller gives); MAUVE reads its d × d
 * covariance back (the axes are found on the host) and 8 bytes each Lloyd
 * pass (how many labels changed): its rows, labels and centres stay on the
 * device, its k-means++ starts included. */
typedef struct {
  size_t size;                  /* sizeof(ie_workspace_info), or 0: see "Options structs" */
  uint64_t device_allocations;  /* device buffers allocated, since the context was made */
  uint64_t device_bytes;        /* device memory held now */
  uint64_t host_allocations;    /* host staging buffers allocated, since made */
  uint64_t host_bytes;          /* host staging memory held now */
  uint64_t copies_to_device, bytes_to_device; /* since made */
  uint64_t copies_to_host, bytes_to_host;     /* since made */
} ie_workspace_info;

IE_API ie_status ie_workspace_reserve(ie_context *ctx, size_t device_bytes);
IE_API ie_status ie_workspace_release(ie_context *ctx);
/* Set `info->size` to sizeof(ie_workspace_info) (or that of an older
 * version's struct, at least its first version's); fills what fits. */
IE_API ie_status ie_workspace_query(ie_context *ctx, ie_workspace_info *info);

/* ---- Asynchronous mode ------------------------------------------------------------
 * With ie_context_options.async = 1 on a CUDA or OpenCL context, a call of
 * the row family (ie_entropy, ie_nll, ie_divergence, ie_logsumexp, ie_softmax,
 * ie_log_softmax), ie_count_pairs, or an ie_pid that asks for no host
 * `results`, whose tensors are all in the device's memory enqueues its
 * work on the context's stream or queue (the caller's, after
 * ie_cuda_set_stream / ie_opencl_set_queue) and returns once its arguments
 * are checked: a bad shape, dtype or option is still returned at once.  What
 * only the device can find (a NaN or inf in a row, a bad label, an empty
 * row) is returned by ie_synchronize, which waits for all the work the
 * context's calls enqueued and returns the status of the first call, in call
 * order, that failed, with its message and location (ie_errmsg,
 * ie_error_row, ...) as that call would have returned them; the calls after
 * it in the same batch were still run.  The rule: until ie_synchronize
 * returns, inputs must stay alive and unmodified, and outputs (device
 * tensors, ie_summary and ie_partial structs) are not valid; after it
 * returns IE_OK, all are.  After a failure, the outputs of the failing call
 * hold no result (device outputs are NaN; ie_pid's `out` is untouched, as
 * in the synchronous mode).  Each pending call holds one
 * outcome (its status and summary sums, about 1.2 KB of device memory and
 * of page-locked host memory that the device writes without waiting) from a
 * ring of the context's workspace that grows and is reused, so a warm
 * context enqueues without allocating; at most 336 row calls can be pending
 * at once (one more is IE_INVALID_ARGUMENT, "call ie_synchronize"; a call given host tensors
 * still runs then).  Calls given host tensors, and
 * the other families (ie_pid with `results`), run as in the synchronous mode (complete on return),
 * after the work already enqueued.  A CPU context ignores the flag, and
 * ie_synchronize on it returns IE_OK. */
IE_API ie_status ie_synchronize(ie_context *ctx);

/* ---- Options structs --------------------------------------------------------
 *
 * Every options struct (ie_*_options) starts with `size_t size`, and a NULL
 * options pointer means every default.  Structs grow only at their end, so a
 * binary built against an older infoest keeps working with a newer library:
 *
 *   size = sizeof the struct as the caller compiled it: the library reads
 *          that many bytes (no more than it knows of); fields beyond them
 *          take their defaults;
 *   size = 0: the struct's FIRST version (infoest 0.1): only its fields are
 *          read, never more, so a zeroed struct is safe whatever version of
 *          the header made it, and fields added since take their defaults;
 *   0 < size < the first version's size: IE_INVALID_ARGUMENT (no version was
 *          that small: the size is garbage).
 *
 * A zero field means its default wherever the field's comment says so. */

/* ---- Common option pieces --------------------------------------------------- */

typedef enum {
  IE_INPUT_LOGITS = 0, /* any reals; -inf is probability 0 */
  IE_INPUT_PROBS = 1   /* non-negative; each row divided by its sum */
} ie_input_kind;

/* Summary over the kept rows.  Every call that takes one fills all fields:
 * `sum` and `mean` are the `sum` and `mean` reductions of docs/SPEC.md §1 (weighted by the
 * row weights when given: sum = Σ w_i v_i, mean = sum / Σ w_i); min and max are
 * over kept rows (rows with weight 0 are not kept).  A mean over zero kept rows
 * is IE_EMPTY_REDUCTION.  Reductions run in a fixed order: the same inputs give
 * bit-identical summaries. */
typedef struct {
  int64_t rows;      /* rows in the input */
  int64_t rows_kept; /* rows with a non-zero weight (all, without weights) */
  double weight_sum; /* Σ w over kept rows (= rows_kept without weights) */
  double sum, mean, min, max;
} ie_summary;

/* ---- Partial states: one summary computed in pieces (docs/SPEC.md §11) ------
 *
 * A summary over many rows can be made piece by piece, by processes or
 * machines that never see each other's rows (MPI ranks, mpi4py, Ray or Dask
 * workers): each piece of rows gives an ie_partial (set `partial` in the
 * call's options; see ie_entropy, ie_nll, ie_divergence, or fill one from
 * values of your own with ie_partial_add), the pieces are merged in row order,
 * and ie_partial_finalize turns the whole into the ie_summary that one call
 * over all the rows gives, to the last bit.
 *
 * Why the bits cannot depend on the split: the sums are kept EXACTLY, as
 * fixed-point integers over the whole range of doubles (so merging is exact
 * integer addition, in any grouping), and rounded once, to the nearest
 * double, by ie_partial_finalize.  Every summary (a single call's too) is
 * made this way, so `sum` is the correctly rounded Σ w_i v_i of the
 * (rounded) products w_i v_i, and `weight_sum` the correctly rounded Σ w_i.
 * Infinite values are counted aside (+inf and −inf together make a NaN
 * sum), as are NaN values.  Min, max and counts are exact by nature.
 *
 * The struct is plain data of fixed size with no pointers: send its bytes
 * between processes of the same build (it holds int64 and double in host
 * order).  Treat its fields as read-only; the library checks the state it
 * is given (IE_INVALID_ARGUMENT for a struct it did not make).
 *
 * A state knows what its values are (`kind`): a call marks the state it
 * gives with a fingerprint of its quantity (the call, its kind and the
 * parameters that kind uses: an entropy is not a KL, nor KL at T = 1 the
 * KL at T = 2), and ie_partial_merge refuses states of two quantities.  A
 * state from ie_partial_init is of any kind until merged with a marked one;
 * ie_partial_add leaves the kind as it is. */

#define IE_PARTIAL_VERSION 1
/* Limbs of the exact sums: limb k holds 32 bits of weight 2^(32 k − 1088);
 * the top one is signed.  68 limbs cover every double and 2^63 of them. */
#define IE_PARTIAL_LIMBS 68
/* Rows a piece should hold, preferably: the `infoest` command splits rows
 * among MPI ranks in whole blocks of this many rows (any split gives the
 * same bits; whole blocks keep the pieces' files aligned). */
#define IE_PARTIAL_BLOCK_ROWS 4096

typedef struct {
  uint32_t version;   /* IE_PARTIAL_VERSION */
  uint32_t kind;      /* what the values are: 0 any, else a call's fingerprint */
  int64_t row_begin;  /* the rows covered, [row_begin, row_end), counted */
  int64_t row_end;    /* in the caller's numbering of all rows */
  int64_t rows_kept;  /* rows with a non-zero weight (not ignored) */
  int64_t count_pinf, count_ninf, count_nan; /* kept values +inf, −inf, NaN */
  double min, max;    /* over kept rows; +inf / −inf when none */
  int64_t sum[IE_PARTIAL_LIMBS];        /* Σ w v over finite kept values */
  int64_t weight_sum[IE_PARTIAL_LIMBS]; /* Σ w over kept rows */
} ie_partial;

/* An empty state covering no rows: [first_row, first_row).  A NULL
 * `partial` is a no-op. */
IE_API void ie_partial_init(ie_partial *partial, int64_t first_row);

/* Add `values` (1-D [n] f32 or f64, host memory) as rows
 * [row_end, row_end + n) of `partial`, weighted by `weights` (NULL: every
 * row kept with weight 1; else 1-D [n], as ie_entropy's row_weights: a mask
 * of bool/u8/i32/i64, or non-negative finite f32/f64 weights; rows of weight
 * 0 are covered but not kept).  For engines that compute per-row values
 * themselves.  Values may be ±inf or NaN (counted aside, see above). */
IE_API ie_status ie_partial_add(ie_context *ctx, ie_partial *partial,
                                const DLTensor *values, const DLTensor *weights);

/* a ← a followed by b.  b must begin where a ends (b->row_begin ==
 * a->row_end), else IE_INVALID_ARGUMENT: merging is in row order, so a
 * piece can be neither lost nor counted twice.  On failure a is unchanged. */
IE_API ie_status ie_partial_merge(ie_context *ctx, ie_partial *a,
                                  const ie_partial *b);

/* The summary of the rows covered: rows = row_end − row_begin, the exact
 * sums rounded to nearest, mean = sum / weight_sum.  A state with no kept
 * row is IE_EMPTY_REDUCTION, as for a call. */
IE_API ie_status ie_partial_finalize(ie_context *ctx, const ie_partial *partial,
                                     ie_summary *summary);

/* ---- One distribution a row (docs/SPEC.md §2) ------------------------------- */

typedef struct {
  size_t size;        /* sizeof, or 0 (see "Options structs") */
  double temperature; /* 0 means 1.  softmax(a / T).  Every call's T is finite
                       * and at least 1/FLT_MAX (2.9e-39: 1/T is a float),
                       * else IE_INVALID_ARGUMENT */
} ie_softmax_options;

/* out[b, i] = a[b, i] / T − lse(a[b] / T).  `out` has the shape of `logits`
 * (its own row stride allowed) and dtype f32, f16, bf16 (or f64 on the CPU). */
IE_API ie_status ie_log_softmax(ie_context *ctx, const DLTensor *logits,
                                DLTensor *out, const ie_softmax_options *opt);
/* out[b, i] = softmax(a[b] / T)_i; `out` as for ie_log_softmax. */
IE_API ie_status ie_softmax(ie_context *ctx, const DLTensor *logits,
                            DLTensor *out, const ie_softmax_options *opt);
/* out[b] = lse(a[b] / T); `out` is 1-D [B] f32 or f64. */
IE_API ie_status ie_logsumexp(ie_context *ctx, const DLTensor *logits,
                              DLTensor *out, const ie_softmax_options *opt);

typedef enum {
  IE_ENTROPY_SHANNON = 0, /* −Σ p log p */
  IE_ENTROPY_RENYI = 1,   /* log(Σ p^α)/(1−α); α = 1 Shannon; α = INFINITY: −log max p */
  IE_ENTROPY_TSALLIS = 2  /* (1 − Σ p^α)/(α − 1); α = 1 Shannon */
} ie_entropy_kind;

typedef struct {
  size_t size; /* sizeof, or 0 (see "Options structs") */
  ie_input_kind input;  /* logits (default) or probs */
  double temperature;   /* 0 means 1; probs: p^(1/T) renormalised */
  ie_entropy_kind kind; /* default Shannon */
  double alpha;         /* order for Rényi / Tsallis, taken as given (0 is valid) */
  /* Optional 1-D [B] row weights: bool/u8/i32/i64 as a mask, f32/f64 as weights
   * (non-negative, finite).  Host or device memory. */
  const DLTensor *row_weights;
  /* Since 0.2.  Non-NULL: *partial also receives the partial state of the
   * rows of this call (see "Partial states"), as rows [first_row,
   * first_row + B) of the caller's whole; with `summary` NULL only it is
   * filled.  Left as it was when the call fails. */
  ie_partial *partial;
  int64_t first_row;
} ie_entropy_options;

/* Entropy of each row, in nats.  `x` is [B, V] (or [V]) f32, f16, bf16 (f64
 * on the CPU).  Outputs, each may be NULL:
 *   per_row: 1-D [B], f32 or f64, host or device memory: every row's value
 *            (rows of weight 0 too; they are only left out of the summary);
 *   summary: host struct, the reductions over the kept rows. */
IE_API ie_status ie_entropy(ie_context *ctx, const DLTensor *x,
                            DLTensor *per_row, const ie_entropy_options *opt,
                            ie_summary *summary);

typedef struct {
  size_t size; /* sizeof, or 0 (see "Options structs") */
  double temperature;   /* 0 means 1 */
  int64_t ignore_index; /* rows whose label equals it are masked */
  int has_ignore_index; /* 0: no label is ignored */
  const DLTensor *row_weights; /* as for ie_entropy; combined with the mask */
  ie_partial *partial; /* since 0.2: as for ie_entropy (ignored rows: not kept) */
  int64_t first_row;
} ie_nll_options;

/* Negative log-likelihood lse(a/T) − a_y/T, in nats, for each row's label y
 * (`labels`: int32 or int64, 1-D [B]).  Outputs as for ie_entropy: `per_row`
 * 1-D [B] f32 or f64 (host or device, may be NULL), `summary` (host, may be
 * NULL).  Ignored rows get 0 in `per_row` and are not kept in the
 * summary.  A label outside [0, V) that is not ignored is IE_BAD_LABEL.  A
 * label pointing at a -inf logit gives +inf, a result, not an error. */
IE_API ie_status ie_nll(ie_context *ctx, const DLTensor *logits,
                        const DLTensor *labels, DLTensor *per_row,
                        const ie_nll_options *opt, ie_summary *summary);

/* ---- Two distributions a row (docs/SPEC.md §3) ------------------------------- */

#define IE_DIVERGENCE_MAP(X)                \
  X(KL, "kl")                               \
  X(REVERSE_KL, "reverse-kl")               \
  X(JEFFREYS, "jeffreys")                   \
  X(CROSS_ENTROPY, "cross-entropy")         \
  X(JS, "js")                               \
  X(TV, "tv")                               \
  X(HELLINGER, "hellinger")                 \
  X(BHATTACHARYYA, "bhattacharyya")         \
  X(CHI2, "chi2")                           \
  X(ALPHA, "alpha")                         \
  X(RENYI, "renyi")                         \
  X(TSALLIS, "tsallis")                     \
  X(CAUCHY_SCHWARZ, "cauchy-schwarz")

typedef enum {
#define IE__DIV_ENUM(name, str) IE_DIV_##name,
  IE_DIVERGENCE_MAP(IE__DIV_ENUM)
#undef IE__DIV_ENUM
  IE_DIV_COUNT_
} ie_divergence_kind;

IE_API const char *ie_divergence_name(ie_divergence_kind k); /* "kl", ... */
IE_API int ie_divergence_parse(const char *name); /* -1 if unknown */

typedef struct {
  size_t size; /* sizeof, or 0 (see "Options structs") */
  ie_input_kind p_input; /* logits (default) or probs */
  ie_input_kind q_input; /* logits (default) or probs: mixed is allowed */
  double temperature;    /* 0 means 1; applies to both */
  double alpha;          /* order for alpha, renyi (INFINITY allowed), tsallis */
  double beta;           /* JS weight in (0, 1); 0 means ½ */
  const DLTensor *row_weights; /* as for ie_entropy */
  ie_partial *partial; /* since 0.2: as for ie_entropy */
  int64_t first_row;
} ie_divergence_options;

/* D(p_b ‖ q_b) for each row, in nats.  p and q have the same [B, V] (or [V])
 * and may have different dtypes (f32, f16, bf16; f64 on the CPU) and row
 * strides.  Outputs as for ie_entropy, each may be NULL: `per_row` 1-D [B]
 * f32 or f64, host or device memory, one value a row (weight-0 rows too);
 * `summary` (host) the reductions over the kept rows.  Infinite divergences
 * are +inf results (in per_row, and then in the summary's sum and mean). */
IE_API ie_status ie_divergence(ie_context *ctx, ie_divergence_kind kind,
                               const DLTensor *p, const DLTensor *q,
                               DLTensor *per_row,
                               const ie_divergence_options *opt,
                               ie_summary *summary);

/* ---- Sinkhorn: entropic optimal transport (docs/SPEC.md §4) -------------------- */

/* How a cost is built from point clouds X (n×d), Y (m×d). */
typedef enum {
  IE_COST_SQEUCLIDEAN = 0,      /* ‖x − y‖² (POT's convention) */
  IE_COST_HALF_SQEUCLIDEAN = 1, /* ½‖x − y‖² (GeomLoss's) */
  IE_COST_EUCLIDEAN = 2         /* ‖x − y‖ */
} ie_cost_metric;

typedef struct {
  size_t size; /* sizeof, or 0 (see "Options structs") */
  /* The entropic regularisation ε, in the cost's units (POT's `reg`).
   * Required: there is no default, and ε ≤ 0, NaN or inf is
   * IE_INVALID_ARGUMENT. */
  double epsilon;
  int64_t max_iter; /* full (f, g) iterations; 0 means 1000 */
  /* Stop when marginal_error ≤ tol (balanced), or when no potential moved by
   * more than tol·ε in an iteration (unbalanced, where the marginals are not
   * matched by design).  0 means 1e-6. */
  double tol;
  /* Iterations between convergence checks (each check is fused into the
   * next pass; a check costs no extra pass, the solver may run up to this
   * many iterations past the point of convergence).  0 means 10. */
  int64_t check_every;
  ie_cost_metric metric; /* for point clouds; default sqeuclidean */
  /* ε-scaling: nonzero turns it on.  The solver first runs eps_stage_iter
   * iterations (0 means 1) at each of ε_k = eps_start·eps_factor^k while
   * ε_k > ε, keeping the potentials, then iterates at ε to convergence.
   * eps_start 0 means the largest cost (for point clouds: the cost across
   * their bounding box); eps_factor in (0, 1), 0 means 0.5.  Those
   * iterations count in `iterations` and against max_iter. */
  int eps_scaling;
  double eps_start;
  double eps_factor;
  int64_t eps_stage_iter;
  /* Unbalanced transport: ρ > 0 relaxes the marginals with ρ·KL(P1‖a) +
   * ρ·KL(Pᵀ1‖b), and the updates are damped by τ = ρ/(ρ+ε):
   * f_i = ε log a_i − τ ε LSE_j((g_j − C_ij)/ε) (POT's reg_type="kl",
   * reg_m = ρ).  0 or +inf means balanced. */
  double rho;
  /* Nonzero: also compute the debiased divergence (three solves).  With a
   * given cost matrix it needs cost_xx ([n, n] or [B, n, n]) and cost_yy
   * ([m, m] or [B, m, m]), the costs within each side. */
  int divergence;
  const DLTensor *cost_xx, *cost_yy;
  /* Point clouds: the n×m cost (and its transpose, in double) is built once
   * when B·n·m·16 bytes fit in this budget; otherwise it is computed in tiles
   * on the fly in every pass, so memory stays O(B·(n + m)·d).  0 means
   * 1 GiB. */
  size_t memory_budget;
  /* Fields below were added after the first version (size 0 reads none). */
  /* Nonzero: point clouds on a GPU backend (CUDA, OpenCL) iterate in
   * float32 tiles, as FlashSinkhorn and KeOps do: no n × m matrix whatever
   * memory_budget, the cost of a pair formed in float32 from the points'
   * coordinate differences, the log-sum-exp in float32 within a tile of
   * columns and merged across tiles in double; potentials stay double and
   * the results are measured from them in double.  Faster on GPUs (most
   * of all where double is slow), less exact, as the float rounding of
   * C/ε grows when ε shrinks: with r = (median cost)/ε, transport_cost and
   * objective within max(2e-6, 3e-8·r) relative of float64 (3e-5 at ε =
   * 1e-3 of the median cost), and the returned plan's marginal error,
   * measured in double, within max(2e-6, 1.5e-7·r) even when the float32
   * check met a smaller tol (docs/SPEC.md §4 has the measurements).  A
   * given cost matrix, the CPU backend, and d above 6143 always run in
   * double (the field is then ignored).  Default 0: double everywhere,
   * transport_cost within 1e-6 relative of POT. */
  int single_precision;
} ie_sinkhorn_options;

/* One problem's results.  P_ij = exp((f_i + g_j − C_ij)/ε) is the plan of
 * the returned potentials. */
typedef struct {
  double transport_cost; /* ⟨P, C⟩, what ot.sinkhorn2(a, b, M, ε) returns */
  /* OT_ε(a, b) = ⟨P, C⟩ + ε·KL(P ‖ a⊗b), KL the generalised one
   * (Σ P log(P/Q) − Σ P + Σ Q, the usual one when the masses agree); when
   * unbalanced, + ρ·KL(P1‖a) + ρ·KL(Pᵀ1‖b). */
  double objective;
  /* OT_ε(a, b) − ½OT_ε(a, a) − ½OT_ε(b, b) when asked for; NaN otherwise. */
  double divergence;
  double marginal_error; /* ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ of the returned plan */
  int64_t iterations;    /* full iterations run for this problem */
  /* 1 if the stopping rule was met within max_iter (with `divergence`: for
   * all three solves).  Not converging is not a failed call. */
  int converged;
} ie_sinkhorn_result;

/* Entropic optimal transport for a batch of B problems of one shape, in one
 * launch a pass, in the log domain (no overflow for small ε).
 *
 *   a: [n] or [B, n]; b: [m] or [B, m]: non-negative weights, each problem's
 *      renormalised to sum 1 (a zero-mass point takes no part).
 *   The cost, exactly one of:
 *     cost: [n, m] (shared by the batch) or [B, n, m];
 *     x: [n, d] or [B, n, d] and y: [m, d] or [B, m, d], with opt->metric.
 *   An input without the batch dimension (or with batch 1) is shared by all
 *   problems; B is the batch of the others, which must agree.
 *   results: B entries (host memory).
 *   f: [B, n] (or [n] when B = 1), g: [B, m], plan: [B, n, m] (or [n, m]):
 *      optional outputs, f32 or f64 (f64 on the CPU only), NULL to skip.
 *
 * Inputs may be f32, f16, bf16, or f64 (CPU); the arithmetic is double on
 * every backend (an OpenCL device needs cl_khr_fp64, else IE_UNSUPPORTED),
 * but for point clouds on a GPU with opt->single_precision (float32 tiles).
 * Bad input: a negative weight (IE_NEGATIVE), NaN or inf in a weight, a point
 * or the cost (IE_NONFINITE), zero total mass (IE_EMPTY_ROW), shapes that do
 * not agree (IE_BAD_SHAPE), bad options such as ε ≤ 0 (IE_INVALID_ARGUMENT);
 * the message names the tensor, the problem and the element.  Same inputs,
 * same backend: bit-identical results.
 *
 * On a GPU context, device tensors stay on the device: the weights are
 * checked and normalised there, the points or the cost converted and
 * checked there (and the box cost ε-scaling starts from reduced there);
 * f, g and the plan are written there, and each convergence check (every
 * check_every iterations) is decided there too: the stopping rule applied
 * per problem, a stopped problem's potentials put back and its iteration
 * count recorded on the device.  A solve reads back 40 bytes of input
 * status once, one 8-byte word (the problems left) at each check, and at
 * the end 8·B bytes of iteration counts and 96·B bytes of the results'
 * terms; it writes nothing: it does not grow with n, m or d (only on a
 * failure: the bad element and its problem's total, for the message).
 * Host tensors are copied in first. */
IE_API ie_status ie_sinkhorn(ie_context *ctx, const DLTensor *a,
                             const DLTensor *b, const DLTensor *cost,
                             const DLTensor *x, const DLTensor *y,
                             const ie_sinkhorn_options *opt,
                             ie_sinkhorn_result *results, DLTensor *f,
                             DLTensor *g, DLTensor *plan);

/* ---- k-nearest-neighbour estimators (docs/SPEC.md §5) ---------------------------- *
 * On a GPU context (CUDA, OpenCL) the samples stay in device memory: the
 * caller's tensors are read in place (host ones staged once) into float32
 * workspace buffers by one pass that also finds a NaN or inf; ie_knn writes
 * `indices` and `distances` in place; the estimators keep the k-th
 * distances, counts and density ratios on the device and reduce their
 * terms there, so that a call reads back only its statistics (64 bytes a
 * reduction, at most two a call, and 4 bytes a load; after a failure also
 * the one row the message names) and, once warm, allocates nothing.  With `jitter` > 0 the samples are read to
 * the host, jittered there (the seeded stream is defined on the host) and
 * sent once as float32. */

/* Distances between samples in ℝ^d. */
typedef enum {
  IE_METRIC_EUCLIDEAN = 0, /* ‖x − y‖₂ */
  IE_METRIC_CHEBYSHEV = 1  /* max-norm ‖x − y‖∞ */
} ie_knn_metric;

typedef struct {
  size_t size;          /* sizeof, or 0 (see "Options structs") */
  ie_knn_metric metric; /* default Euclidean */
  /* Nonzero: `queries` and `refs` are the same set (same number of rows,
   * row i of one is row i of the other) and query i never gets itself. */
  int exclude_self;
} ie_knn_options;

/* Exact k nearest neighbours.  For each row i of `queries` [m, d], the k rows
 * of `refs` [n, d] nearest to it, sorted by (distance, index): ties go to
 * the smaller index.  Outputs, host or device memory, each may be NULL:
 * `indices` [m, k] int64 or int32 (row numbers of `refs`); `distances`
 * [m, k] f64 or f32 (in the metric's units).
 * Points are f32, f16, bf16 (f64 on the CPU); they are compared in double.
 * The kept neighbours' distances are computed from coordinate differences in
 * double (docs/SPEC.md §5): a duplicate is at exactly 0.  The search is exact: on
 * the CPU an exact k-d tree for d ≤ 8, and for the Euclidean metric above
 * that a float32 candidate kernel of the expanded form whose rounding margin
 * never drops a true neighbour (brute force in double otherwise); memory
 * beyond the inputs and outputs stays bounded by tiles whatever n.  1 ≤ k ≤ n (k ≤ n − 1 with exclude_self); NaN or inf in
 * a point is IE_NONFINITE naming the tensor and row. */
IE_API ie_status ie_knn(ie_context *ctx, const DLTensor *queries, const DLTensor *refs,
                        int64_t k, DLTensor *indices, DLTensor *distances,
                        const ie_knn_options *opt);

/* Which estimator ie_knn_divergence runs. */
typedef enum {
  IE_KNN_DIV_KL = 0,    /* Wang–Kulkarni–Verdú KL(P_x ‖ P_y) */
  IE_KNN_DIV_RENYI = 1, /* Póczos–Schneider Rényi divergence of order α */
  IE_KNN_DIV_NNR = 2    /* Noshad–Moon–Sekeh–Hero nearest-neighbour ratio,
                           of the kind in `nnr_kind` */
} ie_knn_divergence_method;

typedef struct {
  size_t size;     /* sizeof, or 0 (see "Options structs") */
  int64_t k;       /* neighbours; 0 means 3 */
  double alpha;    /* the order (Rényi entropy, Rényi divergence, NNR renyi,
                      alpha, tsallis) ... */
  int has_alpha;   /* ... taken only when nonzero: ie_knn_entropy without it
                      is Kozachenko–Leonenko (Shannon); the Rényi divergence
                      and NNR renyi/alpha/tsallis need it */
  /* NNR only: the divergence computed from the density-ratio estimates r_i
   * (below).  Default IE_DIV_KL. */
  ie_divergence_kind nnr_kind;
  double beta;     /* NNR js weight in (0, 1); 0 means ½ */
  /* Duplicates: 0 (default) makes a zero distance that the formula takes
   * the log of an error (IE_INVALID_ARGUMENT, with the number of points
   * affected).  jitter > 0 instead adds Gaussian noise of standard deviation
   * jitter·s_c to coordinate c of every point, s_c that column's standard
   * deviation in its tensor (1 if it is 0), drawn from `seed`
   * (the same seed gives the same points).  On GPU backends the perturbed
   * points are rounded to float32, so jitter below about 1e-6 may not
   * separate duplicates there. */
  double jitter;
  uint64_t seed;
} ie_knn_estimator_options;

/* The result of a kNN estimator: a host struct, filled on success (a NULL
 * `result` is accepted and gets nothing). */
typedef struct {
  double estimate; /* nats; raw: a negative MI or divergence is sampling
                      noise, returned as is, never clipped */
  int64_t n;       /* rows of x */
  int64_t m;       /* rows of y (0 for the entropy) */
  int64_t d;       /* dimension of x (MI: of x plus y) */
  int64_t k;       /* the k used */
} ie_knn_result;

/* Differential entropy of the samples x [N, d], in nats.  ρ_k(i) is the
 * Euclidean distance from x_i to its k-th nearest neighbour in x without
 * itself, V_d = π^(d/2)/Γ(d/2 + 1):
 *   without has_alpha (Kozachenko–Leonenko):
 *     ψ(N) − ψ(k) + log V_d + (d/N) Σ log ρ_k(i)
 *   with α (Leonenko–Pronzato–Savani), 0 < α < k + 1:
 *     log((1/N) Σ ζ_i^(1−α)) / (1 − α),  ζ_i = (N−1) C_k V_d ρ_k(i)^d,
 *     C_k = (Γ(k)/Γ(k+1−α))^(1/(1−α)); α = 1 gives the limit
 *     (1/N) Σ log ζ_i with C_k = e^(−ψ(k)).
 * 1 ≤ k < N; a zero ρ_k(i) is an error unless opt->jitter is set. */
IE_API ie_status ie_knn_entropy(ie_context *ctx, const DLTensor *x,
                                const ie_knn_estimator_options *opt,
                                ie_knn_result *result);

/* Divergence of the law of x [N, d] from that of y [M, d], in nats.
 * ν_k(i) is the distance from x_i to its k-th nearest neighbour in y.
 *   IE_KNN_DIV_KL (Wang–Kulkarni–Verdú):
 *     (d/N) Σ log(ν_k(i)/ρ_k(i)) + log(M/(N−1))
 *   IE_KNN_DIV_RENYI (Póczos–Schneider), α > 0, k > |α − 1|:
 *     log(B_{k,α} (1/N) Σ ((N−1) ρ_k(i)^d / (M ν_k(i)^d))^(1−α)) / (α − 1),
 *     B_{k,α} = Γ(k)² / (Γ(k−α+1) Γ(k+α−1)); α = 1 gives the KL estimate.
 *   IE_KNN_DIV_NNR (Noshad–Moon–Sekeh–Hero): for each y_i, among its k
 *     nearest neighbours in x ∪ y (itself excluded; ties to x first, then by
 *     index) N_i are from x and M_i from y; r_i = (M/N) N_i / (M_i + 1)
 *     estimates p_x/p_y at y_i.  nnr_kind IE_DIV_RENYI (α > 0, α ≠ 1):
 *     log((1/M) Σ r_i^α)/(α − 1); otherwise (1/M) Σ g(r_i) with the g of
 *     docs/SPEC.md §3 written as an f-divergence E_y[g(p_x/p_y)]: kl t log t,
 *     reverse-kl −log t, jeffreys (t−1) log t, js (β), tv ½|t−1|, hellinger
 *     ½(√t−1)², chi2 (t−1)², alpha (t^α − αt − (1−α))/(α(α−1)), tsallis
 *     (t^α − t)/(α−1) (the forms that equal docs/SPEC.md §3 when E_y[t] = 1 and are
 *     continuous at α = 1, 0); bhattacharyya is −log((1/M) Σ √r_i).  cross-entropy and
 *     cauchy-schwarz are not functions of the ratio: IE_INVALID_ARGUMENT.
 *     An r_i = 0 under reverse-kl gives +inf, an answer.
 * 1 ≤ k < N and k < M. */
IE_API ie_status ie_knn_divergence(ie_context *ctx, ie_knn_divergence_method method,
                                   const DLTensor *x, const DLTensor *y,
                                   const ie_knn_estimator_options *opt,
                                   ie_knn_result *result);

/* Mutual information of paired samples x [N, dx] and y [N, dy], in nats:
 * the first KSG estimator (Kraskov–Stögbauer–Grassberger 2004)
 *   ψ(k) + ψ(N) − (1/N) Σ [ψ(n_x(i) + 1) + ψ(n_y(i) + 1)],
 * with ε_i the max-norm distance max(‖Δx‖∞, ‖Δy‖∞) from (x_i, y_i) to its
 * k-th nearest neighbour in the joint space and n_x(i) = #{j ≠ i :
 * ‖x_j − x_i‖∞ < ε_i} (strictly), likewise n_y.  Negative estimates are
 * returned as they are.  1 ≤ k < N. */
IE_API ie_status ie_knn_mutual_information(ie_context *ctx, const DLTensor *x,
                                           const DLTensor *y,
                                           const ie_knn_estimator_options *opt,
                                           ie_knn_result *result);

/* ---- Spectral measures of similarity matrices (docs/SPEC.md §6) -------------- */

/* The similarity k(x, y), always with k(x, x) = 1. */
typedef enum {
  IE_KERNEL_COSINE = 0,     /* x·y / (‖x‖ ‖y‖); a zero row is an error */
  IE_KERNEL_RBF = 1,        /* exp(−‖x − y‖² / (2σ²)); σ > 0 must be given */
  IE_KERNEL_PRECOMPUTED = 2 /* the tensor is K itself: [n, n], symmetric,
                               unit diagonal (each within 16 ulps of its dtype) */
} ie_kernel;

/* Which eigenproblem ran.  PRIMAL: the n × n matrix K/n.  DUAL (cosine only):
 * the d × d matrix X̂ᵀX̂/n of the row-normalised samples, whose nonzero
 * eigenvalues are those of K/n. */
typedef enum {
  IE_SPECTRAL_AUTO = 0,   /* as an option: DUAL for cosine when d < n, else PRIMAL */
  IE_SPECTRAL_PRIMAL = 1,
  IE_SPECTRAL_DUAL = 2
} ie_spectral_path;

typedef struct {
  size_t size;          /* sizeof, or 0 (see "Options structs") */
  ie_kernel kernel;     /* default cosine */
  double sigma;         /* rbf bandwidth; required (> 0, finite) for rbf */
  double q;             /* the order: 0, ½, 1, 2, INFINITY or any q >= 0 ... */
  int has_q;            /* ... taken only when has_q != 0; else q = 1 (Shannon) */
  ie_spectral_path path; /* default AUTO; DUAL only with cosine */
  /* Eigenvalues in float32 (cuSOLVER Ssyevd / LAPACK ssyevd): faster on GPUs,
   * about 1e-5 relative.  Default 0: float64, within 1e-6 relative of a float64
   * reference. */
  int single_precision;
} ie_vendi_options;

/* The result of one spectral call: a host struct (`result` must not be NULL,
 * but for ie_vendi_batch).
 *
 * Eigenvalues λ of K/n with |λ| <= tol = 2 (m + d) ε λ_max are zero (m the
 * order of the eigenproblem, d the features (n for a given K); ε the larger
 * of the working precision's epsilon and, for a given K, its dtype's: NumPy's
 * matrix_rank rule, widened by the Gram's own rounding).  Negative
 * eigenvalues from rounding are clamped to 0 and the largest clamp is
 * `max_clamp`.  A given K with an eigenvalue below −tol is not positive
 * semi-definite: IE_INVALID_ARGUMENT.  The kept λ are divided by their sum
 * (1 up to rounding) so that every order, and q → 1, is continuous. */
typedef struct {
  double value;          /* the score, entropy (nats) or information (nats) */
  double max_clamp;      /* largest negative eigenvalue clamped to 0, as a
                            positive number; 0 when none was */
  ie_spectral_path path; /* PRIMAL or DUAL: what ran */
  int64_t n;             /* samples */
  int64_t positive;      /* eigenvalues kept as > 0 (of the last matrix; of a
                            batch, the fewest over its sets) */
} ie_spectral_result;

/* Vendi score of order q: exp(H_q(λ)), H_q the Rényi entropy of docs/SPEC.md §2 over
 * λ > 0.  q = 1: exp(−Σ λ log λ) (the default); q = 0: the number of λ > 0;
 * q = INFINITY: 1 / max λ.  n identical samples give 1; n orthonormal ones
 * give n, for every q.
 *
 * `x` is [n, d] samples (f32, f16, bf16; f64 on the CPU) or, with
 * IE_KERNEL_PRECOMPUTED, K itself [n, n].  NaN or ±inf in x is IE_NONFINITE
 * (the message names the row); a cosine row of zero norm is
 * IE_INVALID_ARGUMENT; a non-symmetric K or one whose diagonal is not 1 is
 * IE_INVALID_ARGUMENT naming the entry.  An eigensolver that reports failure
 * is IE_BACKEND_FAILURE.  `result` must not be NULL. */
IE_API ie_status ie_vendi(ie_context *ctx, const DLTensor *x,
                          const ie_vendi_options *opt,
                          ie_spectral_result *result);

/* Many small sets in one call: `x` is [S, n, d] (or [S, n, n] for a given K;
 * the set stride must be n times the row stride), `scores` 1-D [S] f32 or
 * f64, in host or device memory.  `result` (may be NULL) gets the path, n,
 * the largest clamp over all sets and value = the mean score.  Sets of up
 * to 32 on CUDA go to one batched Jacobi solve (syevjBatched). */
IE_API ie_status ie_vendi_batch(ie_context *ctx, const DLTensor *x,
                                DLTensor *scores, const ie_vendi_options *opt,
                                ie_spectral_result *result);

typedef struct {
  size_t size;          /* sizeof, or 0 (see "Options structs") */
  ie_kernel kernel;     /* for x; default cosine */
  double sigma;         /* rbf bandwidth for x */
  double alpha;         /* the order: any α >= 0 or INFINITY ... */
  int has_alpha;        /* ... taken only when has_alpha != 0; else α = 1 */
  /* Mutual information only: y's kernel.  With separate_y = 0, y uses
   * `kernel` and `sigma`. */
  int separate_y;
  ie_kernel kernel_y;
  double sigma_y;
  ie_spectral_path path; /* as for ie_vendi (entropy of one matrix only) */
  int single_precision;  /* as for ie_vendi */
} ie_matrix_entropy_options;

/* Matrix-based Rényi α-entropy S_α(A) = log(Σ λ̂^α) / (1 − α), in nats, with
 * λ̂ the eigenvalues of A = K / tr K (= K/n, since K has a unit diagonal);
 * α = 1: von Neumann −Σ λ̂ log λ̂ (the default).  Inputs as for ie_vendi. */
IE_API ie_status ie_matrix_entropy(ie_context *ctx, const DLTensor *x,
                                   const ie_matrix_entropy_options *opt,
                                   ie_spectral_result *result);

/* Matrix-based joint entropy S_α(A∘B / tr(A∘B)) of paired samples x [n, dx]
 * and y [n, dy] (A, B from x and y); K_x∘K_y has a unit diagonal, so this is
 * the entropy of (K_x∘K_y)/n.  Always the primal path. */
IE_API ie_status ie_matrix_joint_entropy(ie_context *ctx, const DLTensor *x,
                                         const DLTensor *y,
                                         const ie_matrix_entropy_options *opt,
                                         ie_spectral_result *result);

/* Matrix-based mutual information I = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B)),
 * in nats.  max_clamp is the largest over the three matrices; `positive`
 * counts those of the joint one. */
IE_API ie_status ie_matrix_mutual_information(
    ie_context *ctx, const DLTensor *x, const DLTensor *y,
    const ie_matrix_entropy_options *opt, ie_spectral_result *result);


/* ---- MAUVE: divergence frontiers between two samples (docs/SPEC.md §8) ------- */

typedef struct {
  size_t size;      /* sizeof(ie_mauve_options), or 0 */
  /* k-means clusters k; 0 means ie_mauve_default_clusters(n_p, n_q), n_q the
   * smallest Q set.  2 <= k <= the rows of P and of the Q sets together. */
  int64_t clusters;
  /* PCA keeps the fewest leading components whose cumulative share of the
   * variance reaches this; 0 means 0.9; otherwise in (0, 1]. */
  double explained_variance;
  int64_t redo;     /* k-means starts, the lowest inertia kept; 0 means 5 */
  int64_t max_iter; /* Lloyd iterations at most; 0 means 500 */
  uint64_t seed;    /* the first clustering's seed (0 is a seed) */
  /* Clusterings in the seed ensemble, with seeds seed, seed+1, ...; the
   * scores are their means.  0 means 1. */
  int64_t seeds;
  int64_t grid;     /* λ points of the frontier; 0 means 25; at least 2 */
  double scaling;   /* the constant c; 0 means 5; > 0 */
} ie_mauve_options;

/* Scores of one Q set against P.  The *_std fields are the sample standard
 * deviations (ddof 1) over the seed ensemble; 0 with one seed. */
typedef struct {
  double mauve, frontier_integral, mauve_star, frontier_integral_star;
  double mauve_std, frontier_integral_std, mauve_star_std, frontier_integral_star_std;
} ie_mauve_scores;

/* What the clustering was (ie_mauve). */
typedef struct {
  int64_t clusters;   /* k */
  int64_t pca_dims;   /* components kept */
  double explained;   /* their share of the variance */
  int64_t n_p, d;     /* rows and width of P */
  double inertia;     /* Σ ‖y − c‖² over all rows, kept start, first seed */
  int64_t iterations; /* Lloyd iterations of that start */
} ie_mauve_info;

/* The default k of docs/SPEC.md §8: max(2, round(min(n_p, n_q) / 10)). */
IE_API int64_t ie_mauve_default_clusters(int64_t n_p, int64_t n_q);

/* The frontier and its integrals of given histograms (docs/SPEC.md §8, step 5
 * on): p_counts and q_counts are 1-D [k] host tensors (f32, f64, i32, i64) of
 * non-negative bin weights, normally counts; each is divided by its sum.
 * mauve_star and frontier_integral_star use the counts + ½ in every bin.
 * Computed as mauve-text 0.4 computes them (its get_fronter_integral leaves
 * out bins with |p_i − q_i| <= 1e-8; KL terms with p_i = 0 are 0).  `curve`
 * (may be NULL) receives (grid + 2) points (x, y), 2·(grid + 2) doubles:
 * (1, 0), then exp(−c·KL(q‖R_λ)), exp(−c·KL(p‖R_λ)) for λ ascending, then
 * (0, 1).  A negative, NaN or inf weight is IE_NEGATIVE / IE_NONFINITE
 * naming the bin; a zero sum IE_EMPTY_ROW.  Only opt->grid and opt->scaling
 * are read.  The _std fields are set to 0. */
IE_API ie_status ie_mauve_histograms(ie_context *ctx, const DLTensor *p_counts,
                                     const DLTensor *q_counts,
                                     const ie_mauve_options *opt,
                                     ie_mauve_scores *scores, double *curve);

/* MAUVE of each of the n_sets feature matrices q[s] [n_q_s, d] against p
 * [n_p, d] (f32, f16, bf16; f64 on the CPU; host or device memory), all
 * clustered jointly (docs/SPEC.md §8): rows scaled to unit L2 norm (a zero row
 * stays zero); PCA of all rows together (covariance by GEMM, on the CPU
 * float32 products of blocks of 2048 rows added in double; the leading axes
 * only by LAPACK dsytrd, dsterf, dstemr, dormtr);
 * k-means on the projected rows in float32: a k-means++ start (the greedy
 * variant, 2 + ⌊ln k⌋ candidates a centre, as scikit-learn) from the
 * SplitMix64 stream x_0 = seed ⊕ 0xD1B54A32D192ED03·(start + 1), u = (next
 * >> 11)·2⁻⁵³, then Lloyd iterations (assignment argmin_j ‖c_j‖² − 2 y·c_j,
 * ties to the lower j; centres the mean of their rows summed in double in
 * row order; an empty cluster keeps its centre) until no assignment changes
 * or max_iter; the start with the lowest inertia (then the earliest) is kept.
 * The same inputs, seed and backend give the same clusters, bit for bit,
 * whatever the context's thread count; the k-means++ start picks the same
 * rows on every backend (run on the device on a GPU).
 *
 * scores: n_sets entries.  info (may be NULL).  counts (may be NULL): host
 * int64 [(1 + n_sets) · k], the rows of P, then of each Q set, in each
 * cluster, for the first seed.  curves (may be NULL): host double
 * [n_sets · (grid + 2) · 2], each set's frontier as in ie_mauve_histograms,
 * first seed.  Bad input: NaN or inf in a feature (IE_NONFINITE naming the
 * set and row, and the column when the rows are host memory; ie_error_tensor
 * "p", or "q" with the set as ie_error_index), widths that differ (IE_BAD_SHAPE), a set of fewer than two
 * rows or k above the rows (IE_INVALID_ARGUMENT).  Honours the cancel flag. */
IE_API ie_status ie_mauve(ie_context *ctx, const DLTensor *p,
                          const DLTensor *const *q, int64_t n_sets,
                          const ie_mauve_options *opt, ie_mauve_scores *scores,
                          ie_mauve_info *info, int64_t *counts, double *curves);

/* ---- Discrete information (docs/SPEC.md §9) ------------------------------------ */

/* Tables are DLTensors of counts or masses: [X, Y] (a batch: [B, X, Y]) and
 * joints [S1, S2, T] (a batch: [B, S1, S2, T]), compact (strides NULL or
 * row-major), int32, int64, f32 or f64 (f64 on the CPU backend only, as
 * everywhere), in host or device memory.  Every
 * value must be finite and >= 0 (IE_NONFINITE, IE_NEGATIVE, naming the
 * cell).  Results are in nats. */

typedef struct {
  size_t size;            /* sizeof, or 0 */
  int64_t ignore_label;   /* pairs where x or y equals it are skipped ... */
  int has_ignore_label;   /* ... when nonzero (padding such as -1 or -100) */
} ie_count_options;

/* Count paired labels into `table` [X, Y], int64, host or device memory:
 * table[x_i, y_ij] += 1 for every i < N and j < k.  x is 1-D [N], y is [N]
 * or [N, k] (top-k routing: each of the k labels of row i pairs with x_i),
 * int32 or int64.  The table is ADDED to, never cleared: zero it first; two
 * shards counted into one table (or two tables added) give the table of
 * both.  Exact in 64-bit integers.  A label outside [0, X) or [0, Y) is
 * IE_BAD_LABEL naming the row (and column) and nothing is added.  On a GPU
 * the count runs on the device with 64-bit atomics.  On the CPU a table of
 * more than 2^18 cells is counted by bands of rows through the context's
 * workspace (4 bytes a pair, at most 2^25 pairs a batch, kept between calls
 * until ie_workspace_release). */
IE_API ie_status ie_count_pairs(ie_context *ctx, const DLTensor *x, const DLTensor *y,
                                DLTensor *table, const ie_count_options *opt);

typedef enum {
  IE_PMI_PLAIN = 0,    /* log(p(x,y) / (p(x) p(y))); −inf where p(x,y) = 0 */
  IE_PMI_NORMALIZED = 1, /* nPMI = PMI / (−log p(x,y)) in [−1, 1] */
  IE_PMI_POSITIVE = 2  /* PPMI = max(PMI, 0) */
} ie_pmi_kind;

typedef struct {
  size_t size;        /* sizeof, or 0 */
  ie_pmi_kind kind;   /* default IE_PMI_PLAIN */
  /* A pair whose count (as given, before smoothing) is below min_count gets
   * PMI −inf, nPMI −1, PPMI 0.  0: no threshold. */
  double min_count;
  /* Add-k smoothing: k (>= 0) is added to every cell; the marginals and N
   * grow accordingly (C_x + kY, C_y + kX, N + kXY). */
  double smooth;
  /* Optional marginal counts x_counts [X] and y_counts [Y] (e.g. unigram
   * counts of a co-occurrence table), with `total` the N they are counts of
   * (0: the sum of x_counts).  NULL: the table's own row and column sums and
   * N its total.  Counts that contradict each other (C_xy > C_x, C_xy > C_y,
   * C_x > N or C_y > N) are IE_INVALID_ARGUMENT naming the cell: never a
   * score above 1. */
  const DLTensor *x_counts;
  const DLTensor *y_counts;
  double total;
} ie_pmi_options;

typedef struct {
  double n;                   /* N (after smoothing) */
  int64_t rows, cols;         /* X, Y */
  double min, max;            /* of the returned kind over all cells */
  double min_npmi, max_npmi;  /* of nPMI over all cells, whatever the kind */
} ie_pmi_result;

/* The PMI map of a count table `counts` [X, Y] into `out` [X, Y] (f32 or f64,
 * compact, host or device memory; may be NULL for the result only), with
 * the limits of docs/SPEC.md §9: nPMI is −1 where p(x,y) = 0 and 1 where
 * p(x,y) = 1 (not 0/0); it never leaves [−1, 1].  A table with N = 0 is
 * IE_EMPTY_ROW.  `result` may be NULL. */
IE_API ie_status ie_pmi(ie_context *ctx, const DLTensor *counts, DLTensor *out,
                        const ie_pmi_options *opt, ie_pmi_result *result);

typedef enum {
  IE_AVERAGE_ARITHMETIC = 0, /* (H(X) + H(Y)) / 2 */
  IE_AVERAGE_GEOMETRIC = 1,  /* sqrt(H(X) H(Y)) */
  IE_AVERAGE_MIN = 2,
  IE_AVERAGE_MAX = 3
} ie_average;

typedef struct {
  size_t size;        /* sizeof, or 0 */
  ie_average average; /* the mean of H(X), H(Y) in NMI and AMI */
  int skip_ami;       /* nonzero: ami and emi are NaN (saves E[I]) */
} ie_table_mi_options;

typedef struct {
  double mi;     /* I(X;Y) = Σ p(x,y) log(p(x,y)/(p(x)p(y))), never < 0 */
  double nmi;    /* I / mean(H(X), H(Y)) */
  double ami;    /* (I − E[I]) / (mean(H(X), H(Y)) − E[I]) */
  double emi;    /* E[I] under the hypergeometric model (Vinh et al. 2010) */
  double hx, hy; /* H(X), H(Y) of the marginals */
  double n;      /* N, the table's total */
} ie_table_mi_result;

/* MI, NMI and AMI of a contingency table `counts` [X, Y], or of each table
 * of a batch [B, X, Y]; `results` has B entries (1 for [X, Y]).  As
 * scikit-learn's mutual_info_score, normalized_mutual_info_score and
 * adjusted_mutual_info_score on the labels the table counts, including their
 * conventions: with one (non-empty) row and one column, NMI = AMI = 1; NMI
 * is 0 when I = 0; AMI's denominator is kept at least machine epsilon
 * away from 0.  E[I] is exact (Vinh, Epps, Bailey 2010): per pair of
 * marginals (a, b), summed over n_ij from the hypergeometric mode outwards
 * with the ratio of consecutive terms, stopping where the terms fall below
 * 1e-18 of the largest; pairs of equal marginals are computed once.  AMI
 * needs integer counts (IE_INVALID_ARGUMENT naming the cell otherwise); a
 * table with N = 0 is IE_EMPTY_ROW naming it. */
IE_API ie_status ie_table_mi(ie_context *ctx, const DLTensor *counts,
                             const ie_table_mi_options *opt,
                             ie_table_mi_result *results);

typedef enum {
  IE_PID_IMIN = 0,  /* Williams–Beer: R = Σ_t p(t) min_i I(S_i; T = t) */
  IE_PID_MMI = 1,   /* R = min_i I(S_i; T) */
  IE_PID_BROJA = 2  /* U1 = min over Q with P's (s1,t), (s2,t) marginals of
                       I_Q(S1; T | S2) (Bertschinger et al. 2014) */
} ie_pid_measure;

typedef struct {
  size_t size;            /* sizeof, or 0 */
  ie_pid_measure measure; /* default IE_PID_IMIN */
} ie_pid_options;

/* One decomposition; I(S1;T) = R + U1, I(S2;T) = R + U2 and
 * I(S1,S2;T) = R + U1 + U2 + S hold to rounding; no part is below 0. */
typedef struct {
  double redundancy, unique1, unique2, synergy;
  double mi1, mi2, mi12;  /* I(S1;T), I(S2;T), I(S1,S2;T) */
  int64_t iterations;     /* BROJA: Newton steps taken (0 otherwise) */
} ie_pid_result;

/* Partial information decomposition of the joint `joint` [S1, S2, T] (or each
 * joint of [B, S1, S2, T]) of counts or probabilities (each joint divided by
 * its sum; a joint of zero mass is IE_EMPTY_ROW naming it).  `results`
 * (host, B entries; may be NULL) and `out` ([B, 4] or [4] for one joint:
 * R, U1, U2, S; f32 or f64, host or device; may be NULL).  Every measure
 * runs one joint a GPU thread (or CPU core); BROJA is a primal barrier
 * method (src/kernels/broja.h, the same source on every backend) to 1e-7 in
 * the objective, with scratch of (T(S1−1)(S2−1))² doubles a joint for its
 * dense Newton systems: meant for small joints, thousands at once.  On a
 * GPU, joints in device memory are checked there and a device `out` is
 * written there: a warm call with `results` NULL allocates nothing and
 * reads back one long (the first bad joint and its code); `results` brings
 * the 7 values (and BROJA's steps) a joint to the host.  Every joint is
 * checked before anything is written: a failed call leaves `out` untouched. */
IE_API ie_status ie_pid(ie_context *ctx, const DLTensor *joint, const ie_pid_options *opt,
                        ie_pid_result *results, DLTensor *out);

typedef struct {
  size_t size;     /* sizeof, or 0 */
  /* The number n of samples the covariance was estimated from (with the
   * mean estimated: the 1/(n−1) estimator).  0: no bias correction.
   * Otherwise every log det Σ_A (dimension d) is corrected by
   * −Σ_{k=1..d} [ψ((n−k)/2) − log((n−1)/2)], its bias under the Wishart law
   * (Cai, Liang, Zhou 2015); n must exceed the total dimension. */
  int64_t samples;
} ie_pid_gaussian_options;

/* Gaussian MMI PID from the covariance `cov` [d, d] (f32 or f64, symmetric,
 * positive definite; host or device) of (X1, X2, Y) with block sizes
 * sizes[0] + sizes[1] + sizes[2] = d: I(A;Y) = ½(log det Σ_A + log det Σ_Y −
 * log det Σ_{A,Y}), R = min(I(X1;Y), I(X2;Y)).  A non-positive-definite
 * block is IE_INVALID_ARGUMENT. */
IE_API ie_status ie_pid_gaussian(ie_context *ctx, const DLTensor *cov, const int64_t sizes[3],
                                 const ie_pid_gaussian_options *opt, ie_pid_result *result);

/* Pointwise MMI decomposition of per-element information maps i1, i2, i12 of
 * one shape (any, compact; f32 or f64): r = min(i1, i2), u1 = i1 − r,
 * u2 = i2 − r, s = i12 − r − u1 − u2, written to r, u1, u2, s (same shape,
 * f32 or f64; any may be NULL).  Host or device memory, one pass.  NaN or
 * inf in a map is IE_NONFINITE naming the element. */
IE_API ie_status ie_pid_pointwise(ie_context *ctx, const DLTensor *i1, const DLTensor *i2,
                                  const DLTensor *i12, DLTensor *r, DLTensor *u1,
                                  DLTensor *u2, DLTensor *s);

#ifdef __cplusplus
}
#endif
#endif /* INFOEST_H */
