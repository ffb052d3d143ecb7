/*
 * test_backend_ops.c — every public operation on every backend and memory
 * kind, against the CPU backend (after ggml's tests/test-backend-ops.cpp).
 *
 * Each case builds fresh random inputs (language-model-like rows: a
 * Zipf-like bias −1.2·log(rank), Gaussian noise of σ 2.5, 30% of rows with
 * one logit 25 above the rest, a second distribution that is a noisy copy of
 * the first shifted by 0.5; masked (-inf) vocabulary; kNN points with exact
 * duplicates and grid ties; clustered embeddings), runs the call on the CPU
 * backend with host tensors (the reference), then on every other backend
 * compiled in, in three memory kinds:
 *
 *   host    host tensors, the context's own queue or stream;
 *   device  device tensors (cl_mem on the context's cl_context, at a
 *           non-zero byte_offset in every other tensor; cudaMalloc'd device
 *           pointers), uploaded and read back by the test on its own queue;
 *   queue   device tensors with the caller's queue or stream set
 *           (ie_opencl_set_queue / ie_cuda_set_stream), the inputs uploaded
 *           on that queue without waiting, so the library must order its
 *           work after them.
 *
 * Every output element and every scalar (summaries, estimator results,
 * Sinkhorn results) is compared with the CPU's within docs/SPEC.md §1's
 * tolerance (1e-5 relative or 1e-6 absolute, whichever is looser;
 * infinities exactly), except where a comment names a looser bound and why.
 * Output memory outside the result (the bytes before byte_offset, the gaps
 * of a strided output) must stay untouched.
 *
 * One line per op / backend / memory kind: cases, failures, and the worst
 * error as a multiple of its tolerance (1.0 = at the tolerance).  On CUDA,
 * also the caller's streams and errors (cuda_stream_cases): a stream
 * destroyed after its call, then another set; an error the caller left
 * unread on the thread.
 *
 * CUDA without a GPU: skipped with a message, or a failure when the
 * environment has IE_REQUIRE_GPU=1.  IE_TEST_SEED=N repeats a run's inputs
 * (the seed is printed); `--op NAME` runs one op; `--quick` drops the wide
 * rows; every run includes rows far beyond language-model logits (x250 to
 * x2.5e28, extreme_cases), and `--extreme` runs only those.  Known defects
 * of a backend (known[] below, empty today) are still run and reported as
 * KNOWN, and do not fail the run unless IE_BACKEND_OPS_STRICT=1.
 * tests/backend_ops_truth.py gives the float64 truth of the extreme cases
 * that IE_BACKEND_OPS_DUMP=DIR wrote, to tell which backend is right.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infoest.h"
#if IE_TEST_HAVE_OPENCL
#include "infoest_opencl.h"
#endif
#if IE_TEST_HAVE_CUDA
#include <cuda_runtime_api.h>
#include "infoest_cuda.h"
#endif

/* ---- random numbers (splitmix64; Box–Muller) ------------------------------ */

static uint64_t rng_state;
static uint64_t rnd64(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double urand(void) { return (double)(rnd64() >> 11) * 0x1.0p-53; }
static double nrand(void) {
  double u = urand(), v = urand();
  return sqrt(-2 * log(u + 0x1.0p-60)) * cos(6.283185307179586 * v);
}
static int64_t irand(int64_t n) { return (int64_t)(rnd64() % (uint64_t)n); }

/* ---- dtypes --------------------------------------------------------------- */

static const DLDataType F32 = {kDLFloat, 32, 1}, F16 = {kDLFloat, 16, 1},
                        BF16 = {kDLBfloat, 16, 1}, F64 = {kDLFloat, 64, 1},
                        I32 = {kDLInt, 32, 1}, I64 = {kDLInt, 64, 1};

static int same_dt(DLDataType a, DLDataType b) { return a.code == b.code && a.bits == b.bits; }
static size_t dt_size(DLDataType d) { return d.bits / 8u; }
static const char *dt_name(DLDataType d) {
  if (d.code == kDLBfloat) return "bf16";
  if (d.code == kDLInt) return d.bits == 32 ? "i32" : "i64";
  return d.bits == 16 ? "f16" : d.bits == 32 ? "f32" : "f64";
}

static uint16_t to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7F800000u) == 0x7F800000u) return (uint16_t)(x >> 16 | ((x & 0xFFFFu) ? 0x40u : 0));
  x += 0x7FFFu + ((x >> 16) & 1u); /* round to nearest even */
  return (uint16_t)(x >> 16);
}
static float from_bf16(uint16_t h) {
  uint32_t x = (uint32_t)h << 16;
  float f;
  memcpy(&f, &x, 4);
  return f;
}

/* float16 by bits (round to nearest even; F. Giesen's float_to_half_fast3_rtne
 * scheme), for compilers without _Float16. */
static uint16_t to_f16(float f) {
  uint32_t x, sign;
  memcpy(&x, &f, 4);
  sign = x & 0x80000000u;
  x ^= sign;
  uint16_t o;
  if (x >= 0x47800000u) { /* >= 65536 (rounds to inf), inf, NaN */
    o = x > 0x7F800000u ? 0x7E00 : 0x7C00;
  } else if (x < 0x38800000u) { /* below the smallest normal: let float add round */
    float t;
    memcpy(&t, &x, 4);
    t += 0.5f;
    uint32_t u;
    memcpy(&u, &t, 4);
    o = (uint16_t)(u - 0x3F000000u);
  } else {
    const uint32_t odd = (x >> 13) & 1u;
    x += 0xC8000FFFu + odd; /* rebias the exponent (-112 << 23), round half to even */
    o = (uint16_t)(x >> 13);
  }
  return (uint16_t)(o | (sign >> 16));
}
static float from_f16(uint16_t h) {
  const int e = (h >> 10) & 0x1F, m = h & 0x3FF;
  float f = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 0x400), e - 25);
  return (h & 0x8000) ? -f : f;
}

static void put(void *buf, DLDataType d, size_t k, double v) {
  if (d.code == kDLInt) {
    if (d.bits == 32) ((int32_t *)buf)[k] = (int32_t)v;
    else ((int64_t *)buf)[k] = (int64_t)v;
  } else if (d.code == kDLBfloat) {
    ((uint16_t *)buf)[k] = to_bf16((float)v);
  } else if (d.bits == 16) {
    ((uint16_t *)buf)[k] = to_f16((float)v);
  } else if (d.bits == 32) {
    ((float *)buf)[k] = (float)v;
  } else {
    ((double *)buf)[k] = v;
  }
}
static double get(const void *buf, DLDataType d, size_t k) {
  if (d.code == kDLInt) return d.bits == 32 ? ((const int32_t *)buf)[k] : (double)((const int64_t *)buf)[k];
  if (d.code == kDLBfloat) return from_bf16(((const uint16_t *)buf)[k]);
  if (d.bits == 16) return from_f16(((const uint16_t *)buf)[k]);
  if (d.bits == 32) return ((const float *)buf)[k];
  return ((const double *)buf)[k];
}

/* ---- backends, contexts, memory kinds -------------------------------------- */

typedef enum { MEM_HOST, MEM_DEVICE, MEM_QUEUE, MEM_COUNT } memkind;
static const char *const mem_name[MEM_COUNT] = {"host", "device", "queue"};

typedef struct {
  ie_backend b;
  ie_context *ctx;
  DLDataType rowdt; /* f64 if the backend takes f64 per-row outputs, else f32 */
#if IE_TEST_HAVE_OPENCL
  cl_context clctx;
  cl_device_id cldev;
  cl_command_queue clq; /* the test's own queue */
#endif
#if IE_TEST_HAVE_CUDA
  cudaStream_t stream;
#endif
} target;

static target cpu, gpus[2];
static int ngpus;
static int failures, known_seen;

static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static DLDataType probe_rowdt(ie_context *ctx) {
  float x[2] = {0.5f, 1.5f};
  double v[1];
  int64_t sx[2] = {1, 2}, sv[1] = {1};
  DLTensor X = {x, {kDLCPU, 0}, 2, F32, sx, NULL, 0}, V = {v, {kDLCPU, 0}, 1, F64, sv, NULL, 0};
  return ie_entropy(ctx, &X, &V, NULL, NULL) == IE_BAD_DTYPE ? F32 : F64;
}

static int open_target(target *t, ie_backend b) {
  memset(t, 0, sizeof *t);
  t->b = b;
  ie_context_options o = {.size = sizeof o, .backend = b, .device = 0};
  ie_status s = ie_context_create(&t->ctx, &o);
  if (s != IE_OK) {
    int need = b == IE_BACKEND_CUDA && getenv("IE_REQUIRE_GPU") && !strcmp(getenv("IE_REQUIRE_GPU"), "1");
    note("%s backend %s: %s: %s%s", need ? "FAIL" : "SKIP", ie_backend_name(b), ie_status_name(s),
         t->ctx ? ie_errmsg(t->ctx) : "(no context)", need ? " (IE_REQUIRE_GPU=1)" : "");
    if (need || s != IE_BACKEND_UNAVAILABLE) failures++;
    ie_context_destroy(t->ctx);
    t->ctx = NULL;
    return 0;
  }
  t->rowdt = probe_rowdt(t->ctx);
#if IE_TEST_HAVE_OPENCL
  if (b == IE_BACKEND_OPENCL) {
    cl_int err;
    if (ie_opencl_get_context(t->ctx, &t->clctx, &t->cldev, NULL) != IE_OK) {
      note("FAIL opencl: ie_opencl_get_context: %s", ie_errmsg(t->ctx));
      failures++;
      return 0;
    }
    t->clq = clCreateCommandQueue(t->clctx, t->cldev, 0, &err);
    if (err != CL_SUCCESS) {
      note("FAIL opencl: clCreateCommandQueue: %d", (int)err);
      failures++;
      return 0;
    }
  }
#endif
#if IE_TEST_HAVE_CUDA
  if (b == IE_BACKEND_CUDA && cudaStreamCreateWithFlags(&t->stream, cudaStreamNonBlocking) != cudaSuccess) {
    note("FAIL cuda: cudaStreamCreate failed");
    failures++;
    return 0;
  }
#endif
  note("backend %s: %s (per-row outputs %s)", ie_backend_name(b), ie_context_device_name(t->ctx),
       dt_name(t->rowdt));
  return 1;
}

static void close_target(target *t) {
#if IE_TEST_HAVE_OPENCL
  if (t->clq) clReleaseCommandQueue(t->clq);
#endif
#if IE_TEST_HAVE_CUDA
  if (t->stream) cudaStreamDestroy(t->stream);
#endif
  ie_context_destroy(t->ctx);
}

/* ---- tensors of a case --------------------------------------------------- */

enum { MAXSLOT = 10, MAXSC = 24 };

typedef enum { TOL_ROW, TOL_EXACT, TOL_CUSTOM } tolkind;

