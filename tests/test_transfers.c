/*
 * test_transfers.c — what a warm call costs a server (include/infoest.h,
 * "Workspace"): with every tensor in device memory, after warm-up, repeated
 * calls of every family allocate nothing on the device and move only a
 * few bytes between host and device (a summary, a status), however many
 * rows the input has.
 *
 * Counted two ways.  On OpenCL the program wraps the runtime: it defines
 * clCreateBuffer, clCreateSubBuffer, clEnqueueReadBuffer,
 * clEnqueueWriteBuffer, their Rect forms and clEnqueueMapBuffer itself
 * (exported, so the library's module binds to them), counts, and forwards
 * to the real ones (dlsym RTLD_NEXT).  On every GPU backend it also reads
 * the library's own counters (ie_workspace_query), which must agree that
 * nothing was allocated.
 *
 * Each case is called at the larger size (warm-up), then measured once at
 * the larger and once at the smaller size: no allocation in either, the
 * bytes moved at most the case's ceiling, and no more at the larger size
 * than at the smaller (plus 64 bytes): the transfer does not grow with the
 * input; every family's case is held to all three.  The test's own uploads
 * and buffers are made with counting off.
 * A plain program; without a GPU backend it says so and passes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infoest.h"
#if IE_TEST_HAVE_OPENCL
#include "infoest_opencl.h"
#endif
#if IE_TEST_HAVE_CUDA
#include <cuda_runtime.h>
#endif

static int failures, checks;

static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("FAIL: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  failures++;
}

/* ---- The OpenCL runtime, counted -------------------------------------------------- */

typedef struct {
  long buffers, sub_buffers;         /* allocations and views (the library is OpenCL 1.2: no SVM) */
  long copies;                       /* reads, writes, maps */
  unsigned long long bytes;          /* moved by them */
} cl_counts;

static cl_counts counted;
static int counting;

#if IE_TEST_HAVE_OPENCL
#define REAL(name) \
  static __typeof__(&name) real; \
  if (!real) real = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

CL_API_ENTRY cl_mem CL_API_CALL clCreateBuffer(cl_context c, cl_mem_flags f, size_t n, void *h,
                                               cl_int *e) {
  REAL(clCreateBuffer);
  if (counting) counted.buffers++;
  return real(c, f, n, h, e);
}

CL_API_ENTRY cl_mem CL_API_CALL clCreateSubBuffer(cl_mem m, cl_mem_flags f, cl_buffer_create_type t,
                                                  const void *info, cl_int *e) {
  REAL(clCreateSubBuffer);
  if (counting) counted.sub_buffers++;
  return real(m, f, t, info, e);
}