typedef struct {
  const char *name;
  int out;           /* an output */
  DLDataType dt;
  int ndim;
  int64_t shape[3];
  int64_t rstride;   /* row stride of a 2-D tensor in elements; 0: compact */
  size_t elems;      /* elements spanned */
  void *host;        /* input values, or the reference's output */
  tolkind tol;
  double rel, abs;   /* TOL_CUSTOM */
  /* where this call's tensor lives */
  void *dev;         /* cl_mem or CUDA pointer; NULL: host */
  size_t off;        /* byte offset into dev */
  unsigned char *got;/* output as read back: off + span bytes */
  unsigned char *img;/* the upload's source, until the call is done */
} slot;

typedef struct opcase opcase;
struct opcase {
  char op[32], var[112];
  int ns;
  slot s[MAXSLOT];
  DLTensor t[MAXSLOT];
  int64_t tstr[MAXSLOT][3];
  ie_status (*call)(ie_context *, opcase *);
  /* options, filled by the case; the call points their tensors at t[] */
  ie_softmax_options sm;
  ie_entropy_options en;
  ie_nll_options nl;
  ie_divergence_options dv;
  ie_divergence_kind dk;
  int weights_slot, labels_slot;
  ie_knn_options ko;
  int64_t k;
  ie_knn_estimator_options ke;
  ie_knn_divergence_method km;
  ie_sinkhorn_options so;
  int B;
  ie_vendi_options vo;
  ie_matrix_entropy_options mo;
  /* scalar results of a call */
  int nsc;
  const char *scn[MAXSC];
  double sc[MAXSC], screl[MAXSC], scabs[MAXSC];
};

static opcase *new_case(const char *op, const char *fmt, ...) {
  opcase *c = calloc(1, sizeof *c);
  snprintf(c->op, sizeof c->op, "%s", op);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->var, sizeof c->var, fmt, ap);
  va_end(ap);
  c->weights_slot = c->labels_slot = -1;
  return c;
}

/* A slot: ndim 1..3, shape, optional row stride (2-D). Returns its index. */
static int add(opcase *c, const char *name, int out, DLDataType dt, int ndim, int64_t s0, int64_t s1,
               int64_t s2, int64_t rstride) {
  slot *s = &c->s[c->ns];
  memset(s, 0, sizeof *s);
  s->name = name;
  s->out = out;
  s->dt = dt;
  s->ndim = ndim;
  s->shape[0] = s0;
  s->shape[1] = s1;
  s->shape[2] = s2;
  s->rstride = ndim == 2 && rstride > s1 ? rstride : 0;
  if (ndim == 1) s->elems = (size_t)s0;
  else if (ndim == 2) s->elems = s0 ? (size_t)((s0 - 1) * (s->rstride ? s->rstride : s1) + s1) : 0;
  else s->elems = (size_t)(s0 * s1 * s2);
  s->host = calloc(s->elems ? s->elems : 1, dt_size(dt));
  return c->ns++;
}
/* A tensor the call is given as NULL (keeps slot numbers fixed). */
static int add_absent(opcase *c, const char *name) {
  int i = add(c, name, 0, F32, 1, 0, 0, 0, 0);
  c->s[i].ndim = -1;
  return i;
}
static size_t row_stride(const slot *s) { return (size_t)(s->rstride ? s->rstride : s->shape[1]); }
/* The flat index of element (r, j) of a 2-D slot. */
static size_t at(const slot *s, int64_t r, int64_t j) { return (size_t)r * row_stride(s) + (size_t)j; }

static void sc(opcase *c, const char *name, double v, double rel, double abs) {
  if (c->nsc >= MAXSC) return;
  c->scn[c->nsc] = name;
  c->sc[c->nsc] = v;
  c->screl[c->nsc] = rel;
  c->scabs[c->nsc++] = abs;
}
#define ROW_REL 1e-5
#define ROW_ABS 1e-6

static void free_case(opcase *c) {
  for (int i = 0; i < c->ns; i++) {
    free(c->s[i].host);
    free(c->s[i].got);
  }
  free(c);
}

/* ---- placing tensors in a memory kind ----------------------------------- */

static const unsigned char UNWRITTEN = 0xFF; /* NaN in every float dtype */

/* Make a device buffer for slot i (in the memory kind `mem`) holding its
 * input values, or the UNWRITTEN pattern everywhere for outputs.  Every
 * other tensor sits at a non-zero byte_offset. */
static int place(target *t, memkind mem, opcase *c, int i, int ordinal) {
  slot *s = &c->s[i];
  const size_t esz = dt_size(s->dt), span = s->elems * esz;
  s->dev = NULL;
  s->off = 0;
  if (s->ndim < 0) return 1; /* an absent (NULL) tensor */
  if (mem == MEM_HOST || t->b == IE_BACKEND_CPU) {
    if (s->out) {
      s->got = realloc(s->got, span ? span : 1);
      memset(s->got, UNWRITTEN, span);
    }
    return 1;
  }
  s->off = (ordinal % 2) ? 256 + 3 * esz : 0;
  const size_t total = s->off + span + 64;
  /* the upload's source lives until unplace: in the queue kind the write
   * is queued without waiting, and the library must order its work after */
  s->img = malloc(total);
  memset(s->img, UNWRITTEN, total);
  if (!s->out) memcpy(s->img + s->off, s->host, span);
  int ok = 0;
#if IE_TEST_HAVE_OPENCL
  if (t->b == IE_BACKEND_OPENCL) {
    cl_int err;
    cl_mem m = clCreateBuffer(t->clctx, CL_MEM_READ_WRITE, total, NULL, &err);
    if (err == CL_SUCCESS) {
      s->dev = m;
      err = clEnqueueWriteBuffer(t->clq, m, mem == MEM_QUEUE ? CL_FALSE : CL_TRUE, 0, total, s->img, 0, NULL, NULL);
    }
    ok = err == CL_SUCCESS;
    if (!ok) note("FAIL %s [%s] opencl: buffer for '%s' (%zu bytes): error %d", c->op, c->var, s->name, total, (int)err);
  }
#endif
#if IE_TEST_HAVE_CUDA
  if (t->b == IE_BACKEND_CUDA) {
    void *p = NULL;
    if (cudaMalloc(&p, total) == cudaSuccess) s->dev = p;
    ok = p && (mem == MEM_QUEUE ? cudaMemcpyAsync(p, s->img, total, cudaMemcpyHostToDevice, t->stream)
                                : cudaMemcpy(p, s->img, total, cudaMemcpyHostToDevice)) == cudaSuccess;
    if (!ok) note("FAIL %s [%s] cuda: buffer for '%s' (%zu bytes)", c->op, c->var, s->name, total);
  }
#endif
  return ok;
}

/* Read an output back into s->got (off + span bytes, the prefix included). */
static int fetch(target *t, slot *s) {
  const size_t span = s->elems * dt_size(s->dt), total = s->off + span;
  if (!s->dev) return 1;
  s->got = realloc(s->got, total ? total : 1);
  int ok = 0;
#if IE_TEST_HAVE_OPENCL
  if (t->b == IE_BACKEND_OPENCL)
    ok = clEnqueueReadBuffer(t->clq, (cl_mem)s->dev, CL_TRUE, 0, total, s->got, 0, NULL, NULL) == CL_SUCCESS;
#endif
#if IE_TEST_HAVE_CUDA
  if (t->b == IE_BACKEND_CUDA) ok = cudaMemcpy(s->got, s->dev, total, cudaMemcpyDeviceToHost) == cudaSuccess;
#endif
  (void)t;
  return ok;
}

static void unplace(target *t, slot *s) {
  free(s->img);
  s->img = NULL;
  if (!s->dev) return;
#if IE_TEST_HAVE_OPENCL
  if (t->b == IE_BACKEND_OPENCL) clReleaseMemObject((cl_mem)s->dev);
#endif
#if IE_TEST_HAVE_CUDA
  if (t->b == IE_BACKEND_CUDA) cudaFree(s->dev);
#endif
  (void)t;
  s->dev = NULL;
}

/* Point c->t[i] at where slot i lives for this call. */
static void make_tensor(target *t, opcase *c, int i) {
  slot *s = &c->s[i];
  DLTensor *x = &c->t[i];
  memset(x, 0, sizeof *x);
  if (s->ndim < 0) return;
  x->ndim = s->ndim;
  x->dtype = s->dt;
  x->shape = s->shape;
  if (s->rstride) {
    c->tstr[i][0] = s->rstride;
    c->tstr[i][1] = 1;
    x->strides = c->tstr[i];
  }
  if (!s->dev) {
    x->device = (DLDevice){kDLCPU, 0};
    x->data = s->out ? (void *)s->got : s->host;
    return;
  }
  x->byte_offset = s->off;
  x->data = s->dev;
  if (t->b == IE_BACKEND_OPENCL) {
    x->device = (DLDevice){kDLOpenCL, 0};
  } else {
    x->device = (DLDevice){kDLCUDA, 0};
    if (s->off && (i & 2)) { /* both ways of saying where element 0 is */
      x->data = (char *)s->dev + s->off;
      x->byte_offset = 0;
    }
  }
}

static int set_queue(target *t, int on) {
#if IE_TEST_HAVE_OPENCL
  if (t->b == IE_BACKEND_OPENCL) {
    if (ie_opencl_set_queue(t->ctx, on ? t->clq : NULL) != IE_OK) return 0;
    cl_command_queue q = NULL;
    if (ie_opencl_get_context(t->ctx, NULL, NULL, &q) != IE_OK) return 0;
    return on ? q == t->clq : q != t->clq;
  }
#endif
#if IE_TEST_HAVE_CUDA
  if (t->b == IE_BACKEND_CUDA) {
    if (ie_cuda_set_stream(t->ctx, on ? t->stream : 0) != IE_OK) return 0;
    cudaStream_t q = NULL;
    if (ie_cuda_get_stream(t->ctx, &q) != IE_OK) return 0;
    return on ? q == t->stream : q == 0;
  }
#endif
  (void)t;
  (void)on;
  return 1;
}

/* ---- results: comparison and the per op / backend / memory table ---------------- */

typedef struct {
  char op[32];
  ie_backend b;
  memkind mem;
  int cases, fails, known;
  double worst, secs; /* secs: process CPU time of the op's cases (on its cpu row) */
  char worst_var[112];
} tally;
static tally tallies[128];
static int ntallies;

static tally *tally_of(const char *op, ie_backend b, memkind mem) {
  for (int i = 0; i < ntallies; i++)
    if (!strcmp(tallies[i].op, op) && tallies[i].b == b && tallies[i].mem == mem) return &tallies[i];
  tally *t = &tallies[ntallies++];
  memset(t, 0, sizeof *t);
  snprintf(t->op, sizeof t->op, "%s", op);
  t->b = b;
  t->mem = mem;
  return t;
}

/* Known defects: still run and reported, not counted as failures (unless
 * IE_BACKEND_OPS_STRICT=1).  Each entry: op, backend, memory kind (-1: any),
 * a substring of the case name, and what is wrong. */