static void copied(size_t bytes) {
  if (!counting) return;
  counted.copies++;
  counted.bytes += bytes;
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool b, size_t o,
                                                    size_t n, void *p, cl_uint ne, const cl_event *w,
                                                    cl_event *ev) {
  REAL(clEnqueueReadBuffer);
  copied(n);
  return real(q, m, b, o, n, p, ne, w, ev);
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool b, size_t o,
                                                     size_t n, const void *p, cl_uint ne,
                                                     const cl_event *w, cl_event *ev) {
  REAL(clEnqueueWriteBuffer);
  copied(n);
  return real(q, m, b, o, n, p, ne, w, ev);
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueReadBufferRect(cl_command_queue q, cl_mem m, cl_bool b,
                                                        const size_t *bo, const size_t *ho,
                                                        const size_t *r, size_t brp, size_t bsp,
                                                        size_t hrp, size_t hsp, void *p, cl_uint ne,
                                                        const cl_event *w, cl_event *ev) {
  REAL(clEnqueueReadBufferRect);
  copied(r[0] * r[1] * r[2]);
  return real(q, m, b, bo, ho, r, brp, bsp, hrp, hsp, p, ne, w, ev);
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueWriteBufferRect(cl_command_queue q, cl_mem m, cl_bool b,
                                                         const size_t *bo, const size_t *ho,
                                                         const size_t *r, size_t brp, size_t bsp,
                                                         size_t hrp, size_t hsp, const void *p,
                                                         cl_uint ne, const cl_event *w, cl_event *ev) {
  REAL(clEnqueueWriteBufferRect);
  copied(r[0] * r[1] * r[2]);
  return real(q, m, b, bo, ho, r, brp, bsp, hrp, hsp, p, ne, w, ev);
}

CL_API_ENTRY void *CL_API_CALL clEnqueueMapBuffer(cl_command_queue q, cl_mem m, cl_bool b,
                                                  cl_map_flags f, size_t o, size_t n, cl_uint ne,
                                                  const cl_event *w, cl_event *ev, cl_int *e) {
  REAL(clEnqueueMapBuffer);
  copied(n);
  return real(q, m, b, f, o, n, ne, w, ev, e);
}
#endif

/* ---- Device tensors made by the test ------------------------------------------------- */

typedef struct {
  ie_context *ctx;
  ie_backend b;
#if IE_TEST_HAVE_OPENCL
  cl_context clctx;
  cl_command_queue clq;
#endif
} gpu;

enum { MAX_TENSORS = 16 };
typedef struct {
  DLTensor t;
  int64_t shape[4];
  void *mem; /* cl_mem or CUDA pointer */
} dtensor;

static dtensor tensors[MAX_TENSORS];
static int ntensors;

static size_t dtype_bytes(DLDataType d) { return (size_t)d.bits / 8; }

/* A device tensor of `dt` and shape, holding `host` (NULL: zeros). */
static DLTensor *dev_tensor(gpu *g, DLDataType dt, int ndim, const int64_t *shape, const void *host) {
  if (ntensors == MAX_TENSORS) {
    fail("test: too many tensors");
    exit(2);
  }
  dtensor *d = &tensors[ntensors++];
  memset(d, 0, sizeof *d);
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    d->shape[i] = shape[i];
    n *= (size_t)shape[i];
  }
  size_t bytes = n * dtype_bytes(dt);
  void *zeros = NULL;
  if (!host) host = zeros = calloc(bytes ? bytes : 1, 1);
#if IE_TEST_HAVE_OPENCL
  if (g->b == IE_BACKEND_OPENCL) {
    cl_int e = CL_SUCCESS;
    cl_mem m = clCreateBuffer(g->clctx, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &e);
    if (e != CL_SUCCESS ||
        clEnqueueWriteBuffer(g->clq, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL) != CL_SUCCESS) {
      fail("test: could not make an OpenCL buffer of %zu bytes", bytes);
      exit(2);
    }
    d->mem = m;
    d->t.device = (DLDevice){kDLOpenCL, 0};
  }
#endif
#if IE_TEST_HAVE_CUDA
  if (g->b == IE_BACKEND_CUDA) {
    if (cudaMalloc(&d->mem, bytes ? bytes : 1) != cudaSuccess ||
        cudaMemcpy(d->mem, host, bytes, cudaMemcpyHostToDevice) != cudaSuccess) {
      fail("test: could not make a CUDA buffer of %zu bytes", bytes);
      exit(2);
    }
    d->t.device = (DLDevice){kDLCUDA, 0};
  }
#endif
  (void)g;
  free(zeros);
  d->t.data = d->mem;
  d->t.ndim = ndim;
  d->t.dtype = dt;
  d->t.shape = d->shape;
  return &d->t;
}

static void free_tensors(gpu *g) {
  for (int i = 0; i < ntensors; i++) {
#if IE_TEST_HAVE_OPENCL
    if (g->b == IE_BACKEND_OPENCL) clReleaseMemObject((cl_mem)tensors[i].mem);
#endif
#if IE_TEST_HAVE_CUDA
    if (g->b == IE_BACKEND_CUDA) cudaFree(tensors[i].mem);
#endif
  }
  (void)g;
  ntensors = 0;
}

static const DLDataType F32 = {kDLFloat, 32, 1}, I64 = {kDLInt, 64, 1};

/* Deterministic draws: a 64-bit LCG. */
static uint64_t rng = 12345;
static double uniform(void) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(rng >> 11) / 9007199254740992.0;
}
static double normal(void) {
  double u = uniform() + 1e-12, v = uniform();
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Language-model-like logits [rows, V]: a Zipf-like bias, noise, and every
 * third row confident (one logit 25 above the rest). */
static float *lm_logits(int64_t rows, int64_t V) {
  float *x = malloc((size_t)(rows * V) * sizeof *x);
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t j = 0; j < V; j++) x[r * V + j] = (float)(-1.2 * log((double)j + 1) + 2.5 * normal());
    if (r % 3 == 0) x[r * V + (r * 7) % V] += 25;
  }
  return x;
}