typedef struct {
  const char *op;
  ie_backend b;
  int mem;
  const char *var;
  const char *what;
} known_defect;
/* IE_BACKEND_AUTO: any backend compared with the CPU. */
static const known_defect known[] = {
    /* none: the x250 .. x2.5e28 rows that the CPU's float kernels and the
     * OpenCL kernels got wrong are right since the float paths hand far rows
     * to the double kernels and the GPU pass 2 sums far terms as logsumexps
     * (a terminating entry, so that the table may be empty) */
    {NULL, IE_BACKEND_AUTO, -1, NULL, NULL},
};

static const known_defect *known_of(const char *op, ie_backend b, memkind mem, const char *var) {
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (known[i].op && !strcmp(known[i].op, op) && (known[i].b == b || known[i].b == IE_BACKEND_AUTO) && (known[i].mem < 0 || known[i].mem == (int)mem) &&
        strstr(var, known[i].var))
      return &known[i];
  return NULL;
}

/* |got − ref| as a multiple of the tolerance; infinities must agree exactly;
 * NaN is never a result. */
static double err_ratio(double got, double ref, double rel, double abs) {
  if (isnan(ref) && isnan(got)) return 0;
  if (isnan(got) || isnan(ref)) return INFINITY;
  if (isinf(ref) || isinf(got)) return got == ref ? 0 : INFINITY;
  double tol = fmax(rel * fabs(ref), abs);
  return fabs(got - ref) / tol;
}

typedef struct {
  double worst;
  char where[256];
  long bad, total; /* output elements off tolerance, of all compared */
} verdict;

static void worse(verdict *v, double r, const char *fmt, ...) {
  if (!(r > v->worst) && !(isnan(r))) return;
  v->worst = isnan(r) ? INFINITY : r;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v->where, sizeof v->where, fmt, ap);
  va_end(ap);
}

/* The tolerance of output slot s for element values (its dtype's rounding
 * for f16/bf16 outputs: the CPU and the device may round the same value one
 * ulp apart). */
static void slot_tol(const slot *s, double *rel, double *abs) {
  if (s->tol == TOL_EXACT) {
    *rel = 0;
    *abs = 0.5;
  } else if (s->tol == TOL_CUSTOM) {
    *rel = s->rel;
    *abs = s->abs;
  } else {
    *rel = ROW_REL;
    *abs = ROW_ABS;
  }
  if (s->dt.code == kDLBfloat) *rel = fmax(*rel, 0x1.0p-7);
  else if (s->dt.code == kDLFloat && s->dt.bits == 16) *rel = fmax(*rel, 0x1.0p-10);
}

static void compare_slot(const opcase *c, const slot *s, const unsigned char *ref, verdict *v) {
  const size_t esz = dt_size(s->dt);
  double rel, abs;
  slot_tol(s, &rel, &abs);
  for (size_t k = 0; k < s->off; k++)
    if (s->got[k] != UNWRITTEN) {
      worse(v, INFINITY, "'%s': byte %zu before byte_offset %zu was written", s->name, k, s->off);
      break;
    }
  const unsigned char *got = s->got + s->off;
  const int64_t rows = s->ndim == 2 ? s->shape[0] : 1;
  const int64_t cols = s->ndim == 2 ? s->shape[1] : (int64_t)s->elems;
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t j = 0; j < cols; j++) {
      size_t k = s->ndim == 2 ? at(s, r, j) : (size_t)j;
      double g = get(got, s->dt, k), e = get(ref, s->dt, k);
      double q = err_ratio(g, e, rel, abs);
      v->total++;
      v->bad += !(q <= 1.0);
      if (q > v->worst || isnan(q))
        worse(v, q, "'%s'[%lld,%lld]: expected %.9g got %.9g", s->name, (long long)r, (long long)j, e, g);
    }
    if (s->ndim == 2 && r + 1 < rows)
      for (size_t k = at(s, r, cols) * esz; k < at(s, r + 1, 0) * esz; k++)
        if (got[k] != UNWRITTEN) {
          worse(v, INFINITY, "'%s': the gap after row %lld was written", s->name, (long long)r);
          break;
        }
  }
  (void)c;
}

/* IE_BACKEND_OPS_DUMP=DIR: the inputs of a failing case as raw files
 * DIR/caseN_SLOT.bin (the slot's dtype, row stride included) and a line in
 * DIR/cases.txt naming the case, its slots, dtypes and shapes. */
static void dump_case(const opcase *c, const char *failure) {
  const char *dir = getenv("IE_BACKEND_OPS_DUMP");
  static int n;
  if (!dir) return;
  char path[512];
  snprintf(path, sizeof path, "%s/cases.txt", dir);
  FILE *idx = fopen(path, "a");
  if (!idx) return;
  fprintf(idx, "case%d %s [%s]: %s\n", n, c->op, c->var, failure);
  for (int i = 0; i < c->ns; i++) {
    const slot *s = &c->s[i];
    if (s->out || s->ndim < 0) continue;
    snprintf(path, sizeof path, "%s/case%d_%d.bin", dir, n, i);
    FILE *f = fopen(path, "wb");
    if (f) {
      fwrite(s->host, dt_size(s->dt), s->elems, f);
      fclose(f);
    }
    fprintf(idx, "  case%d_%d.bin %s %s ndim=%d shape=%lld,%lld,%lld row_stride=%lld\n", n, i, s->name,
            dt_name(s->dt), s->ndim, (long long)s->shape[0], (long long)s->shape[1], (long long)s->shape[2],
            (long long)row_stride(s));
  }
  fclose(idx);
  n++;
}

/* Run one case: the CPU reference, then every GPU target in every memory kind. */
static void run_case_timed(opcase *c);
static void run_case(opcase *c) {
  const clock_t t0 = clock();
  tally *ct = tally_of(c->op, IE_BACKEND_CPU, MEM_HOST);
  run_case_timed(c);
  const double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  ct->secs += secs;
  if (getenv("IE_BACKEND_OPS_TIMES")) note("time %s [%s]: %.2f s cpu", ct->op, c->var, secs);
  free_case(c);
}
static void run_case_timed(opcase *c) {
  /* the reference: CPU, host tensors */
  for (int i = 0; i < c->ns; i++) {
    place(&cpu, MEM_HOST, c, i, i);
    make_tensor(&cpu, c, i);
  }
  c->nsc = 0;
  ie_status st = c->call(cpu.ctx, c);
  tally *ct = tally_of(c->op, IE_BACKEND_CPU, MEM_HOST);
  ct->cases++;
  if (st != IE_OK) {
    note("FAIL %s [%s] cpu: %s: %s", c->op, c->var, ie_status_name(st), ie_errmsg(cpu.ctx));
    ct->fails++;
    failures++;
    return;
  }
  unsigned char *ref[MAXSLOT] = {0};
  for (int i = 0; i < c->ns; i++)
    if (c->s[i].out) {
      ref[i] = c->s[i].got;
      c->s[i].got = NULL;
    }
  const int nsc = c->nsc;
  double rsc[MAXSC];
  memcpy(rsc, c->sc, sizeof rsc);

  for (int g = 0; g < ngpus; g++) {
    target *t = &gpus[g];
    for (int mem = 0; mem < MEM_COUNT; mem++) {
      tally *tl = tally_of(c->op, t->b, (memkind)mem);
      tl->cases++;
      verdict v = {0, "", 0, 0};
      int ok = 1;
      for (int i = 0; i < c->ns && ok; i++) ok = place(t, (memkind)mem, c, i, i + mem);
      for (int i = 0; i < c->ns; i++) make_tensor(t, c, i);
      if (ok && mem == MEM_QUEUE && !set_queue(t, 1)) {
        worse(&v, INFINITY, "setting the caller's queue failed: %s", ie_errmsg(t->ctx));
        ok = 0;
      }
      c->nsc = 0;
      if (ok) {
        st = c->call(t->ctx, c);
        if (st != IE_OK) worse(&v, INFINITY, "%s: %s", ie_status_name(st), ie_errmsg(t->ctx));
        if (ie_errcode(t->ctx) != st) worse(&v, INFINITY, "ie_errcode %s after a call that returned %s",
                                            ie_status_name(ie_errcode(t->ctx)), ie_status_name(st));
      }
      if (mem == MEM_QUEUE && !set_queue(t, 0)) worse(&v, INFINITY, "restoring the context's queue failed");
      if (ok && st == IE_OK) {
        for (int i = 0; i < c->ns; i++)
          if (c->s[i].out) {
            if (!fetch(t, &c->s[i])) worse(&v, INFINITY, "reading back '%s' failed", c->s[i].name);
            else compare_slot(c, &c->s[i], ref[i], &v);
          }
        if (c->nsc != nsc) worse(&v, INFINITY, "%d scalars, the CPU gave %d", c->nsc, nsc);
        for (int k = 0; k < nsc && k < c->nsc; k++) {
          double q = err_ratio(c->sc[k], rsc[k], c->screl[k], c->scabs[k]);
          if (q > v.worst || isnan(q)) worse(&v, q, "%s: expected %.12g got %.12g", c->scn[k], rsc[k], c->sc[k]);
        }
      }
      for (int i = 0; i < c->ns; i++) unplace(t, &c->s[i]);
      const int bad = !(v.worst <= 1.0);
      const known_defect *kd = known_of(c->op, t->b, (memkind)mem, c->var);
      if (bad && kd && !getenv("IE_BACKEND_OPS_STRICT")) {
        note("KNOWN %s [%s] %s/%s: %s (x%.3g of tolerance) -- %s", c->op, c->var, ie_backend_name(t->b),
             mem_name[mem], v.where, v.worst, kd->what);
        tl->known++;
        known_seen++;
      } else if (bad) {
        note("FAIL %s [%s] %s/%s: %s (x%.3g of tolerance; %ld of %ld output elements off)", c->op, c->var,
             ie_backend_name(t->b), mem_name[mem], v.where, v.worst, v.bad, v.total);
        tl->fails++;
        failures++;
        if (mem == MEM_HOST) dump_case(c, v.where);
      } else if (kd) {
        note("NOTE %s [%s] %s/%s: listed as a known defect but passed this run", c->op, c->var,
             ie_backend_name(t->b), mem_name[mem]);
      }
      if (!bad && v.worst >= tl->worst) {
        tl->worst = v.worst;
        snprintf(tl->worst_var, sizeof tl->worst_var, "%s", c->var);
      }
    }
  }
  for (int i = 0; i < c->ns; i++) free(ref[i]);
}

/* ---- the row families (docs/SPEC.md §2, §3) ---------------------------------- */

static void summary_sc(opcase *c, const ie_summary *s) {
  sc(c, "rows", (double)s->rows, 0, 0.5);
  sc(c, "rows_kept", (double)s->rows_kept, 0, 0.5);
  sc(c, "weight_sum", s->weight_sum, 1e-12, 1e-12);
  /* a sum of per-row values each within the row tolerance */
  sc(c, "sum", s->sum, ROW_REL, ROW_ABS * (double)(s->rows ? s->rows : 1));
  sc(c, "mean", s->mean, ROW_REL, ROW_ABS);
  sc(c, "min", s->min, ROW_REL, ROW_ABS);
  sc(c, "max", s->max, ROW_REL, ROW_ABS);
}

static const DLTensor *T(opcase *c, int i) { return i < 0 || c->s[i].ndim < 0 ? NULL : &c->t[i]; }

static ie_status call_log_softmax(ie_context *ctx, opcase *c) { return ie_log_softmax(ctx, T(c, 0), &c->t[1], &c->sm); }
static ie_status call_softmax(ie_context *ctx, opcase *c) { return ie_softmax(ctx, T(c, 0), &c->t[1], &c->sm); }
static ie_status call_lse(ie_context *ctx, opcase *c) { return ie_logsumexp(ctx, T(c, 0), &c->t[1], &c->sm); }
/* Each row-family call also gives its partial state, whose kind (what its
 * values are: include/infoest.h) must be the CPU's, bit for bit. */
static void rows_sc(opcase *c, const ie_summary *s, const ie_partial *pt) {
  summary_sc(c, s);
  sc(c, "partial.kind", (double)pt->kind, 0, 0.5);
}
static ie_status call_entropy(ie_context *ctx, opcase *c) {
  ie_summary s;
  ie_partial pt;
  ie_entropy_options o = c->en;
  o.size = sizeof o; /* partial came after the first version */
  o.row_weights = T(c, c->weights_slot);
  o.partial = &pt;
  ie_status st = ie_entropy(ctx, T(c, 0), &c->t[1], &o, &s);
  if (st == IE_OK) rows_sc(c, &s, &pt);
  return st;
}
static ie_status call_nll(ie_context *ctx, opcase *c) {
  ie_summary s;
  ie_partial pt;
  ie_nll_options o = c->nl;
  o.size = sizeof o; /* partial came after the first version */
  o.row_weights = T(c, c->weights_slot);
  o.partial = &pt;
  ie_status st = ie_nll(ctx, T(c, 0), T(c, c->labels_slot), &c->t[1], &o, &s);
  if (st == IE_OK) rows_sc(c, &s, &pt);
  return st;
}
static ie_status call_divergence(ie_context *ctx, opcase *c) {
  ie_summary s;
  ie_partial pt;
  ie_divergence_options o = c->dv;
  o.size = sizeof o; /* partial came after the first version */
  o.row_weights = T(c, c->weights_slot);
  o.partial = &pt;
  ie_status st = ie_divergence(ctx, c->dk, T(c, 0), T(c, 2), &c->t[1], &o, &s);
  if (st == IE_OK) rows_sc(c, &s, &pt);
  return st;
}

/* Language-model-like logits for p and q, [B, V] in double: a Zipf-like
 * bias −1.2·log(rank) over a random vocabulary order, N(0, 2.5²) noise,
 * 30% of rows with one logit 25 above the rest; q = p + 0.5 + N(0, 0.5²)
 * (a student near its teacher, shifted).  Every 16th row (from row 5) masks
 * 10% of the vocabulary with -inf in both; every 16th (from row 9) masks one
 * column that p keeps in q only (KL(p‖q) = +inf: an answer). */
static void lm_rows(int64_t B, int64_t V, double *p, double *q) {
  int64_t *rank = malloc((size_t)V * sizeof *rank);
  for (int64_t j = 0; j < V; j++) rank[j] = j;
  for (int64_t j = V - 1; j > 0; j--) {
    int64_t k = irand(j + 1), t = rank[j];
    rank[j] = rank[k];
    rank[k] = t;
  }
  for (int64_t r = 0; r < B; r++) {
    double *pr = p + r * V, *qr = q + r * V, mx = -INFINITY;
    for (int64_t j = 0; j < V; j++) {
      pr[j] = -1.2 * log((double)(rank[j] + 1)) + 2.5 * nrand();
      mx = fmax(mx, pr[j]);
    }
    if (urand() < 0.3) pr[irand(V)] = mx + 25;
    for (int64_t j = 0; j < V; j++) qr[j] = pr[j] + 0.5 + 0.5 * nrand();
    if (r % 16 == 5 && V > 10)
      for (int64_t j = 0; j < V; j++)
        if (urand() < 0.1) pr[j] = qr[j] = -INFINITY;
    if (r % 16 == 9 && V > 10) qr[irand(V)] = -INFINITY;
  }
  free(rank);
}

/* Store row-major doubles [B, V] into slot i (its dtype and row stride);
 * probs: softmax of each row first. */
static void fill_rows(opcase *c, int i, const double *v, int probs) {
  slot *s = &c->s[i];
  const int64_t B = s->ndim == 2 ? s->shape[0] : 1, V = s->ndim == 2 ? s->shape[1] : s->shape[0];
  memset(s->host, UNWRITTEN, s->elems * dt_size(s->dt)); /* gaps: NaN, never read */
  for (int64_t r = 0; r < B; r++) {
    const double *x = v + r * V;
    double mx = -INFINITY, sum = 0;
    if (probs) {
      for (int64_t j = 0; j < V; j++) mx = fmax(mx, x[j]);
      for (int64_t j = 0; j < V; j++) sum += exp(x[j] - mx);
    }
    for (int64_t j = 0; j < V; j++)
      put(s->host, s->dt, s->ndim == 2 ? at(s, r, j) : (size_t)j, probs ? exp(x[j] - mx) / sum : x[j]);
  }
}

typedef struct {
  int64_t B, V, stride;
  const char *tag;
} rowshape;

static void row_cases(const char *only, int quick) {
  const DLDataType dts[3] = {F32, F16, BF16};
  const rowshape shapes[2] = {{64, 4096, 4096 + 40, "64x4096"}, {2, 128256, 0, "2x128256"}};
  for (int sh = 0; sh < (quick ? 1 : 2); sh++) {
    const int64_t B = shapes[sh].B, V = shapes[sh].V;
    double *p = malloc((size_t)(B * V) * sizeof *p), *q = malloc((size_t)(B * V) * sizeof *q);
    for (int d = 0; d < 3; d++) {
      const DLDataType dt = dts[d];
      lm_rows(B, V, p, q); /* fresh inputs for every dtype */
      const int64_t stride = d == 1 ? shapes[sh].stride : 0; /* f16: a padded row stride */
      const char *tag = shapes[sh].tag, *dn = dt_name(dt);
      opcase *c;
      /* softmax family: f32 outputs, and outputs in the input's dtype */
      for (int od = 0; od < 2; od++) {
        DLDataType outdt = od ? dt : F32;
        if (od && same_dt(dt, F32)) continue;
        if (!only || !strcmp(only, "log_softmax")) {
          c = new_case("log_softmax", "%s %s->%s%s", tag, dn, dt_name(outdt), stride ? " strided" : "");
          add(c, "logits", 0, dt, 2, B, V, 0, stride);
          add(c, "out", 1, outdt, 2, B, V, 0, stride ? stride + 8 : 0);
          fill_rows(c, 0, p, 0);
          c->call = call_log_softmax;
          run_case(c);
        }
        if (!only || !strcmp(only, "softmax")) {
          c = new_case("softmax", "%s %s->%s T=0.7", tag, dn, dt_name(outdt));
          add(c, "logits", 0, dt, 2, B, V, 0, stride);
          add(c, "out", 1, outdt, 2, B, V, 0, 0);
          fill_rows(c, 0, q, 0);
          c->sm.temperature = 0.7;
          c->call = call_softmax;
          run_case(c);
        }
      }
      if (!only || !strcmp(only, "logsumexp")) {
        c = new_case("logsumexp", "%s %s", tag, dn);
        add(c, "logits", 0, dt, 2, B, V, 0, stride);
        add(c, "out", 1, F32, 1, B, 0, 0, 0);
        fill_rows(c, 0, p, 0);
        c->call = call_lse;
        run_case(c);
      }
      /* entropies: Shannon, Rényi and Tsallis orders near and far from 1 */
      static const struct {
        ie_entropy_kind k;
        double a;
        int probs, weights;
        double T;
      } ents[] = {{IE_ENTROPY_SHANNON, 0, 0, 0, 0},   {IE_ENTROPY_SHANNON, 0, 1, 0, 0},
                  {IE_ENTROPY_SHANNON, 0, 0, 1, 1.5}, {IE_ENTROPY_RENYI, 0, 0, 0, 0},
                  {IE_ENTROPY_RENYI, 0.5, 0, 0, 0},   {IE_ENTROPY_RENYI, 0.999, 0, 0, 0},
                  {IE_ENTROPY_RENYI, 1.001, 0, 0, 0}, {IE_ENTROPY_RENYI, 2, 0, 0, 0},
                  {IE_ENTROPY_RENYI, 7, 1, 0, 0},     {IE_ENTROPY_RENYI, INFINITY, 0, 0, 0},
                  {IE_ENTROPY_TSALLIS, 0.5, 0, 0, 0}, {IE_ENTROPY_TSALLIS, 0.999, 0, 0, 0},
                  {IE_ENTROPY_TSALLIS, 1.001, 0, 0, 0}, {IE_ENTROPY_TSALLIS, 2, 1, 1, 0},
                  {IE_ENTROPY_TSALLIS, 3, 0, 0, 0}};
      static const char *const ent_name[3] = {"shannon", "renyi", "tsallis"};
      for (size_t e = 0; e < sizeof ents / sizeof *ents && (!only || !strcmp(only, "entropy")); e++) {
        c = new_case("entropy", "%s %s %s a=%g%s%s%s", tag, dn, ent_name[ents[e].k], ents[e].a,
                     ents[e].probs ? " probs" : "", ents[e].weights ? " weights" : "",
                     ents[e].T ? " T=1.5" : "");
        add(c, ents[e].probs ? "probs" : "logits", 0, dt, 2, B, V, 0, stride);
        add(c, "per_row", 1, F32, 1, B, 0, 0, 0);
        fill_rows(c, 0, (e % 2) ? q : p, ents[e].probs);
        if (ents[e].weights) {
          c->weights_slot = add(c, "row_weights", 0, F32, 1, B, 0, 0, 0);
          for (int64_t r = 0; r < B; r++) put(c->s[c->weights_slot].host, F32, (size_t)r, r % 5 == 3 ? 0 : 0.25 + urand());
        }
        c->en.kind = ents[e].k;
        c->en.alpha = ents[e].a;
        c->en.input = ents[e].probs ? IE_INPUT_PROBS : IE_INPUT_LOGITS;
        c->en.temperature = ents[e].T;
        c->call = call_entropy;
        run_case(c);
      }
      /* nll: int64 labels with an ignore index, int32 labels with weights */
      for (int v = 0; v < 2 && (!only || !strcmp(only, "nll")); v++) {
        c = new_case("nll", "%s %s %s", tag, dn, v ? "i32 labels, weights, T=0.8" : "i64 labels, ignore_index -100");
        add(c, "logits", 0, dt, 2, B, V, 0, stride);
        add(c, "per_row", 1, F32, 1, B, 0, 0, 0);
        fill_rows(c, 0, p, 0);
        c->labels_slot = add(c, "labels", 0, v ? I32 : I64, 1, B, 0, 0, 0);
        for (int64_t r = 0; r < B; r++) {
          /* mostly a likely token (the row's argmax), some random ones */
          int64_t y = 0;
          double best = -INFINITY;
          for (int64_t j = 0; j < V; j++)
            if (p[r * V + j] > best) best = p[r * V + (y = j)];
          if (urand() < 0.5) {
            do y = irand(V);
            while (p[r * V + y] == -INFINITY);
          }
          put(c->s[c->labels_slot].host, c->s[c->labels_slot].dt, (size_t)r, !v && r % 4 == 1 ? -100 : (double)y);
        }
        if (v) {
          c->weights_slot = add(c, "row_weights", 0, F32, 1, B, 0, 0, 0);
          for (int64_t r = 0; r < B; r++) put(c->s[c->weights_slot].host, F32, (size_t)r, 0.5 + urand());
          c->nl.temperature = 0.8;
        } else {
          c->nl.has_ignore_index = 1;
          c->nl.ignore_index = -100;
        }
        c->call = call_nll;
        run_case(c);
      }
      /* every divergence kind with its parameters */
      static const struct {
        ie_divergence_kind k;
        double a, b;
        int pprobs, qprobs;
      } divs[] = {{IE_DIV_KL, 0, 0, 0, 0},          {IE_DIV_KL, 0, 0, 1, 0},
                  {IE_DIV_REVERSE_KL, 0, 0, 0, 0},  {IE_DIV_JEFFREYS, 0, 0, 0, 0},
                  {IE_DIV_CROSS_ENTROPY, 0, 0, 0, 1}, {IE_DIV_JS, 0, 0, 0, 0},
                  {IE_DIV_JS, 0, 0.2, 1, 1},        {IE_DIV_TV, 0, 0, 0, 0},
                  {IE_DIV_HELLINGER, 0, 0, 0, 0},   {IE_DIV_BHATTACHARYYA, 0, 0, 0, 0},
                  {IE_DIV_CHI2, 0, 0, 0, 0},        {IE_DIV_ALPHA, 0.5, 0, 0, 0},
                  {IE_DIV_ALPHA, 0.999, 0, 0, 0},   {IE_DIV_ALPHA, 2, 0, 0, 0},
                  {IE_DIV_ALPHA, -0.5, 0, 0, 0},    {IE_DIV_RENYI, 0.5, 0, 0, 0},
                  {IE_DIV_RENYI, 1.001, 0, 0, 0},   {IE_DIV_RENYI, 3, 0, 0, 0},
                  {IE_DIV_RENYI, INFINITY, 0, 0, 0}, {IE_DIV_TSALLIS, 0.5, 0, 0, 0},
                  {IE_DIV_TSALLIS, 0.999, 0, 0, 0}, {IE_DIV_TSALLIS, 2, 0, 0, 0},
                  {IE_DIV_CAUCHY_SCHWARZ, 0, 0, 0, 0}};
      for (size_t e = 0; e < sizeof divs / sizeof *divs && (!only || !strcmp(only, "divergence")); e++) {
        /* q in another dtype for f16 (the API allows mixed dtypes) */
        const DLDataType qdt = same_dt(dt, F16) && e % 3 == 0 ? BF16 : dt;
        c = new_case("divergence", "%s %s/%s %s a=%g b=%g%s%s%s", tag, dn, dt_name(qdt), ie_divergence_name(divs[e].k),
                     divs[e].a, divs[e].b, divs[e].pprobs ? " p:probs" : "", divs[e].qprobs ? " q:probs" : "",
                     e == 1 ? " weights" : "");
        add(c, "p", 0, dt, 2, B, V, 0, stride);
        add(c, "per_row", 1, F32, 1, B, 0, 0, 0);
        add(c, "q", 0, qdt, 2, B, V, 0, 0);
        fill_rows(c, 0, p, divs[e].pprobs);
        fill_rows(c, 2, q, divs[e].qprobs);
        if (e == 1) {
          c->weights_slot = add(c, "row_weights", 0, F32, 1, B, 0, 0, 0);
          for (int64_t r = 0; r < B; r++) put(c->s[c->weights_slot].host, F32, (size_t)r, urand());
        }
        c->dk = divs[e].k;
        c->dv.alpha = divs[e].a;
        c->dv.beta = divs[e].b;
        c->dv.p_input = divs[e].pprobs ? IE_INPUT_PROBS : IE_INPUT_LOGITS;
        c->dv.q_input = divs[e].qprobs ? IE_INPUT_PROBS : IE_INPUT_LOGITS;
        c->call = call_divergence;
        run_case(c);
      }
    }
    free(p);
    free(q);
  }
}