static float *points(int64_t n, int64_t d) {
  float *x = malloc((size_t)(n * d) * sizeof *x);
  for (int64_t i = 0; i < n * d; i++) x[i] = (float)normal();
  return x;
}

/* ---- The cases ------------------------------------------------------------------------- */

/* A case makes its tensors for size level `level` (1 or 2: rows scale with
 * it) on g (counting off), and `call` runs the library call (counted). */
typedef struct {
  const char *name;
  unsigned long long ceiling; /* bytes a warm call may move */
  int (*make)(gpu *g, int level, void **state);
  ie_status (*call)(gpu *g, void *state);
} tcase;

typedef struct {
  DLTensor *t[8];
  int64_t n;
  ie_summary sm;
} args;
static args A;

static int make_logits(gpu *g, int level, void **st) {
  (void)st;
  int64_t R = 64 * level, V = 4096, sh[2] = {R, V}, sr[1] = {R};
  float *p = lm_logits(R, V), *q = lm_logits(R, V);
  for (int64_t i = 0; i < R * V; i++) q[i] = (float)(0.5 * q[i] + 0.5 * p[i] + 0.5); /* a student near its teacher */
  int64_t *lab = malloc((size_t)R * sizeof *lab);
  for (int64_t r = 0; r < R; r++) lab[r] = (r * 31) % V;
  A.t[0] = dev_tensor(g, F32, 2, sh, p);
  A.t[1] = dev_tensor(g, F32, 2, sh, q);
  A.t[2] = dev_tensor(g, I64, 1, sr, lab);
  A.t[3] = dev_tensor(g, F32, 1, sr, NULL); /* per-row output */
  A.t[4] = dev_tensor(g, F32, 2, sh, NULL); /* a [R, V] output */
  A.n = R;
  free(p);
  free(q);
  free(lab);
  return 0;
}

static ie_status c_entropy(gpu *g, void *st) {
  (void)st;
  return ie_entropy(g->ctx, A.t[0], NULL, NULL, &A.sm);
}
static ie_status c_entropy_rows(gpu *g, void *st) {
  (void)st;
  return ie_entropy(g->ctx, A.t[0], A.t[3], NULL, &A.sm);
}
static ie_status c_nll(gpu *g, void *st) {
  (void)st;
  return ie_nll(g->ctx, A.t[0], A.t[2], NULL, NULL, &A.sm);
}
static ie_status c_nll_ignore(gpu *g, void *st) {
  (void)st;
  ie_nll_options o = {.size = sizeof o, .ignore_index = 31, .has_ignore_index = 1};
  return ie_nll(g->ctx, A.t[0], A.t[2], A.t[3], &o, &A.sm);
}
static ie_status c_kl(gpu *g, void *st) {
  (void)st;
  return ie_divergence(g->ctx, IE_DIV_KL, A.t[0], A.t[1], NULL, NULL, &A.sm);
}
static ie_status c_js_rows(gpu *g, void *st) {
  (void)st;
  return ie_divergence(g->ctx, IE_DIV_JS, A.t[0], A.t[1], A.t[3], NULL, &A.sm);
}
static ie_status c_logsumexp(gpu *g, void *st) {
  (void)st;
  return ie_logsumexp(g->ctx, A.t[0], A.t[3], NULL);
}
static ie_status c_log_softmax(gpu *g, void *st) {
  (void)st;
  return ie_log_softmax(g->ctx, A.t[0], A.t[4], NULL);
}

static int make_points(gpu *g, int level, void **st) {
  (void)st;
  int64_t n = 512 * level, d = 8, k = 5;
  int64_t sh[2] = {n, d}, sk[2] = {n, k}, s2[2] = {n, 2};
  float *x = points(n, d), *y = points(n, 2), *z = points(n, 2);
  for (int64_t i = 0; i < n; i++) z[2 * i] += y[2 * i]; /* dependent on y */
  A.t[0] = dev_tensor(g, F32, 2, sh, x);
  A.t[1] = dev_tensor(g, I64, 2, sk, NULL);
  A.t[2] = dev_tensor(g, F32, 2, sk, NULL);
  A.t[3] = dev_tensor(g, F32, 2, s2, y);
  A.t[4] = dev_tensor(g, F32, 2, s2, z);
  float *w = malloc((size_t)n * sizeof *w);
  for (int64_t i = 0; i < n; i++) w[i] = 1.0f / (float)n;
  int64_t sw[1] = {n};
  A.t[5] = dev_tensor(g, F32, 1, sw, w); /* uniform weights */
  free(w);
  A.n = n;
  free(x);
  free(y);
  free(z);
  return 0;
}