/* Rows beyond the language-model range (docs/SPEC.md §1: the tolerance holds
 * for every input): logits of LM rows scaled by 40, 1e4 and 1e30 (in f32),
 * so that orders above 1 meet q far below p, and terms that overflow a
 * float if summed unshifted.  Power divergences and entropies, f32 only. */
static void extreme_cases(const char *only) {
  const int64_t B = 12, V = 1000;
  static const double scale[3] = {40, 1e4, 1e30};
  static const struct {
    ie_divergence_kind k;
    double a;
  } divs[] = {{IE_DIV_ALPHA, 2}, {IE_DIV_ALPHA, 0.5}, {IE_DIV_RENYI, 3}, {IE_DIV_RENYI, 0.5}, {IE_DIV_TSALLIS, 2},
              {IE_DIV_CHI2, 0}, {IE_DIV_KL, 0}, {IE_DIV_JS, 0}, {IE_DIV_BHATTACHARYYA, 0}, {IE_DIV_CAUCHY_SCHWARZ, 0}};
  double *p = malloc((size_t)(B * V) * sizeof *p), *q = malloc((size_t)(B * V) * sizeof *q);
  for (int sc_i = 0; sc_i < 3; sc_i++) {
    for (size_t e = 0; e < sizeof divs / sizeof *divs && (!only || !strcmp(only, "divergence")); e++) {
      lm_rows(B, V, p, q);
      for (int64_t k = 0; k < B * V; k++) {
        p[k] = isinf(p[k]) ? p[k] : p[k] * scale[sc_i] / 40 - 1e20 * (scale[sc_i] > 1e20);
        q[k] = isinf(q[k]) ? q[k] : q[k] * scale[sc_i] / 40;
      }
      opcase *c = new_case("divergence", "extreme %lldx%lld f32 logits x%g %s a=%g", (long long)B, (long long)V,
                           scale[sc_i] / 40, ie_divergence_name(divs[e].k), divs[e].a);
      add(c, "p", 0, F32, 2, B, V, 0, 0);
      add(c, "per_row", 1, F32, 1, B, 0, 0, 0);
      add(c, "q", 0, F32, 2, B, V, 0, 0);
      fill_rows(c, 0, p, 0);
      fill_rows(c, 2, q, 0);
      c->dk = divs[e].k;
      c->dv.alpha = divs[e].a;
      c->call = call_divergence;
      run_case(c);
    }
    for (int e = 0; e < 3 && (!only || !strcmp(only, "entropy")); e++) {
      lm_rows(B, V, p, q);
      for (int64_t k = 0; k < B * V; k++) p[k] = isinf(p[k]) ? p[k] : p[k] * scale[sc_i] / 40;
      opcase *c = new_case("entropy", "extreme %lldx%lld f32 logits x%g %s", (long long)B, (long long)V,
                           scale[sc_i] / 40, e == 0 ? "shannon" : e == 1 ? "renyi a=2" : "tsallis a=0.5");
      add(c, "logits", 0, F32, 2, B, V, 0, 0);
      add(c, "per_row", 1, F32, 1, B, 0, 0, 0);
      fill_rows(c, 0, p, 0);
      c->en.kind = e == 0 ? IE_ENTROPY_SHANNON : e == 1 ? IE_ENTROPY_RENYI : IE_ENTROPY_TSALLIS;
      c->en.alpha = e == 1 ? 2 : 0.5;
      c->call = call_entropy;
      run_case(c);
    }
  }
  free(p);
  free(q);
}

/* ---- points: embeddings, duplicates, ties ------------------------------------------ */

/* Clustered embeddings [n, d]: 8 centres on a sphere, points near them with a
 * low-rank part; `dup` of them exact copies of earlier rows; `grid` > 0
 * rounds every coordinate to multiples of it (ties in distance). */
static void points(double *x, int64_t n, int64_t d, double dup, double grid, double shift) {
  double centre[8][128], basis[3][128];
  for (int c = 0; c < 8; c++)
    for (int64_t j = 0; j < d && j < 128; j++) centre[c][j] = nrand() * 1.5;
  for (int c = 0; c < 3; c++)
    for (int64_t j = 0; j < d && j < 128; j++) basis[c][j] = nrand();
  for (int64_t i = 0; i < n; i++) {
    int c = (int)irand(8);
    double z[3] = {nrand(), nrand(), nrand()};
    for (int64_t j = 0; j < d; j++) {
      double v = centre[c][j % 128] + 0.3 * nrand() + 0.5 * (z[0] * basis[0][j % 128] + z[1] * basis[1][j % 128] +
                                                          z[2] * basis[2][j % 128]) + shift;
      x[i * d + j] = grid > 0 ? grid * nearbyint(v / grid) : v;
    }
    if (i > 0 && urand() < dup) memcpy(x + i * d, x + irand(i) * d, (size_t)d * sizeof *x);
  }
}

static void fill_pts(opcase *c, int i, const double *x) {
  slot *s = &c->s[i];
  for (size_t k = 0; k < s->elems; k++) put(s->host, s->dt, k, x[k]);
}

static void knn_sc(opcase *c, const ie_knn_result *r) {
  sc(c, "estimate", r->estimate, ROW_REL, ROW_ABS);
  sc(c, "n", (double)r->n, 0, 0.5);
  sc(c, "m", (double)r->m, 0, 0.5);
  sc(c, "d", (double)r->d, 0, 0.5);
  sc(c, "k", (double)r->k, 0, 0.5);
}

static ie_status call_knn(ie_context *ctx, opcase *c) {
  /* exclude_self: queries and refs are the same tensor */
  return ie_knn(ctx, T(c, 0), c->ko.exclude_self ? T(c, 0) : T(c, 1), c->k, &c->t[2], &c->t[3], &c->ko);
}
static ie_status call_knn_entropy(ie_context *ctx, opcase *c) {
  ie_knn_result r;
  ie_status s = ie_knn_entropy(ctx, T(c, 0), &c->ke, &r);
  if (s == IE_OK) knn_sc(c, &r);
  return s;
}
static ie_status call_knn_divergence(ie_context *ctx, opcase *c) {
  ie_knn_result r;
  ie_status s = ie_knn_divergence(ctx, c->km, T(c, 0), T(c, 1), &c->ke, &r);
  if (s == IE_OK) knn_sc(c, &r);
  return s;
}
static ie_status call_knn_mi(ie_context *ctx, opcase *c) {
  ie_knn_result r;
  ie_status s = ie_knn_mutual_information(ctx, T(c, 0), T(c, 1), &c->ke, &r);
  if (s == IE_OK) knn_sc(c, &r);
  return s;
}