static ie_status c_knn(gpu *g, void *st) {
  (void)st;
  ie_knn_options o = {.size = sizeof o, .exclude_self = 1};
  return ie_knn(g->ctx, A.t[0], A.t[0], 5, A.t[1], A.t[2], &o);
}
static ie_status c_knn_entropy(gpu *g, void *st) {
  (void)st;
  ie_knn_result r;
  return ie_knn_entropy(g->ctx, A.t[0], NULL, &r);
}
static ie_status c_knn_mi(gpu *g, void *st) {
  (void)st;
  ie_knn_result r;
  return ie_knn_mutual_information(g->ctx, A.t[3], A.t[4], NULL, &r);
}
static ie_status c_sinkhorn(gpu *g, void *st) {
  (void)st;
  ie_sinkhorn_options o = {.size = sizeof o, .epsilon = 0.1, .max_iter = 50};
  ie_sinkhorn_result r;
  return ie_sinkhorn(g->ctx, A.t[5], A.t[5], NULL, A.t[3], A.t[4], &o, &r, NULL, NULL, NULL);
}
/* The float32 tiles (single_precision): the same O(1) reads, no matrix. */
static ie_status c_sinkhorn_f32(gpu *g, void *st) {
  (void)st;
  ie_sinkhorn_options o = {.size = sizeof o, .epsilon = 0.1, .max_iter = 50, .single_precision = 1};
  ie_sinkhorn_result r;
  return ie_sinkhorn(g->ctx, A.t[5], A.t[5], NULL, A.t[3], A.t[4], &o, &r, NULL, NULL, NULL);
}
static ie_status c_vendi_dual(gpu *g, void *st) {
  (void)st;
  ie_vendi_options o = {.size = sizeof o, .path = IE_SPECTRAL_DUAL};
  ie_spectral_result r;
  return ie_vendi(g->ctx, A.t[0], &o, &r);
}

/* MAUVE on features with clustered structure: its transfers are the first
 * bad row of each set, the d x d covariance of the PCA step (solved on the
 * host by design) and the axes, a count of changed labels a Lloyd
 * iteration, an inertia a start, the k cluster counts: none grows with the
 * rows. */
static int make_features(gpu *g, int level, void **st) {
  (void)st;
  int64_t n = 256 * level, d = 16, sh[2] = {n, d};
  float *p = points(n, d), *q = points(n, d);
  for (int64_t i = 0; i < n; i++) {
    p[i * d + i % 4] += 4;
    q[i * d + (i + 1) % 4] += 4;
  }
  A.t[0] = dev_tensor(g, F32, 2, sh, p);
  A.t[1] = dev_tensor(g, F32, 2, sh, q);
  A.n = n;
  free(p);
  free(q);
  return 0;
}

static ie_status c_mauve(gpu *g, void *st) {
  (void)st;
  ie_mauve_options o = {.size = sizeof o, .clusters = 8, .redo = 2, .max_iter = 50};
  ie_mauve_scores sc;
  const DLTensor *q[1] = {A.t[1]};
  return ie_mauve(g->ctx, A.t[0], q, 1, &o, &sc, NULL, NULL, NULL);
}

static int make_labels(gpu *g, int level, void **st) {
  (void)st;
  int64_t N = 4096 * level, X = 16, Y = 12, B = 32 * level;
  int64_t sn[1] = {N}, st2[2] = {X, Y}, sj[4] = {B, 2, 2, 2}, so[2] = {B, 4};
  int64_t *x = malloc((size_t)N * sizeof *x), *y = malloc((size_t)N * sizeof *y);
  float *counts = malloc((size_t)(X * Y) * sizeof *counts), *joint = malloc((size_t)(B * 8) * sizeof *joint);
  for (int64_t i = 0; i < N; i++) {
    x[i] = (int64_t)(uniform() * X);
    y[i] = (x[i] + (int64_t)(uniform() * 3)) % Y;
  }
  for (int64_t i = 0; i < X * Y; i++) counts[i] = (float)(1 + (int)(uniform() * 50));
  for (int64_t i = 0; i < B * 8; i++) joint[i] = (float)(0.05 + uniform());
  A.t[0] = dev_tensor(g, I64, 1, sn, x);
  A.t[1] = dev_tensor(g, I64, 1, sn, y);
  A.t[2] = dev_tensor(g, I64, 2, st2, NULL); /* the count table */
  A.t[3] = dev_tensor(g, F32, 2, st2, counts);
  A.t[4] = dev_tensor(g, F32, 2, st2, NULL); /* PMI out */
  A.t[5] = dev_tensor(g, F32, 4, sj, joint);
  A.t[6] = dev_tensor(g, F32, 2, so, NULL); /* PID out */
  A.n = N;
  free(x);
  free(y);
  free(counts);
  free(joint);
  return 0;
}