static void knn_cases(const char *only) {
  const DLDataType dts[3] = {F32, F16, BF16};
  for (int d = 0; d < 3; d++) {
    const DLDataType dt = dts[d];
    const char *dn = dt_name(dt);
    opcase *c;
    if (!only || !strcmp(only, "knn")) {
      /* embeddings, d = 64: queries with duplicates of refs; k = 5 */
      const int64_t m = 300, n = 1500, D = 64, k = 5;
      double *x = malloc((size_t)(n + m) * D * sizeof *x);
      points(x, n + m, D, 0.05, 0, 0);
      for (int64_t i = 0; i < m; i += 7) memcpy(x + (n + i) * D, x + irand(n) * D, (size_t)D * sizeof *x);
      c = new_case("knn", "%s d=64 euclidean dups k=5 i64/f32", dn);
      add(c, "queries", 0, dt, 2, m, D, 0, 0);
      add(c, "refs", 0, dt, 2, n, D, 0, 0);
      add(c, "indices", 1, I64, 2, m, k, 0, 0);
      add(c, "distances", 1, F32, 2, m, k, 0, 0);
      c->s[2].tol = TOL_EXACT;
      fill_pts(c, 0, x + n * D);
      fill_pts(c, 1, x);
      c->k = k;
      c->call = call_knn;
      run_case(c);
      free(x);
      /* a grid in d = 3 (many exact ties, broken by index), one set
       * against itself, both metrics */
      for (int met = 0; met < 2; met++) {
        const int64_t N = 1200, K = 6;
        double *g = malloc((size_t)N * 3 * sizeof *g);
        points(g, N, 3, 0.03, 0.25, 0);
        c = new_case("knn", "%s d=3 grid ties exclude_self %s k=6 i32/%s", dn, met ? "chebyshev" : "euclidean",
                     dt_name(d == 0 ? F64 : F32));
        add(c, "queries", 0, dt, 2, N, 3, 0, 0);
        add_absent(c, "refs");
        add(c, "indices", 1, I32, 2, N, K, 0, 0);
        /* f64 distances where the device takes them (probed in main) */
        add(c, "distances", 1, d == 0 && same_dt(gpus[0].rowdt, F64) ? F64 : F32, 2, N, K, 0, 0);
        c->s[2].tol = TOL_EXACT;
        fill_pts(c, 0, g);
        c->ko.exclude_self = 1;
        c->ko.metric = met ? IE_METRIC_CHEBYSHEV : IE_METRIC_EUCLIDEAN;
        c->k = K;
        c->call = call_knn;
        run_case(c);
        free(g);
      }
    }
    if (!only || !strcmp(only, "knn_entropy")) {
      const int64_t N = 1200, D = 6;
      double *x = malloc((size_t)N * D * sizeof *x);
      static const struct {
        double a;
        int has, k;
        double jitter;
      } ke[] = {{0, 0, 3, 0}, {0.5, 1, 4, 0}, {1, 1, 3, 0}, {2.5, 1, 5, 0}, {0, 0, 3, 1e-3}};
      for (size_t e = 0; e < sizeof ke / sizeof *ke; e++) {
        points(x, N, D, ke[e].jitter > 0 ? 0.05 : 0, 0, 0);
        c = new_case("knn_entropy", "%s d=6 k=%d %s%g%s", dn, ke[e].k, ke[e].has ? "alpha=" : "kl", ke[e].has ? ke[e].a : 0,
                     ke[e].jitter > 0 ? " dups jitter=1e-3" : "");
        add(c, "x", 0, dt, 2, N, D, 0, 0);
        fill_pts(c, 0, x);
        c->ke.k = ke[e].k;
        c->ke.alpha = ke[e].a;
        c->ke.has_alpha = ke[e].has;
        c->ke.jitter = ke[e].jitter;
        c->ke.seed = 1234;
        c->call = call_knn_entropy;
        run_case(c);
      }
      free(x);
    }
    if (!only || !strcmp(only, "knn_divergence")) {
      const int64_t N = 900, M = 800, D = 5;
      double *x = malloc((size_t)N * D * sizeof *x), *y = malloc((size_t)M * D * sizeof *y);
      static const struct {
        ie_knn_divergence_method m;
        ie_divergence_kind kind;
        double a;
        int k;
      } kd[] = {{IE_KNN_DIV_KL, 0, 0, 3},
                {IE_KNN_DIV_RENYI, 0, 0.8, 3},
                {IE_KNN_DIV_RENYI, 0, 1.5, 4},
                {IE_KNN_DIV_NNR, IE_DIV_KL, 0, 8},
                {IE_KNN_DIV_NNR, IE_DIV_REVERSE_KL, 0, 8},
                {IE_KNN_DIV_NNR, IE_DIV_JEFFREYS, 0, 8},
                {IE_KNN_DIV_NNR, IE_DIV_JS, 0, 8},
                {IE_KNN_DIV_NNR, IE_DIV_TV, 0, 8},
                {IE_KNN_DIV_NNR, IE_DIV_HELLINGER, 0, 8},
                {IE_KNN_DIV_NNR, IE_DIV_BHATTACHARYYA, 0, 8},
                {IE_KNN_DIV_NNR, IE_DIV_CHI2, 0, 8},
                {IE_KNN_DIV_NNR, IE_DIV_ALPHA, 0.5, 8},
                {IE_KNN_DIV_NNR, IE_DIV_RENYI, 2, 8},
                {IE_KNN_DIV_NNR, IE_DIV_TSALLIS, 1.5, 8}};
      static const char *const meth[3] = {"kl", "renyi", "nnr"};
      for (size_t e = 0; e < sizeof kd / sizeof *kd; e++) {
        rng_state += e;
        points(x, N, D, 0, 0, 0);
        points(y, M, D, 0, 0, 0.3);
        c = new_case("knn_divergence", "%s d=5 %s%s%s a=%g k=%d", dn, meth[kd[e].m], kd[e].m == IE_KNN_DIV_NNR ? " " : "",
                     kd[e].m == IE_KNN_DIV_NNR ? ie_divergence_name(kd[e].kind) : "", kd[e].a, kd[e].k);
        add(c, "x", 0, dt, 2, N, D, 0, 0);
        add(c, "y", 0, dt, 2, M, D, 0, 0);
        fill_pts(c, 0, x);
        fill_pts(c, 1, y);
        c->km = kd[e].m;
        c->ke.nnr_kind = kd[e].kind;
        c->ke.k = kd[e].k;
        c->ke.alpha = kd[e].a;
        c->ke.has_alpha = kd[e].a != 0;
        c->call = call_knn_divergence;
        run_case(c);
      }
      free(x);
      free(y);
    }
    if (!only || !strcmp(only, "knn_mutual_information")) {
      const int64_t N = 1000;
      for (int v = 0; v < 2; v++) {
        double *x = malloc((size_t)N * 2 * sizeof *x), *y = malloc((size_t)N * 2 * sizeof *y);
        const double grid = v ? 0.125 : 0;
        for (int64_t i = 0; i < N; i++) {
          double a = nrand(), b = nrand();
          x[2 * i] = a;
          x[2 * i + 1] = b;
          y[2 * i] = 0.8 * a + 0.6 * nrand();
          y[2 * i + 1] = 0.5 * a - 0.5 * b + 0.7 * nrand();
          for (int j = 0; j < 2 && grid > 0; j++) {
            x[2 * i + j] = grid * nearbyint(x[2 * i + j] / grid);
            y[2 * i + j] = grid * nearbyint(y[2 * i + j] / grid);
          }
        }
        c = new_case("knn_mutual_information", "%s dx=2 dy=2 k=4%s", dn, v ? " grid ties" : "");
        add(c, "x", 0, dt, 2, N, 2, 0, 0);
        add(c, "y", 0, dt, 2, N, 2, 0, 0);
        fill_pts(c, 0, x);
        fill_pts(c, 1, y);
        c->ke.k = 4;
        c->call = call_knn_mi;
        run_case(c);
        free(x);
        free(y);
      }
    }
  }
}

/* ---- Sinkhorn ----------------------------------------------------------------- */

static ie_status call_sinkhorn(ie_context *ctx, opcase *c) {
  /* slots: 0 a, 1 b, 2 cost, 3 x, 4 y, 5 f, 6 g, 7 plan, 8 cost_xx, 9 cost_yy */
  ie_sinkhorn_result res[4];
  c->so.cost_xx = T(c, 8);
  c->so.cost_yy = T(c, 9);
  ie_status s = ie_sinkhorn(ctx, T(c, 0), T(c, 1), T(c, 2), T(c, 3), T(c, 4), &c->so, res, &c->t[5], &c->t[6],
                            &c->t[7]);
  if (s != IE_OK) return s;
  static const char *const names[4][6] = {
      {"[0].transport_cost", "[0].objective", "[0].divergence", "[0].marginal_error", "[0].iterations", "[0].converged"},
      {"[1].transport_cost", "[1].objective", "[1].divergence", "[1].marginal_error", "[1].iterations", "[1].converged"},
      {"[2].transport_cost", "[2].objective", "[2].divergence", "[2].marginal_error", "[2].iterations", "[2].converged"},
      {"[3].transport_cost", "[3].objective", "[3].divergence", "[3].marginal_error", "[3].iterations", "[3].converged"}};
  for (int b = 0; b < c->B && b < 4; b++) {
    sc(c, names[b][0], res[b].transport_cost, ROW_REL, ROW_ABS);
    sc(c, names[b][1], res[b].objective, ROW_REL, ROW_ABS);
    sc(c, names[b][2], res[b].divergence, ROW_REL, ROW_ABS);
    /* the marginal error is a residual near tol: agree to within tol (the
     * float32 tiles' plan carries their rounding of C/ε: docs/SPEC.md §4) */
    sc(c, names[b][3], res[b].marginal_error, 0, fmax(c->so.tol, c->so.single_precision ? 1e-5 : 1e-6));
    /* double arithmetic summed in another order may stop one check apart;
     * float32 tiles run a fixed count (sinkhorn_cases) */
    sc(c, names[b][4], (double)res[b].iterations, 0,
       c->so.single_precision ? 0.5 : (double)(c->so.check_every ? c->so.check_every : 10) + 0.5);
    sc(c, names[b][5], res[b].converged, 0, 0.5);
  }
  return IE_OK;
}

static void sinkhorn_cases(const char *only) {
  if (only && strcmp(only, "sinkhorn")) return;
  const DLDataType dts[3] = {F32, F16, BF16};
  static const struct {
    const char *name;
    int B, given, div, scaling;
    ie_cost_metric metric;
    double eps, rho;
    size_t budget;
    int single; /* single_precision: float32 tiles on the GPUs, against the CPU's double */
  } sk[] = {{"clouds sqeuclidean", 1, 0, 0, 0, IE_COST_SQEUCLIDEAN, 0.05, 0, 0, 0},
            {"batch 3 half-sqeuclidean divergence", 3, 0, 1, 0, IE_COST_HALF_SQEUCLIDEAN, 0.1, 0, 0, 0},
            {"given cost unbalanced rho=0.5", 2, 1, 0, 0, IE_COST_SQEUCLIDEAN, 0.1, 0.5, 0, 0},
            {"given cost divergence", 1, 1, 1, 0, IE_COST_SQEUCLIDEAN, 0.1, 0, 0, 0},
            {"euclidean eps-scaling", 1, 0, 0, 1, IE_COST_EUCLIDEAN, 0.05, 0, 0, 0},
            {"tiled cost (budget 4 KiB) unbalanced rho=2", 1, 0, 0, 0, IE_COST_SQEUCLIDEAN, 0.1, 2, 4096, 0},
            {"float32 tiles sqeuclidean", 1, 0, 0, 0, IE_COST_SQEUCLIDEAN, 0.05, 0, 0, 1},
            {"float32 tiles batch 3 half-sqeuclidean divergence", 3, 0, 1, 0, IE_COST_HALF_SQEUCLIDEAN, 0.1, 0, 0, 1},
            {"float32 tiles euclidean eps-scaling unbalanced rho=2", 1, 0, 0, 1, IE_COST_EUCLIDEAN, 0.05, 2, 0, 1}};
  const int64_t n = 96, m = 80, D = 3;
  for (int d = 0; d < 3; d++)
    for (size_t e = 0; e < sizeof sk / sizeof *sk; e++) {
      const DLDataType dt = dts[d];
      const int B = sk[e].B;
      opcase *c = new_case("sinkhorn", "%s %s eps=%g", dt_name(dt), sk[e].name, sk[e].eps);
      c->B = B;
      add(c, "a", 0, dt, B > 1 ? 2 : 1, B > 1 ? B : n, n, 0, 0);
      add(c, "b", 0, dt, B > 1 ? 2 : 1, B > 1 ? B : m, m, 0, 0);
      double *x = malloc((size_t)(n + m) * D * sizeof *x);
      points(x, n + m, D, 0.02, 0, 0);
      for (size_t k = 0; k < (size_t)(n + m) * D; k++) x[k] *= 0.3; /* costs of order 1 */
      for (size_t k = 0; k < (size_t)B * n; k++) put(c->s[0].host, dt, k, k % 37 == 5 ? 0 : 0.2 + urand());
      for (size_t k = 0; k < (size_t)B * m; k++) put(c->s[1].host, dt, k, 0.2 + urand());
      /* the squared distance between point i of one cloud and j of another */
#define SQD(P, Q) ((x[(P) * D] - x[(Q) * D]) * (x[(P) * D] - x[(Q) * D]) + \
                   (x[(P) * D + 1] - x[(Q) * D + 1]) * (x[(P) * D + 1] - x[(Q) * D + 1]) + \
                   (x[(P) * D + 2] - x[(Q) * D + 2]) * (x[(P) * D + 2] - x[(Q) * D + 2]))
      if (sk[e].given) {
        add(c, "cost", 0, dt, 2, n, m, 0, 0);
        for (int64_t i = 0; i < n; i++)
          for (int64_t j = 0; j < m; j++) put(c->s[2].host, dt, (size_t)(i * m + j), SQD(i, n + j));
        add_absent(c, "x");
        add_absent(c, "y");
      } else {
        add_absent(c, "cost");
        add(c, "x", 0, dt, 2, n, D, 0, 0);
        add(c, "y", 0, dt, 2, m, D, 0, 0);
        fill_pts(c, 3, x);
        fill_pts(c, 4, x + n * D);
      }
      /* outputs in f32 (the GPUs' dtype); potentials and plan compared
       * relative to their scale (they are ε·log of quantities near 1/n) */
      add(c, "f", 1, F32, B > 1 ? 2 : 1, B > 1 ? B : n, n, 0, 0);
      add(c, "g", 1, F32, B > 1 ? 2 : 1, B > 1 ? B : m, m, 0, 0);
      add(c, "plan", 1, F32, B > 1 ? 3 : 2, B > 1 ? B : n, B > 1 ? n : m, m, 0);
      /* float32 tiles (against the CPU's double): the potentials carry the
       * rounding of C/ε in their log-sums, an absolute error of ε times it
       * (docs/SPEC.md §4): seen up to 2.4e-6 at ε = 0.05 and 1.2e-6 at 0.1
       * (the latter on a potential of −0.0067, 1.8e-4 relative), and the
       * plan that error over ε: 2e-5 relative at ε = 0.05 */
      for (int i = 5; i <= 7; i++) {
        c->s[i].tol = TOL_CUSTOM;
        c->s[i].rel = i == 7 || sk[e].single ? 1e-4 : ROW_REL;
        c->s[i].abs = i == 7 ? 1e-9 : sk[e].single ? 1e-5 : 1e-6;
      }
      if (sk[e].given && sk[e].div) {
        add(c, "cost_xx", 0, dt, 2, n, n, 0, 0);
        add(c, "cost_yy", 0, dt, 2, m, m, 0, 0);
        for (int64_t i = 0; i < n; i++)
          for (int64_t j = 0; j < n; j++) put(c->s[8].host, dt, (size_t)(i * n + j), SQD(i, j));
        for (int64_t i = 0; i < m; i++)
          for (int64_t j = 0; j < m; j++) put(c->s[9].host, dt, (size_t)(i * m + j), SQD(n + i, n + j));
      } else {
        add_absent(c, "cost_xx");
        add_absent(c, "cost_yy");
      }
#undef SQD
      c->so.epsilon = sk[e].eps;
      c->so.metric = sk[e].metric;
      c->so.rho = sk[e].rho;
      c->so.divergence = sk[e].div;
      c->so.eps_scaling = sk[e].scaling;
      c->so.memory_budget = sk[e].budget;
      c->so.size = sizeof c->so; /* the whole struct: single_precision came after the first version */
      c->so.single_precision = sk[e].single;
      c->so.max_iter = 1000;
      if (sk[e].single) {
        /* Both sides run 200 iterations, so that the plan and potentials
         * differ by float32's arithmetic only: the balanced error never
         * meets tol = 1e-300, and the unbalanced potentials, whose float32
         * moves can reach exactly 0, were seen to stop moving after 370
         * at the earliest (the CPU's after 780).  Two solves stopped at
         * different checks differ by what the slowest mode has left to
         * move, which the stopping rule does not bound: with seed
         * 5394188067, the CPU's own plan at tol 1e-6 was 1.6e-3 relative
         * from its plan at 1e-10, and the float32 tiles' plan, stopped ten
         * iterations before the CPU's, 4.3e-4 from the CPU's.  The float32
         * check's own stopping is tested against POT in test_sinkhorn. */
        c->so.max_iter = 200;
        c->so.tol = 1e-300;
      }
      c->call = call_sinkhorn;
      run_case(c);
      free(x);
    }
}

/* ---- spectral ------------------------------------------------------------------------ */

static void spectral_sc(opcase *c, const ie_spectral_result *r, double rel) {
  sc(c, "value", r->value, rel, ROW_ABS);
  /* clamps are rounding-level negatives: agree to within rounding */
  sc(c, "max_clamp", r->max_clamp, 0, 1e-6);
  sc(c, "path", r->path, 0, 0.5);
  sc(c, "n", (double)r->n, 0, 0.5);
  /* eigenvalues near the rank cut-off may land either side of it */
  sc(c, "positive", (double)r->positive, 0.01, 1.5);
}
static double spec_rel(const opcase *c) {
  /* float32 eigenvalues: "about 1e-5 relative" on each side */
  return c->vo.single_precision || c->mo.single_precision ? 5e-5 : ROW_REL;
}
static ie_status call_vendi(ie_context *ctx, opcase *c) {
  ie_spectral_result r;
  ie_status s = ie_vendi(ctx, T(c, 0), &c->vo, &r);
  if (s == IE_OK) spectral_sc(c, &r, spec_rel(c));
  return s;
}
static ie_status call_vendi_batch(ie_context *ctx, opcase *c) {
  ie_spectral_result r;
  ie_status s = ie_vendi_batch(ctx, T(c, 0), &c->t[1], &c->vo, &r);
  if (s == IE_OK) spectral_sc(c, &r, spec_rel(c));
  return s;
}
static ie_status call_matrix_entropy(ie_context *ctx, opcase *c) {
  ie_spectral_result r;
  ie_status s = ie_matrix_entropy(ctx, T(c, 0), &c->mo, &r);
  if (s == IE_OK) spectral_sc(c, &r, spec_rel(c));
  return s;
}
static ie_status call_matrix_joint(ie_context *ctx, opcase *c) {
  ie_spectral_result r;
  ie_status s = ie_matrix_joint_entropy(ctx, T(c, 0), T(c, 1), &c->mo, &r);
  if (s == IE_OK) spectral_sc(c, &r, spec_rel(c));
  return s;
}
static ie_status call_matrix_mi(ie_context *ctx, opcase *c) {
  ie_spectral_result r;
  ie_status s = ie_matrix_mutual_information(ctx, T(c, 0), T(c, 1), &c->mo, &r);
  if (s == IE_OK) spectral_sc(c, &r, spec_rel(c));
  return s;
}