static ie_status c_count_pairs(gpu *g, void *st) {
  (void)st;
  return ie_count_pairs(g->ctx, A.t[0], A.t[1], A.t[2], NULL);
}
static ie_status c_pmi(gpu *g, void *st) {
  (void)st;
  ie_pmi_options o = {.size = sizeof o, .kind = IE_PMI_NORMALIZED};
  ie_pmi_result r;
  return ie_pmi(g->ctx, A.t[3], A.t[4], &o, &r);
}
static ie_status c_table_mi(gpu *g, void *st) {
  (void)st;
  ie_table_mi_result r;
  return ie_table_mi(g->ctx, A.t[3], NULL, &r);
}
static ie_status c_pid(gpu *g, void *st) {
  (void)st;
  ie_pid_options o = {.size = sizeof o, .measure = IE_PID_IMIN};
  return ie_pid(g->ctx, A.t[5], &o, NULL, A.t[6]);
}
static ie_status c_pid_broja(gpu *g, void *st) {
  (void)st;
  ie_pid_options o = {.size = sizeof o, .measure = IE_PID_BROJA};
  return ie_pid(g->ctx, A.t[5], &o, NULL, A.t[6]);
}

static const tcase cases[] = {
    {"entropy (summary)", 4096, make_logits, c_entropy},
    {"entropy (per_row on the device)", 4096, make_logits, c_entropy_rows},
    {"nll", 4096, make_logits, c_nll},
    {"nll (ignore_index, per_row)", 4096, make_logits, c_nll_ignore},
    {"divergence kl", 4096, make_logits, c_kl},
    {"divergence js (per_row)", 4096, make_logits, c_js_rows},
    {"logsumexp", 4096, make_logits, c_logsumexp},
    {"log_softmax", 4096, make_logits, c_log_softmax},
    {"knn", 4096, make_points, c_knn},
    {"knn_entropy", 4096, make_points, c_knn_entropy},
    {"knn_mutual_information", 4096, make_points, c_knn_mi},
    {"sinkhorn (points)", 4096, make_points, c_sinkhorn},
    {"sinkhorn (points, float32 tiles)", 4096, make_points, c_sinkhorn_f32},
    {"vendi (dual)", 65536, make_points, c_vendi_dual},
    {"count_pairs", 4096, make_labels, c_count_pairs},
    {"pmi", 4096, make_labels, c_pmi},
    {"table_mi", 4096, make_labels, c_table_mi},
    {"pid imin", 4096, make_labels, c_pid},
    {"pid broja", 4096, make_labels, c_pid_broja},
    {"mauve", 16384, make_features, c_mauve},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

/* ---- Running ---------------------------------------------------------------------------- */

typedef struct {
  cl_counts cl;
  ie_workspace_info ws;
  ie_status status;
} measured;

static measured measure(gpu *g, const tcase *c) {
  measured m;
  memset(&m, 0, sizeof m);
  ie_workspace_info before = {.size = sizeof before}, after = {.size = sizeof after};
  ie_workspace_query(g->ctx, &before);
  memset(&counted, 0, sizeof counted);
  counting = 1;
  m.status = c->call(g, NULL);
  counting = 0;
  m.cl = counted;
  ie_workspace_query(g->ctx, &after);
  m.ws.device_allocations = after.device_allocations - before.device_allocations;
  m.ws.host_allocations = after.host_allocations - before.host_allocations;
  m.ws.bytes_to_device = after.bytes_to_device - before.bytes_to_device;
  m.ws.bytes_to_host = after.bytes_to_host - before.bytes_to_host;
  return m;
}

/* Bytes moved by a measured call: the runtime's count on OpenCL, the
 * library's own on CUDA. */
static unsigned long long moved(const gpu *g, const measured *m) {
  return g->b == IE_BACKEND_OPENCL ? m->cl.bytes : m->ws.bytes_to_device + m->ws.bytes_to_host;
}

static void run_case(gpu *g, const tcase *c) {
  /* warm-up at the larger size, twice */
  c->make(g, 2, NULL);
  for (int i = 0; i < 2; i++) {
    ie_status s = c->call(g, NULL);
    if (s != IE_OK) {
      fail("%s [%s]: the warm-up call failed: %s", c->name, ie_backend_name(g->b), ie_errmsg(g->ctx));
      free_tensors(g);
      return;
    }
  }
  measured big = measure(g, c);
  free_tensors(g);
  c->make(g, 1, NULL);
  measured small = measure(g, c);
  free_tensors(g);
  checks++;
  const char *bn = ie_backend_name(g->b);
  if (big.status != IE_OK || small.status != IE_OK) {
    fail("%s [%s]: a measured call failed: %s", c->name, bn, ie_errmsg(g->ctx));
    return;
  }
  const measured *ms[2] = {&big, &small};
  for (int k = 0; k < 2; k++) {
    const measured *m = ms[k];
    const char *which = k == 0 ? "larger" : "smaller";
    if (m->cl.buffers || m->cl.sub_buffers)
      fail("%s [%s], %s size: a warm call made %ld clCreateBuffer and %ld clCreateSubBuffer", c->name, bn,
           which, m->cl.buffers, m->cl.sub_buffers);
    if (m->ws.device_allocations || m->ws.host_allocations)
      fail("%s [%s], %s size: the workspace allocated %llu device and %llu host buffers in a warm call",
           c->name, bn, which, (unsigned long long)m->ws.device_allocations,
           (unsigned long long)m->ws.host_allocations);
    if (moved(g, m) > c->ceiling)
      fail("%s [%s], %s size: a warm call moved %llu bytes between host and device (at most %llu)", c->name,
           bn, which, moved(g, m), c->ceiling);
  }
  if (moved(g, &big) > moved(g, &small) + 64)
    fail("%s [%s]: the bytes moved grow with the input: %llu at twice the rows, %llu at the smaller size",
         c->name, bn, moved(g, &big), moved(g, &small));
  printf("  %-34s %-6s warm call: %llu bytes moved (%ld copies; %llu at the smaller size), "
         "%ld buffers made\n",
         c->name, bn, moved(g, &big), big.cl.copies, moved(g, &small), big.cl.buffers);
}

static int open_gpu(gpu *g, ie_backend b) {
  memset(g, 0, sizeof *g);
  g->b = b;
  ie_context_options o = {.size = sizeof o, .backend = b};
  if (ie_context_create(&g->ctx, &o) != IE_OK) {
    printf("test_transfers: no %s device here (%s): skipped\n", ie_backend_name(b), ie_errmsg(g->ctx));
    ie_context_destroy(g->ctx);
    return 0;
  }
#if IE_TEST_HAVE_OPENCL
  if (b == IE_BACKEND_OPENCL) {
    cl_device_id dev = NULL;
    ie_opencl_get_context(g->ctx, &g->clctx, &dev, &g->clq);
  }
#endif
  return 1;
}

int main(void) {
  ie_backend gpus[2] = {IE_BACKEND_OPENCL, IE_BACKEND_CUDA};
  int ran = 0;
  for (int k = 0; k < 2; k++) {
    if (!ie_backend_compiled(gpus[k])) continue;
    gpu g;
    if (!open_gpu(&g, gpus[k])) {
      if (gpus[k] == IE_BACKEND_CUDA && getenv("IE_REQUIRE_GPU") && atoi(getenv("IE_REQUIRE_GPU")))
        fail("IE_REQUIRE_GPU is set but the CUDA backend has no device");
      continue;
    }
    printf("test_transfers: %s, %s\n", ie_backend_name(gpus[k]), ie_context_device_name(g.ctx));
    for (int c = 0; c < NCASES; c++) run_case(&g, &cases[c]);
    ie_context_destroy(g.ctx);
    ran++;
  }
  if (!ran) printf("test_transfers: no GPU backend with a device in this build: nothing to count\n");
  printf("test_transfers: %d cases measured, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