static void spectral_cases(const char *only) {
  const DLDataType dts[3] = {F32, F16, BF16};
  const int64_t n = 256, D = 40;
  double *x = malloc((size_t)n * D * sizeof *x), *y = malloc((size_t)n * 16 * sizeof *y);
  for (int d = 0; d < 3; d++) {
    const DLDataType dt = dts[d];
    const char *dn = dt_name(dt);
    opcase *c;
    if (!only || !strcmp(only, "vendi")) {
      static const struct {
        ie_kernel k;
        ie_spectral_path path;
        double q;
        int has, single;
      } vs[] = {{IE_KERNEL_COSINE, IE_SPECTRAL_AUTO, 0, 0, 0},   {IE_KERNEL_COSINE, IE_SPECTRAL_PRIMAL, 2, 1, 0},
                {IE_KERNEL_COSINE, IE_SPECTRAL_DUAL, 0.5, 1, 0}, {IE_KERNEL_COSINE, IE_SPECTRAL_AUTO, 0, 1, 0},
                {IE_KERNEL_RBF, IE_SPECTRAL_AUTO, 1, 1, 0},      {IE_KERNEL_RBF, IE_SPECTRAL_AUTO, INFINITY, 1, 0},
                {IE_KERNEL_RBF, IE_SPECTRAL_AUTO, 1, 0, 1},      {IE_KERNEL_PRECOMPUTED, IE_SPECTRAL_AUTO, 1, 0, 0}};
      static const char *const kn[3] = {"cosine", "rbf", "precomputed K"};
      for (size_t e = 0; e < sizeof vs / sizeof *vs; e++) {
        const int pre = vs[e].k == IE_KERNEL_PRECOMPUTED;
        if (pre && d) continue; /* K within 16 ulps of a unit diagonal: f32 */
        points(x, n, D, 0.03, 0, 0);
        c = new_case("vendi", "%s n=256 d=40 %s path=%d q=%g%s", dn, kn[vs[e].k], (int)vs[e].path,
                     vs[e].has ? vs[e].q : 1, vs[e].single ? " single" : "");
        if (pre) {
          add(c, "K", 0, F32, 2, n, n, 0, 0);
          for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) { /* cosine similarity, built in double */
              double s = 0, a = 0, b = 0;
              for (int64_t k = 0; k < D; k++) {
                s += x[i * D + k] * x[j * D + k];
                a += x[i * D + k] * x[i * D + k];
                b += x[j * D + k] * x[j * D + k];
              }
              put(c->s[0].host, F32, (size_t)(i * n + j), i == j ? 1 : s / sqrt(a * b));
            }
        } else {
          add(c, "x", 0, dt, 2, n, D, 0, 0);
          fill_pts(c, 0, x);
        }
        c->vo.kernel = vs[e].k;
        c->vo.sigma = 8;
        c->vo.q = vs[e].q;
        c->vo.has_q = vs[e].has;
        c->vo.path = vs[e].path;
        c->vo.single_precision = vs[e].single;
        c->call = call_vendi;
        run_case(c);
      }
    }
    if (!only || !strcmp(only, "vendi_batch")) {
      for (int k = 0; k < 2; k++) {
        const int64_t S = 60, sn = 16, sd = 12;
        double *z = malloc((size_t)(S * sn * sd) * sizeof *z);
        points(z, S * sn, sd, 0.05, 0, 0);
        c = new_case("vendi_batch", "%s S=60 n=16 d=12 %s", dn, k ? "rbf q=2" : "cosine");
        add(c, "x", 0, dt, 3, S, sn, sd, 0);
        add(c, "scores", 1, F32, 1, S, 0, 0, 0);
        fill_pts(c, 0, z);
        c->vo.kernel = k ? IE_KERNEL_RBF : IE_KERNEL_COSINE;
        c->vo.sigma = 3;
        c->vo.q = 2;
        c->vo.has_q = k;
        c->call = call_vendi_batch;
        run_case(c);
        free(z);
      }
    }
    static const struct {
      ie_kernel k, ky;
      double a;
      int has, sep;
    } ms[] = {{IE_KERNEL_RBF, IE_KERNEL_RBF, 1, 0, 0},
              {IE_KERNEL_COSINE, IE_KERNEL_COSINE, 2, 1, 0},
              {IE_KERNEL_RBF, IE_KERNEL_COSINE, 0.5, 1, 1},
              {IE_KERNEL_RBF, IE_KERNEL_RBF, 1.01, 1, 0}};
    for (int op = 0; op < 3; op++) {
      static const char *const opn[3] = {"matrix_entropy", "matrix_joint_entropy", "matrix_mutual_information"};
      if (only && strcmp(only, opn[op])) continue;
      for (size_t e = 0; e < sizeof ms / sizeof *ms; e++) {
        points(x, n, D, 0.02, 0, 0);
        for (int64_t i = 0; i < n; i++) /* y: a noisy view of x's first 16 coordinates */
          for (int64_t j = 0; j < 16; j++) y[i * 16 + j] = x[i * D + j] + 0.8 * nrand();
        c = new_case(opn[op], "%s n=256 dx=40 dy=16 %s%s alpha=%g", dn, ms[e].k == IE_KERNEL_RBF ? "rbf" : "cosine",
                     ms[e].sep ? "/cosine" : "", ms[e].has ? ms[e].a : 1);
        add(c, "x", 0, dt, 2, n, D, 0, 0);
        add(c, "y", 0, dt, 2, n, 16, 0, 0);
        fill_pts(c, 0, x);
        fill_pts(c, 1, y);
        c->mo.kernel = ms[e].k;
        c->mo.sigma = 10;
        c->mo.alpha = ms[e].a;
        c->mo.has_alpha = ms[e].has;
        c->mo.separate_y = ms[e].sep;
        c->mo.kernel_y = ms[e].ky;
        c->mo.sigma_y = 6;
        c->call = op == 0 ? call_matrix_entropy : op == 1 ? call_matrix_joint : call_matrix_mi;
        run_case(c);
      }
    }
  }
  free(x);
  free(y);
}

/* ---- main ------------------------------------------------------------------------------ */

#if IE_TEST_HAVE_CUDA
/* The CUDA context and the streams and errors of the caller's thread
 * (include/infoest_cuda.h): a stream set for one call and destroyed after
 * it is not touched again, neither by the switch to the next stream nor by
 * ie_context_destroy; an error the caller's own runtime call left unread
 * is not reported as a launch of the library's.  Each step's KL of LM-like
 * rows agrees with the CPU's. */
static void cuda_stream_cases(void) {
  enum { ROWS = 4, COLS = 1000 };
  static float p[ROWS * COLS], q[ROWS * COLS];
  for (int i = 0; i < ROWS * COLS; i++) {
    p[i] = (float)(-1.2 * log(1 + i % COLS) + 2.5 * nrand());
    q[i] = p[i] + (float)(0.5 + 0.3 * nrand());
  }
  int64_t shape[2] = {ROWS, COLS};
  DLTensor P = {p, {kDLCPU, 0}, 2, F32, shape, NULL, 0}, Q = P;
  Q.data = q;
  ie_summary want, got;
  if (ie_divergence(cpu.ctx, IE_DIV_KL, &P, &Q, NULL, NULL, &want) != IE_OK) {
    note("FAIL cuda streams: the CPU's KL: %s", ie_errmsg(cpu.ctx));
    failures++;
    return;
  }
  ie_context *ctx = NULL;
  ie_context_options o = {.size = sizeof o, .backend = IE_BACKEND_CUDA, .device = 0};
  if (ie_context_create(&ctx, &o) != IE_OK) {
    note("FAIL cuda streams: ie_context_create: %s", ie_errmsg(ctx));
    failures++;
    ie_context_destroy(ctx);
    return;
  }
  int bad = 0;
#define STEP(what, call)                                                                        \
  do {                                                                                          \
    ie_status s_ = (call);                                                                      \
    if (s_ != IE_OK) note("FAIL cuda streams: %s: %s", what, ie_errmsg(ctx)), bad++;            \
  } while (0)
#define KL_STEP(what)                                                                           \
  do {                                                                                          \
    STEP(what, ie_divergence(ctx, IE_DIV_KL, &P, &Q, NULL, NULL, &got));                       \
    if (fabs(got.mean - want.mean) > fmax(1e-6, 1e-5 * fabs(want.mean)))                        \
      note("FAIL cuda streams: %s: KL %.9g, the CPU's %.9g", what, got.mean, want.mean), bad++; \
  } while (0)
  cudaStream_t s1 = NULL, s2 = NULL;
  if (cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking) != cudaSuccess ||
      cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking) != cudaSuccess) {
    note("FAIL cuda streams: cudaStreamCreate failed");
    failures++;
    ie_context_destroy(ctx);
    return;
  }
  STEP("set the first stream", ie_cuda_set_stream(ctx, s1));
  KL_STEP("a call on the first stream");
  cudaStreamDestroy(s1); /* gone before the next call names its own */
  STEP("set a second stream after the first was destroyed", ie_cuda_set_stream(ctx, s2));
  KL_STEP("a call on the second stream");
  void *huge = NULL; /* the caller's failed allocation, its error left unread */
  if (cudaMalloc(&huge, (size_t)1 << 62) == cudaSuccess) cudaFree(huge);
  KL_STEP("a call after the caller's unread cudaMalloc failure");
  cudaStreamDestroy(s2);
  ie_context_destroy(ctx); /* its stream is gone: not waited for */
  const cudaError_t left = cudaGetLastError();
  if (left != cudaSuccess) note("FAIL cuda streams: an error left on the thread: %s", cudaGetErrorString(left)), bad++;
  note("cuda streams: %s (%d failures)", bad ? "FAIL" : "ok", bad);
  failures += bad;
#undef KL_STEP
#undef STEP
}
#endif

int main(int argc, char **argv) {
  const char *only = NULL;
  int quick = 0, extreme = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--op") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--extreme")) extreme = 1; /* only the extreme rows */
    else {
      fprintf(stderr, "usage: %s [--op NAME] [--quick] [--extreme]\n", argv[0]);
      return 2;
    }
  }
  uint64_t seed = getenv("IE_TEST_SEED") ? strtoull(getenv("IE_TEST_SEED"), NULL, 10)
                                          : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
  rng_state = seed;
  note("test_backend_ops: seed %llu (IE_TEST_SEED=%llu repeats this run's inputs)", (unsigned long long)seed,
       (unsigned long long)seed);
  if (!open_target(&cpu, IE_BACKEND_CPU)) return 1;
  const ie_backend others[2] = {IE_BACKEND_OPENCL, IE_BACKEND_CUDA};
  for (int i = 0; i < 2; i++) {
    if (!ie_backend_compiled(others[i])) {
      int need = others[i] == IE_BACKEND_CUDA && getenv("IE_REQUIRE_GPU") && !strcmp(getenv("IE_REQUIRE_GPU"), "1");
      note("%s backend %s: not compiled into this build%s", need ? "FAIL" : "SKIP", ie_backend_name(others[i]),
           need ? " (IE_REQUIRE_GPU=1)" : "");
      failures += need;
      continue;
    }
    if (open_target(&gpus[ngpus], others[i])) ngpus++;
  }
  if (ngpus == 0) note("NOTE no backend besides the CPU: only the CPU reference calls run");
  const clock_t t0 = clock();
  const time_t w0 = time(NULL);
  if (!extreme) row_cases(only, quick);
  extreme_cases(only);
  if (!extreme) {
    knn_cases(only);
    sinkhorn_cases(only);
    spectral_cases(only);
  }
#if IE_TEST_HAVE_CUDA
  for (int i = 0; i < ngpus; i++)
    if (gpus[i].b == IE_BACKEND_CUDA && !extreme && !only) cuda_stream_cases();
#endif

  note("\n%-26s %-7s %-7s %6s %6s %6s  %-9s %s", "op", "backend", "memory", "cases", "fails", "known",
       "worst/tol", "(worst case; on the cpu rows: the op's cpu seconds, all backends)");
  for (int i = 0; i < ntallies; i++) {
    const tally *t = &tallies[i];
    if (t->b == IE_BACKEND_CPU)
      note("%-26s %-7s %-7s %6d %6d %6d  %-9s %.1f s", t->op, "cpu", "ref", t->cases, t->fails, t->known, "-", t->secs);
    else
      note("%-26s %-7s %-7s %6d %6d %6d  %-9.3g %s", t->op, ie_backend_name(t->b), mem_name[t->mem], t->cases,
           t->fails, t->known, t->worst, t->worst_var);
  }
  note("test_backend_ops: %d failures, %d known defects seen, seed %llu, %.0f s wall, %.0f s cpu", failures, known_seen,
       (unsigned long long)seed, difftime(time(NULL), w0), (double)(clock() - t0) / CLOCKS_PER_SEC);
  close_target(&cpu);
  for (int i = 0; i < ngpus; i++) close_target(&gpus[i]);
  return failures ? 1 : 0;
}
