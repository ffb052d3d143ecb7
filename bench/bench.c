/*
 * infoest-bench — times every op of the library at standard sizes on every
 * backend, with the roof it is held against measured on the same device in the
 * same run.
 *
 *   infoest-bench [--backend cpu|cuda|opencl|all] [--op NAME[,NAME...]|all]
 *                 [--size small|standard|gpu] [--dtype f32|bf16|all]
 *                 [--repeats N] [--min-time S] [--warmup N]
 *                 [--json FILE] [--append] [--save-inputs DIR]
 *                 [--max-time S] [--modes host,device] [--host-limit-mb N]
 *                 [--threads N] [--list]
 *
 * Method.  Each figure: `warmup` untimed calls (2; one when a call takes
 * over a second), then timed calls until at least `repeats` (10) calls AND
 * `min-time` (0.5) seconds have passed, or, for slow cases, at least 3 calls
 * and `max-time` (3) seconds (at most 2000 calls).  --modes picks host- and/or
 * device-resident tensors for GPU/OpenCL backends (the CPU always runs
 * host; so does a backend whose device memory the bench cannot make).  Every
 * call is timed alone with CLOCK_MONOTONIC around one library call; the
 * library returns when its results are complete (a GPU call waits for its
 * stream), so host timing is exact for every backend.  Reported: median,
 * min, max, quartiles.
 *
 * Bytes (the "compulsory traffic" convention, the same for every backend and
 * for the roofs):
 *   row reductions (logsumexp, entropy, nll, divergences): the input matrices
 *     read once, plus labels and the [B] float output;
 *   softmax / log-softmax: the input read once plus the output written once.
 *   GB/s = bytes / median time (1 GB = 1e9 bytes).
 * Roofs, measured on the same device at the start and again at the end of each
 * backend's run (both are recorded; the start value is the one divided by):
 *   cpu  read: a summing read (uint64 words, OpenMP, the library's thread
 *        count) over a buffer of max(512 MiB, 8 x LLC), capped at 4 GiB;
 *        bytes = buffer size.  The best of several loops (READ_METHODS: a
 *        plain OpenMP loop; on x86-64, AVX2 and AVX-512 loops with 8
 *        accumulators over 1, 2 or 4 streams a thread, one with software
 *        prefetch), each a median; the highest is the roof and is named.
 *   cpu  copy: the same buffer copied over the same threads, the best of
 *        memcpy and AVX2 / AVX-512 non-temporal (streaming) stores; bytes =
 *        read + written (2 x buffer), the convention used for log-softmax.
 *   A figure above 100% of its roof is flagged ("!" line; the report marks
 *   it): a roof bug, or on the CPU inputs that fit in the L3.
 *   cuda copy: cudaMemcpy device-to-device of 1 GiB; bytes = 2 x 1 GiB.
 *   opencl copy: clEnqueueCopyBuffer of 256 MiB; bytes = 2 x size.
 *   h2d: host-to-device transfer (cuda: cudaMemcpy from pageable memory, 256
 *        MiB; opencl: blocking clEnqueueWriteBuffer, 256 MiB); bytes = size.
 *   gemm: SGEMM FLOP/s (cpu: cblas_sgemm; cuda: cublasSgemm, default math
 *        mode), for the compute-bound cases (CCASES: exact kNN, Vendi; see
 *        "compute-bound families" below for their FLOP models).
 * Reductions are held against `read` on the CPU and against `copy` on GPU and
 * OpenCL devices (no read-only roof is measured there); softmax/log-softmax
 * against `copy`; host tensors given to a GPU/OpenCL backend (staged in every
 * call) against `h2d`.
 *
 * Host vs device tensors.  The CPU backend works on host memory.  A GPU
 * backend given host tensors stages them (a copy to the device every call):
 * that is timed as mode "host".  Where the bench can make device memory
 * (CUDA: cudaMalloc; OpenCL: clCreateBuffer on the library's cl_context when
 * include/infoest_opencl.h provides it) the same op is timed on resident
 * tensors as mode "device": the figure to hold against the device roof.
 *
 * Adding an op: one row in OPS[] with its family, bytes and roof; inputs per
 * size come from SIZES[].  The compute-bound families (Sinkhorn, kNN, Vendi)
 * are rows of CCASES[] (shape per size set; JSON records of type "compute"),
 * run on the CPU and any backend given --families compute.
 *
 * Output: a table on stdout; with --json, one JSON object a line (records
 * "machine", "roof", "result", "compute", "skip") for bench/report.py.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "infoest.h"

#ifdef IE_BENCH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif
#ifdef IE_BENCH_OPENCL
#include <CL/cl.h>
#endif
#ifdef IE_BENCH_OPENCL_DEVICE
#include "infoest_opencl.h"
#endif
#ifdef IE_BENCH_CBLAS
#include <cblas.h>
#endif

/* ---- small utilities --------------------------------------------------------- */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "infoest-bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = NULL;
  if (n == 0) n = 1;
  if (posix_memalign(&p, 64, n) != 0) die("out of host memory (%zu bytes)", n);
  return p;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  double med, min, max, q1, q3; /* seconds */
  int reps;
} timing;

/* Quantile by linear interpolation on sorted samples. */
static double quantile(const double *s, int n, double q) {
  if (n == 1) return s[0];
  double pos = q * (n - 1);
  int i = (int)pos;
  if (i >= n - 1) return s[n - 1];
  double f = pos - i;
  return s[i] * (1 - f) + s[i + 1] * f;
}

static void summarize(double *s, int n, timing *t) {
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  t->reps = n;
  t->min = s[0];
  t->max = s[n - 1];
  t->med = quantile(s, n, 0.5);
  t->q1 = quantile(s, n, 0.25);
  t->q3 = quantile(s, n, 0.75);
}

/* ---- options ------------------------------------------------------------------ */

enum { MAX_REPS = 2000 };

typedef struct {
  int backends[4]; /* indexed by ie_backend */
  const char *ops;  /* comma list or "all" */
  const char *size; /* small | standard | gpu */
  const char *dtype; /* f32 | bf16 | all */
  int repeats, warmup;
  double min_time;
  const char *json_path;
  int append;
  const char *save_dir;
  double host_limit_mb; /* GPU backends: host-staged mode only up to this many MB of input */
  int list;
  int threads; /* 0: OpenMP's default */
  double max_time; /* a case stops after this many seconds once it has 3 calls */
  int modes[2];    /* host, device wanted */
  int families[2]; /* [0] the logits ops (OPS x SIZES), [1] the compute cases (CCASES) */
} options;

static FILE *g_json;

static void json_printf(const char *fmt, ...) {
  if (!g_json) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(g_json, fmt, ap);
  va_end(ap);
  fflush(g_json);
}

/* JSON string escaping for the few free-text fields (messages, names). */
static const char *jstr(const char *s, char *buf, size_t cap) {
  size_t o = 0;
  for (; s && *s && o + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { buf[o++] = '\\'; buf[o++] = (char)c; }
    else if (c < 0x20) o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", c);
    else buf[o++] = (char)c;
  }
  buf[o] = 0;
  return buf;
}

/* ---- the op table ------------------------------------------------------------- */

typedef enum { FAM_SOFTMAX, FAM_LOGSOFTMAX, FAM_LSE, FAM_ENTROPY, FAM_NLL, FAM_DIV } family;
typedef enum { ROOF_READ, ROOF_COPY, ROOF_H2D, ROOF_GEMM, ROOF_COUNT } roof_kind;
static const char *const ROOF_NAMES[ROOF_COUNT] = {"read", "copy", "h2d", "gemm"};

typedef struct {
  const char *name;  /* as given to --op and written to JSON */
  const char *group; /* table heading in RESULTS.md */
  family fam;
  int kind;          /* ie_entropy_kind / ie_divergence_kind */
  double alpha;      /* order for Rényi / Tsallis / alpha kinds */
  int inputs;        /* matrices read: 1 or 2 */
  int in_plot;       /* also timed at the plot's extra batch sizes */
} op_desc;

#define DIV_OP(name, str) \
  {str, "divergence", FAM_DIV, IE_DIV_##name, 0.5, 2, IE_DIV_##name == IE_DIV_KL},
static op_desc OPS[] = {
    {"log-softmax", "log-softmax", FAM_LOGSOFTMAX, 0, 0, 1, 1},
    {"softmax", "softmax", FAM_SOFTMAX, 0, 0, 1, 0},
    {"logsumexp", "logsumexp", FAM_LSE, 0, 0, 1, 0},
    {"entropy-shannon", "entropy", FAM_ENTROPY, IE_ENTROPY_SHANNON, 0, 1, 0},
    {"entropy-renyi", "entropy", FAM_ENTROPY, IE_ENTROPY_RENYI, 2.0, 1, 0},
    {"entropy-tsallis", "entropy", FAM_ENTROPY, IE_ENTROPY_TSALLIS, 2.0, 1, 0},
    {"nll", "nll", FAM_NLL, 0, 0, 1, 0},
    IE_DIVERGENCE_MAP(DIV_OP)
    /* The compute-bound families (Sinkhorn, kNN, Vendi) have their own
     * table, CCASES[], with fixed shapes per size set. */
};
#undef DIV_OP
enum { N_OPS = sizeof OPS / sizeof OPS[0] };

/* The roof a figure is held against.  Host tensors on a GPU/OpenCL backend
 * are staged through the host-to-device link in every call: held against
 * that link's measured rate. */
static roof_kind op_roof(const op_desc *op, ie_backend b, int host_mode) {
  if (b != IE_BACKEND_CPU && host_mode) return ROOF_H2D;
  if (op->fam == FAM_SOFTMAX || op->fam == FAM_LOGSOFTMAX) return ROOF_COPY;
  return b == IE_BACKEND_CPU ? ROOF_READ : ROOF_COPY;
}

/* ---- sizes -------------------------------------------------------------------- */

typedef enum { DT_F32 = 0, DT_BF16 = 1 } bdtype;
static const char *const DT_NAMES[] = {"f32", "bf16"};
static size_t dt_size(bdtype d) { return d == DT_F32 ? 4 : 2; }

typedef struct {
  const char *set;
  int64_t rows, cols;
  bdtype dt;
  int plot_only; /* only ops with in_plot */
} size_desc;

/* The standard CPU set keeps a 2-core run to a few minutes; the plot's extra
 * batch sizes are timed for log-softmax and kl only. */
static const size_desc SIZES[] = {
    {"small", 4, 32000, DT_F32, 1},
    {"small", 16, 32000, DT_F32, 0},
    {"small", 16, 32000, DT_BF16, 0},
    {"standard", 1, 128256, DT_F32, 1},
    {"standard", 4, 128256, DT_F32, 1},
    {"standard", 16, 128256, DT_F32, 1},
    {"standard", 64, 128256, DT_F32, 1},
    {"standard", 256, 128256, DT_F32, 0},
    {"standard", 256, 128256, DT_BF16, 0},
    {"gpu", 16, 128256, DT_BF16, 1},
    {"gpu", 64, 128256, DT_BF16, 1},
    {"gpu", 256, 128256, DT_F32, 0},
    {"gpu", 256, 128256, DT_BF16, 0},
    {"gpu", 1024, 128256, DT_BF16, 1},
    {"gpu", 4096, 128256, DT_BF16, 1},
    {"gpu", 8192, 128256, DT_BF16, 0},
};
enum { N_SIZES = sizeof SIZES / sizeof SIZES[0] };

/* ---- inputs --------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double unif(uint64_t *s) { return ((splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

static uint16_t f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7FFFu + ((u >> 16) & 1u); /* round to nearest even; inputs are finite */
  return (uint16_t)(u >> 16);
}

/* Row r of p is N(0, 2²) logits seeded by (r); q = p + N(0, 0.5²) seeded by
 * (r, 2).  Seeds depend on the row only, so the first B rows of every size are
 * the same numbers (peers load one file and take its first B rows). */
static void gen_row(float *p, float *q, int64_t r, int64_t cols) {
  uint64_t s1 = 0x1234567ull ^ ((uint64_t)r * 0x9E3779B97F4A7C15ull);
  uint64_t s2 = s1 ^ 0xABCDEF0123ull;
  for (int64_t i = 0; i < cols; i += 2) {
    double u1 = unif(&s1), u2 = unif(&s1), rad = sqrt(-2 * log(u1));
    double w1 = unif(&s2), w2 = unif(&s2), rad2 = sqrt(-2 * log(w1));
    double a = 2.0 * rad * cos(6.283185307179586 * u2), b = 2.0 * rad * sin(6.283185307179586 * u2);
    double da = 0.5 * rad2 * cos(6.283185307179586 * w2), db = 0.5 * rad2 * sin(6.283185307179586 * w2);
    p[i] = (float)a;
    q[i] = (float)(a + da);
    if (i + 1 < cols) {
      p[i + 1] = (float)b;
      q[i + 1] = (float)(b + db);
    }
  }
}

typedef struct {
  int64_t rows, cols;
  bdtype dt;
  void *p, *q;      /* host, rows x cols of dt */
  int64_t *labels;  /* host, rows */
} host_data;

static void make_inputs(host_data *h, int64_t rows, int64_t cols, bdtype dt) {
  h->rows = rows;
  h->cols = cols;
  h->dt = dt;
  size_t es = dt_size(dt), n = (size_t)rows * (size_t)cols;
  h->p = xmalloc(n * es);
  h->q = xmalloc(n * es);
  h->labels = xmalloc((size_t)rows * sizeof(int64_t));
#pragma omp parallel
  {
    float *tp = xmalloc((size_t)cols * 4), *tq = xmalloc((size_t)cols * 4);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      gen_row(tp, tq, r, cols);
      if (dt == DT_F32) {
        memcpy((float *)h->p + r * cols, tp, (size_t)cols * 4);
        memcpy((float *)h->q + r * cols, tq, (size_t)cols * 4);
      } else {
        uint16_t *bp = (uint16_t *)h->p + r * cols, *bq = (uint16_t *)h->q + r * cols;
        for (int64_t i = 0; i < cols; i++) {
          bp[i] = f32_to_bf16(tp[i]);
          bq[i] = f32_to_bf16(tq[i]);
        }
      }
      uint64_t s = 0x51ull ^ ((uint64_t)r * 0xD1B54A32D192ED03ull);
      h->labels[r] = (int64_t)(splitmix(&s) % (uint64_t)cols);
    }
    free(tp);
    free(tq);
  }
}

static void free_inputs(host_data *h) {
  free(h->p);
  free(h->q);
  free(h->labels);
  memset(h, 0, sizeof *h);
}

/* .npy v1.0 writer.  bf16 is stored as '<u2' bit patterns (NumPy has no
 * bfloat16); the file name says bf16. */
static void write_npy(const char *path, const char *descr, int ndim, const int64_t *shape,
                      const void *data, size_t bytes) {
  char hdr[256];
  int n;
  if (ndim == 1)
    n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }",
                 descr, (long long)shape[0]);
  else
    n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }",
                 descr, (long long)shape[0], (long long)shape[1]);
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f) die("cannot write %s: %s", path, strerror(errno));
  uint16_t hl = (uint16_t)(n + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fwrite(&hl, 2, 1, f);
  fwrite(hdr, 1, (size_t)n, f);
  for (int i = 0; i < pad; i++) fputc(' ', f);
  fputc('\n', f);
  if (fwrite(data, 1, bytes, f) != bytes) die("short write to %s", path);
  if (fclose(f) != 0) die("cannot close %s", path);
}

static void save_inputs(const char *dir, const host_data *h) {
  char path[1024];
  mkdir(dir, 0777);
  int64_t shape[2] = {h->rows, h->cols};
  size_t bytes = (size_t)h->rows * (size_t)h->cols * dt_size(h->dt);
  const char *descr = h->dt == DT_F32 ? "<f4" : "<u2";
  snprintf(path, sizeof path, "%s/p_%lld_%s.npy", dir, (long long)h->cols, DT_NAMES[h->dt]);
  write_npy(path, descr, 2, shape, h->p, bytes);
  snprintf(path, sizeof path, "%s/q_%lld_%s.npy", dir, (long long)h->cols, DT_NAMES[h->dt]);
  write_npy(path, descr, 2, shape, h->q, bytes);
  snprintf(path, sizeof path, "%s/labels_%lld_%s.npy", dir, (long long)h->cols, DT_NAMES[h->dt]);
  write_npy(path, "<i8", 1, shape, h->labels, (size_t)h->rows * 8);
  fprintf(stderr, "saved inputs %lld x %lld %s to %s\n", (long long)h->rows,
          (long long)h->cols, DT_NAMES[h->dt], dir);
}

/* ---- roofs ---------------------------------------------------------------------- */

typedef struct {
  double gbps[ROOF_COUNT]; /* GB/s (gemm: GFLOP/s); 0 = not measured */
  timing t[ROOF_COUNT];
  double bytes[ROOF_COUNT];
  char note[ROOF_COUNT][160];
  char method[ROOF_COUNT][24];   /* the loop that gave the roof ("" = the only one) */
  char methods[ROOF_COUNT][256]; /* every loop tried and its rate */
} roofs;

static size_t llc_bytes(void) {
  long l3 = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
  l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
  if (l3 <= 0) l3 = 64l << 20;
  return (size_t)l3;
}

typedef void (*roof_fn)(void *);

static void time_plain(roof_fn f, void *arg, int reps, double min_time, timing *t) {
  double s[64];
  f(arg); /* warm-up */
  int n = 0;
  double t0 = now_s();
  while (n < 64 && (n < reps || now_s() - t0 < min_time)) {
    double a = now_s();
    f(arg);
    s[n++] = now_s() - a;
  }
  summarize(s, n, t);
}

/* The CPU roofs are each the best of several loops (the highest median wins,
 * so that no op reading or copying the same bytes can pass it): a plain OpenMP
 * loop, and on x86-64 AVX2 / AVX-512 loops picked at run time.  Every loop
 * splits the buffer over the threads in RD_BLOCK blocks, as the first touch
 * does. */
typedef struct {
  uint64_t *a, *b;
  size_t words;
  int streams, prefetch; /* read loops: streams per thread, software prefetch */
  volatile uint64_t sink;
} cpu_buf;

#define RD_BLOCK 4096 /* bytes */

static void thread_range(size_t words, size_t *lo, size_t *hi) {
  const size_t bw = RD_BLOCK / 8, nb = words / bw;
  const size_t nt = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
  *lo = nb * t / nt * bw;
  *hi = t + 1 == nt ? words : nb * (t + 1) / nt * bw;
}

static void cpu_read_once(void *v) {
  cpu_buf *c = v;
  uint64_t acc = 0;
  const uint64_t *a = c->a;
  const size_t n = c->words;
#pragma omp parallel for schedule(static) reduction(+ : acc)
  for (size_t i = 0; i < n; i++) acc += a[i];
  c->sink = acc;
}

static void cpu_copy_once(void *v) {
  cpu_buf *c = v;
#pragma omp parallel
  {
    size_t lo, hi;
    thread_range(c->words, &lo, &hi);
    memcpy(c->b + lo, c->a + lo, (hi - lo) * 8);
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define IE_BENCH_X86 1
#include <immintrin.h>

/* Read loops: S streams per thread (its range cut in S equal parts read side
 * by side, as a divergence reads p and q), 8 vector accumulators in all, and
 * optionally a software prefetch PF_AHEAD bytes ahead of each stream.  S and
 * PF are constants at each call, so the inner loops unroll. */
#define PF_AHEAD 1024
#define READ_BODY(V, LANES, ZERO, LOAD, ADD, REDUCE)                                   \
  V acc[8];                                                                            \
  for (int k = 0; k < 8; k++) acc[k] = ZERO;                                           \
  const size_t step = (size_t)(8 / S) * LANES, part = n / S / step * step;             \
  for (size_t i = 0; i < part; i += step)                                              \
    for (int s = 0; s < S; s++) {                                                      \
      const uint64_t *p = a + (size_t)s * part + i;                                    \
      if (PF)                                                                          \
        for (int k = 0; k < 8 / S; k += 64 / (int)(LANES * 8))                          \
          _mm_prefetch((const char *)(p + k * LANES) + PF_AHEAD, _MM_HINT_T0);         \
      for (int k = 0; k < 8 / S; k++)                                                  \
        acc[s * (8 / S) + k] = ADD(acc[s * (8 / S) + k], LOAD((const void *)(p + k * LANES))); \
    }                                                                                  \
  for (int k = 1; k < 8; k++) acc[0] = ADD(acc[0], acc[k]);                            \
  uint64_t r = REDUCE(acc[0]);                                                         \
  for (size_t i = (size_t)S * part; i < n; i++) r += a[i];                             \
  return r;

static inline __attribute__((target("avx2"), always_inline)) uint64_t
read_avx2_(const uint64_t *a, size_t n, const int S, const int PF) {
#define AVX2_SUM(x) \
  ((uint64_t)_mm256_extract_epi64(x, 0) + (uint64_t)_mm256_extract_epi64(x, 1) + \
   (uint64_t)_mm256_extract_epi64(x, 2) + (uint64_t)_mm256_extract_epi64(x, 3))
  READ_BODY(__m256i, 4, _mm256_setzero_si256(), _mm256_load_si256, _mm256_add_epi64, AVX2_SUM)
#undef AVX2_SUM
}

static inline __attribute__((target("avx512f"), always_inline)) uint64_t
read_avx512_(const uint64_t *a, size_t n, const int S, const int PF) {
  READ_BODY(__m512i, 8, _mm512_setzero_si512(), _mm512_load_si512, _mm512_add_epi64,
            (uint64_t)_mm512_reduce_add_epi64)
}
#undef READ_BODY

/* One wrapper per ISA: the (streams, prefetch) cases as constant calls. */
#define READ_CASES(F, a, n, s, pf)                                                      \
  ((s) == 1   ? ((pf) ? F(a, n, 1, 1) : F(a, n, 1, 0))                                  \
   : (s) == 2 ? ((pf) ? F(a, n, 2, 1) : F(a, n, 2, 0))                                  \
              : ((pf) ? F(a, n, 4, 1) : F(a, n, 4, 0)))
__attribute__((target("avx2"))) static uint64_t read_avx2(const uint64_t *a, size_t n, int s,
                                                          int pf) {
  return READ_CASES(read_avx2_, a, n, s, pf);
}
__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint64_t *a, size_t n,
                                                               int s, int pf) {
  return READ_CASES(read_avx512_, a, n, s, pf);
}
#undef READ_CASES

static void cpu_read_avx2_once(void *v) {
  cpu_buf *c = v;
  uint64_t acc = 0;
#pragma omp parallel reduction(+ : acc)
  {
    size_t lo, hi;
    thread_range(c->words, &lo, &hi);
    acc += read_avx2(c->a + lo, hi - lo, c->streams, c->prefetch);
  }
  c->sink = acc;
}

static void cpu_read_avx512_once(void *v) {
  cpu_buf *c = v;
  uint64_t acc = 0;
#pragma omp parallel reduction(+ : acc)
  {
    size_t lo, hi;
    thread_range(c->words, &lo, &hi);
    acc += read_avx512(c->a + lo, hi - lo, c->streams, c->prefetch);
  }
  c->sink = acc;
}

/* Copy loops with non-temporal (streaming) stores: the destination is not read
 * for ownership, so memory carries just the bytes counted.  Ranges are 64-byte
 * aligned (xmalloc, RD_BLOCK); sfence orders the stores before the join. */
__attribute__((target("avx2"))) static void copy_avx2_nt(uint64_t *d, const uint64_t *s,
                                                         size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i x0 = _mm256_load_si256((const __m256i *)(s + i));
    __m256i x1 = _mm256_load_si256((const __m256i *)(s + i + 4));
    __m256i x2 = _mm256_load_si256((const __m256i *)(s + i + 8));
    __m256i x3 = _mm256_load_si256((const __m256i *)(s + i + 12));
    _mm256_stream_si256((__m256i *)(d + i), x0);
    _mm256_stream_si256((__m256i *)(d + i + 4), x1);
    _mm256_stream_si256((__m256i *)(d + i + 8), x2);
    _mm256_stream_si256((__m256i *)(d + i + 12), x3);
  }
  for (; i < n; i++) d[i] = s[i];
  _mm_sfence();
}

__attribute__((target("avx512f"))) static void copy_avx512_nt(uint64_t *d, const uint64_t *s,
                                                             size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512i x0 = _mm512_load_si512((const void *)(s + i));
    __m512i x1 = _mm512_load_si512((const void *)(s + i + 8));
    __m512i x2 = _mm512_load_si512((const void *)(s + i + 16));
    __m512i x3 = _mm512_load_si512((const void *)(s + i + 24));
    _mm512_stream_si512((void *)(d + i), x0);
    _mm512_stream_si512((void *)(d + i + 8), x1);
    _mm512_stream_si512((void *)(d + i + 16), x2);
    _mm512_stream_si512((void *)(d + i + 24), x3);
  }
  for (; i < n; i++) d[i] = s[i];
  _mm_sfence();
}

static void cpu_copy_avx2_once(void *v) {
  cpu_buf *c = v;
#pragma omp parallel
  {
    size_t lo, hi;
    thread_range(c->words, &lo, &hi);
    copy_avx2_nt(c->b + lo, c->a + lo, hi - lo);
  }
}

static void cpu_copy_avx512_once(void *v) {
  cpu_buf *c = v;
#pragma omp parallel
  {
    size_t lo, hi;
    thread_range(c->words, &lo, &hi);
    copy_avx512_nt(c->b + lo, c->a + lo, hi - lo);
  }
}
#endif /* x86-64 */

typedef struct {
  const char *name;
  roof_fn f;
  int streams, prefetch, isa; /* isa: 0 any, 2 AVX2, 5 AVX-512F */
} roof_method;

static const roof_method READ_METHODS[] = {
    {"omp-sum", cpu_read_once, 1, 0, 0},
#ifdef IE_BENCH_X86
    {"avx2-1s", cpu_read_avx2_once, 1, 0, 2},
    {"avx2-4s", cpu_read_avx2_once, 4, 0, 2},
    {"avx512-1s", cpu_read_avx512_once, 1, 0, 5},
    {"avx512-2s", cpu_read_avx512_once, 2, 0, 5},
    {"avx512-4s", cpu_read_avx512_once, 4, 0, 5},
    {"avx512-4s-pf", cpu_read_avx512_once, 4, 1, 5},
#endif
};
static const roof_method COPY_METHODS[] = {
    {"memcpy", cpu_copy_once, 0, 0, 0},
#ifdef IE_BENCH_X86
    {"avx2-nt", cpu_copy_avx2_once, 0, 0, 2},
    {"avx512-nt", cpu_copy_avx512_once, 0, 0, 5},
#endif
};

static int isa_ok(int isa) {
#ifdef IE_BENCH_X86
  if (isa == 2) return __builtin_cpu_supports("avx2");
  if (isa == 5) return __builtin_cpu_supports("avx512f");
#endif
  return isa == 0;
}

/* Times every method of a roof; the one with the highest rate (bytes / median)
 * is the roof, named in r->method, and all rates go in r->methods. */
static void best_of(const roof_method *m, int nm, cpu_buf *c, double bytes, int reps,
                    roofs *r, roof_kind k) {
  size_t o = 0;
  for (int i = 0; i < nm; i++) {
    if (!isa_ok(m[i].isa)) continue;
    c->streams = m[i].streams;
    c->prefetch = m[i].prefetch;
    timing t;
    time_plain(m[i].f, c, reps, 0.3, &t);
    double g = bytes / t.med / 1e9;
    if (o < sizeof r->methods[k])
      o += (size_t)snprintf(r->methods[k] + o, sizeof r->methods[k] - o, "%s%s %.1f",
                            o ? ", " : "", m[i].name, g);
    if (g > r->gbps[k]) {
      r->gbps[k] = g;
      r->t[k] = t;
      snprintf(r->method[k], sizeof r->method[k], "%s", m[i].name);
    }
  }
  r->bytes[k] = bytes;
}

#ifdef IE_BENCH_CBLAS
typedef struct { float *a, *b, *c; int n; } gemm_buf;
static void cpu_gemm_once(void *v) {
  gemm_buf *g = v;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1.0f, g->a, g->n,
              g->b, g->n, 0.0f, g->c, g->n);
}
#endif

static void measure_cpu_roofs(roofs *r, const options *o) {
  memset(r, 0, sizeof *r);
  size_t bytes = 8 * llc_bytes();
  if (bytes < (512u << 20)) bytes = 512u << 20;
  if (bytes > (4ull << 30)) bytes = 4ull << 30;
  cpu_buf c = {0};
  c.words = bytes / 8;
  c.a = xmalloc(bytes);
  c.b = xmalloc(bytes);
  /* First touch with the same split as the timed loops (pages placed near the
   * thread that reads them). */
#pragma omp parallel
  {
    size_t lo, hi;
    thread_range(c.words, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
      c.a[i] = i;
      c.b[i] = 0;
    }
  }
  int reps = o->repeats < 5 ? 5 : o->repeats;
  best_of(READ_METHODS, (int)(sizeof READ_METHODS / sizeof READ_METHODS[0]), &c, (double)bytes,
          reps, r, ROOF_READ);
  snprintf(r->note[ROOF_READ], sizeof r->note[0], "best summing read (%s) of %zu MiB, %d threads",
           r->method[ROOF_READ], bytes >> 20, omp_get_max_threads());
  best_of(COPY_METHODS, (int)(sizeof COPY_METHODS / sizeof COPY_METHODS[0]), &c, 2.0 * bytes,
          reps, r, ROOF_COPY);
  snprintf(r->note[ROOF_COPY], sizeof r->note[0],
           "best copy (%s) of %zu MiB, %d threads; bytes = read + written", r->method[ROOF_COPY],
           bytes >> 20, omp_get_max_threads());
  free(c.a);
  free(c.b);
#ifdef IE_BENCH_CBLAS
  gemm_buf g = {0};
  g.n = 2048;
  size_t gn = (size_t)g.n * (size_t)g.n;
  g.a = xmalloc(gn * 4);
  g.b = xmalloc(gn * 4);
  g.c = xmalloc(gn * 4);
  for (size_t i = 0; i < gn; i++) {
    g.a[i] = (float)((i % 7) * 0.25);
    g.b[i] = (float)((i % 5) * 0.5);
  }
  time_plain(cpu_gemm_once, &g, 3, 0.2, &r->t[ROOF_GEMM]);
  double flop = 2.0 * g.n * (double)g.n * g.n;
  r->bytes[ROOF_GEMM] = flop;
  r->gbps[ROOF_GEMM] = flop / r->t[ROOF_GEMM].med / 1e9;
  snprintf(r->note[ROOF_GEMM], sizeof r->note[0], "cblas_sgemm %d^3 (OpenBLAS), GFLOP/s", g.n);
  free(g.a);
  free(g.b);
  free(g.c);
#endif
}

#ifdef IE_BENCH_CUDA
#define CU_OK(call)                                                                \
  do {                                                                             \
    cudaError_t e_ = (call);                                                       \
    if (e_ != cudaSuccess) die("%s failed: %s (%s:%d)", #call, cudaGetErrorString(e_), \
                               __FILE__, __LINE__);                               \
  } while (0)

typedef struct { void *a, *b; size_t bytes; } cu_copy_buf;
static void cuda_copy_once(void *v) {
  cu_copy_buf *c = v;
  CU_OK(cudaMemcpy(c->b, c->a, c->bytes, cudaMemcpyDeviceToDevice));
  CU_OK(cudaDeviceSynchronize());
}
typedef struct { void *host, *dev; size_t bytes; } cu_h2d_buf;
static void cuda_h2d_once(void *v) {
  cu_h2d_buf *c = v;
  CU_OK(cudaMemcpy(c->dev, c->host, c->bytes, cudaMemcpyHostToDevice));
}
typedef struct { cublasHandle_t h; float *a, *b, *c; int n; } cu_gemm_buf;
static void cuda_gemm_once(void *v) {
  cu_gemm_buf *g = v;
  const float one = 1.0f, zero = 0.0f;
  if (cublasSgemm(g->h, CUBLAS_OP_N, CUBLAS_OP_N, g->n, g->n, g->n, &one, g->a, g->n, g->b,
                  g->n, &zero, g->c, g->n) != CUBLAS_STATUS_SUCCESS)
    die("cublasSgemm failed");
  CU_OK(cudaDeviceSynchronize());
}

static void measure_cuda_roofs(roofs *r, int device, const options *o) {
  memset(r, 0, sizeof *r);
  CU_OK(cudaSetDevice(device));
  cu_copy_buf c = {0};
  c.bytes = 1ull << 30;
  CU_OK(cudaMalloc(&c.a, c.bytes));
  CU_OK(cudaMalloc(&c.b, c.bytes));
  CU_OK(cudaMemset(c.a, 1, c.bytes));
  CU_OK(cudaMemset(c.b, 0, c.bytes));
  time_plain(cuda_copy_once, &c, o->repeats < 10 ? 10 : o->repeats, 0.3, &r->t[ROOF_COPY]);
  r->bytes[ROOF_COPY] = 2.0 * c.bytes;
  r->gbps[ROOF_COPY] = 2.0 * c.bytes / r->t[ROOF_COPY].med / 1e9;
  snprintf(r->note[ROOF_COPY], sizeof r->note[0],
           "cudaMemcpy device-to-device of 1 GiB; bytes = read + written");
  /* Host-to-device from pageable memory, as the library stages host tensors. */
  cu_h2d_buf h = {xmalloc(c.bytes / 4), c.a, c.bytes / 4};
  memset(h.host, 1, h.bytes);
  time_plain(cuda_h2d_once, &h, o->repeats < 10 ? 10 : o->repeats, 0.3, &r->t[ROOF_H2D]);
  r->bytes[ROOF_H2D] = (double)h.bytes;
  r->gbps[ROOF_H2D] = h.bytes / r->t[ROOF_H2D].med / 1e9;
  snprintf(r->note[ROOF_H2D], sizeof r->note[0],
           "cudaMemcpy host-to-device of 256 MiB from pageable memory");
  free(h.host);
  CU_OK(cudaFree(c.a));
  CU_OK(cudaFree(c.b));

  cu_gemm_buf g = {0};
  g.n = 8192;
  size_t gb = (size_t)g.n * g.n * 4;
  if (cublasCreate(&g.h) != CUBLAS_STATUS_SUCCESS) die("cublasCreate failed");
  CU_OK(cudaMalloc((void **)&g.a, gb));
  CU_OK(cudaMalloc((void **)&g.b, gb));
  CU_OK(cudaMalloc((void **)&g.c, gb));
  CU_OK(cudaMemset(g.a, 0, gb));
  CU_OK(cudaMemset(g.b, 0, gb));
  time_plain(cuda_gemm_once, &g, 5, 0.3, &r->t[ROOF_GEMM]);
  double flop = 2.0 * g.n * (double)g.n * g.n;
  r->bytes[ROOF_GEMM] = flop;
  r->gbps[ROOF_GEMM] = flop / r->t[ROOF_GEMM].med / 1e9;
  snprintf(r->note[ROOF_GEMM], sizeof r->note[0],
           "cublasSgemm %d^3, default math mode (no TF32), GFLOP/s", g.n);
  cublasDestroy(g.h);
  CU_OK(cudaFree(g.a));
  CU_OK(cudaFree(g.b));
  CU_OK(cudaFree(g.c));
}
#endif

#ifdef IE_BENCH_OPENCL
/* The bench's own handle on the library's OpenCL device: found by the name
 * the library reports (else the first GPU, else the first device). */
typedef struct {
  cl_context ctx;
  cl_command_queue queue;
  cl_device_id dev;
  int owns; /* the bench made ctx and queue (else they are the library's) */
} ocl_env;

static int ocl_open(ocl_env *e, ie_context *lib) {
  memset(e, 0, sizeof *e);
#if defined(IE_BENCH_OPENCL_DEVICE)
  /* The library's own cl_context, device and queue: buffers made in that
   * context can be passed in as kDLOpenCL tensors. */
  if (ie_opencl_get_context(lib, &e->ctx, &e->dev, &e->queue) == IE_OK && e->ctx && e->queue)
    return 1;
  memset(e, 0, sizeof *e);
#endif
  const char *want = ie_context_device_name(lib);
  cl_platform_id plats[8];
  cl_uint np = 0;
  if (clGetPlatformIDs(8, plats, &np) != CL_SUCCESS || np == 0) return 0;
  cl_device_id best = NULL, first = NULL, gpu = NULL;
  for (cl_uint i = 0; i < np; i++) {
    cl_device_id devs[16];
    cl_uint nd = 0;
    if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS) continue;
    for (cl_uint j = 0; j < nd; j++) {
      char name[256] = {0};
      cl_device_type t = 0;
      clGetDeviceInfo(devs[j], CL_DEVICE_NAME, sizeof name - 1, name, NULL);
      clGetDeviceInfo(devs[j], CL_DEVICE_TYPE, sizeof t, &t, NULL);
      if (!first) first = devs[j];
      if (!gpu && (t & CL_DEVICE_TYPE_GPU)) gpu = devs[j];
      if (!best && want && strstr(want, name)) best = devs[j];
    }
  }
  e->dev = best ? best : gpu ? gpu : first;
  if (!e->dev) return 0;
  cl_int err;
  e->ctx = clCreateContext(NULL, 1, &e->dev, NULL, NULL, &err);
  if (err != CL_SUCCESS) return 0;
  e->owns = 1;
  e->queue = clCreateCommandQueue(e->ctx, e->dev, 0, &err);
  return err == CL_SUCCESS;
}

static void ocl_close(ocl_env *e) {
  if (e->owns && e->queue) clReleaseCommandQueue(e->queue);
  if (e->owns && e->ctx) clReleaseContext(e->ctx);
  memset(e, 0, sizeof *e);
}

typedef struct { ocl_env *e; cl_mem a, b; size_t bytes; void *host; } ocl_copy_buf;
static void ocl_copy_once(void *v) {
  ocl_copy_buf *c = v;
  if (clEnqueueCopyBuffer(c->e->queue, c->a, c->b, 0, 0, c->bytes, 0, NULL, NULL) != CL_SUCCESS ||
      clFinish(c->e->queue) != CL_SUCCESS)
    die("clEnqueueCopyBuffer failed");
}

static void ocl_h2d_once(void *v) {
  ocl_copy_buf *c = v;
  if (clEnqueueWriteBuffer(c->e->queue, c->a, CL_TRUE, 0, c->bytes, c->host, 0, NULL, NULL) !=
      CL_SUCCESS)
    die("clEnqueueWriteBuffer failed");
}

static void measure_ocl_roofs(roofs *r, ocl_env *e, const options *o) {
  memset(r, 0, sizeof *r);
  ocl_copy_buf c = {e, NULL, NULL, 256u << 20, NULL};
  cl_int err;
  c.a = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, c.bytes, NULL, &err);
  if (err != CL_SUCCESS) return;
  c.b = clCreateBuffer(e->ctx, CL_MEM_READ_WRITE, c.bytes, NULL, &err);
  if (err != CL_SUCCESS) { clReleaseMemObject(c.a); return; }
  unsigned char pat = 1;
  clEnqueueFillBuffer(e->queue, c.a, &pat, 1, 0, c.bytes, 0, NULL, NULL);
  clEnqueueFillBuffer(e->queue, c.b, &pat, 1, 0, c.bytes, 0, NULL, NULL);
  clFinish(e->queue);
  time_plain(ocl_copy_once, &c, o->repeats < 5 ? 5 : o->repeats, 0.3, &r->t[ROOF_COPY]);
  r->bytes[ROOF_COPY] = 2.0 * c.bytes;
  r->gbps[ROOF_COPY] = 2.0 * c.bytes / r->t[ROOF_COPY].med / 1e9;
  snprintf(r->note[ROOF_COPY], sizeof r->note[0],
           "clEnqueueCopyBuffer of 256 MiB; bytes = read + written");
  c.host = xmalloc(c.bytes);
  memset(c.host, 1, c.bytes);
  time_plain(ocl_h2d_once, &c, o->repeats < 5 ? 5 : o->repeats, 0.3, &r->t[ROOF_H2D]);
  r->bytes[ROOF_H2D] = (double)c.bytes;
  r->gbps[ROOF_H2D] = c.bytes / r->t[ROOF_H2D].med / 1e9;
  snprintf(r->note[ROOF_H2D], sizeof r->note[0],
           "clEnqueueWriteBuffer (blocking) of 256 MiB from host memory");
  free(c.host);
  clReleaseMemObject(c.a);
  clReleaseMemObject(c.b);
}
#endif

/* ---- one timed case ------------------------------------------------------------- */

typedef enum { MODE_HOST = 0, MODE_DEVICE = 1 } mode;
static const char *const MODE_NAMES[] = {"host", "device"};

typedef struct {
  void *p, *q, *out, *per_row, *labels; /* host pointers or device handles */
  DLDevice dev;
} buffers;

typedef struct {
  ie_context *ctx;
  const op_desc *op;
  DLTensor p, q, out, per_row, labels;
  int64_t shape2[2], shape1[1];
  ie_status last;
} call_args;

static DLDataType dl_dt(bdtype d) {
  DLDataType t;
  t.code = d == DT_F32 ? kDLFloat : kDLBfloat;
  t.bits = d == DT_F32 ? 32 : 16;
  t.lanes = 1;
  return t;
}

static void set_tensor(DLTensor *t, void *data, DLDevice dev, DLDataType dt, int ndim,
                       int64_t *shape) {
  memset(t, 0, sizeof *t);
  t->data = data;
  t->device = dev;
  t->ndim = ndim;
  t->dtype = dt;
  t->shape = shape;
  t->strides = NULL;
  t->byte_offset = 0;
}

static void build_args(call_args *a, ie_context *ctx, const op_desc *op, const buffers *b,
                       int64_t rows, int64_t cols, bdtype dt) {
  memset(a, 0, sizeof *a);
  a->ctx = ctx;
  a->op = op;
  a->shape2[0] = rows;
  a->shape2[1] = cols;
  a->shape1[0] = rows;
  DLDataType f32 = {kDLFloat, 32, 1}, i64 = {kDLInt, 64, 1};
  set_tensor(&a->p, b->p, b->dev, dl_dt(dt), 2, a->shape2);
  set_tensor(&a->q, b->q, b->dev, dl_dt(dt), 2, a->shape2);
  set_tensor(&a->out, b->out, b->dev, dl_dt(dt), 2, a->shape2);
  set_tensor(&a->per_row, b->per_row, b->dev, f32, 1, a->shape1);
  set_tensor(&a->labels, b->labels, b->dev, i64, 1, a->shape1);
}

static ie_status run_call(call_args *a) {
  const op_desc *op = a->op;
  switch (op->fam) {
  case FAM_LOGSOFTMAX:
    return ie_log_softmax(a->ctx, &a->p, &a->out, NULL);
  case FAM_SOFTMAX:
    return ie_softmax(a->ctx, &a->p, &a->out, NULL);
  case FAM_LSE:
    return ie_logsumexp(a->ctx, &a->p, &a->per_row, NULL);
  case FAM_ENTROPY: {
    ie_entropy_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.kind = (ie_entropy_kind)op->kind;
    o.alpha = op->alpha;
    return ie_entropy(a->ctx, &a->p, &a->per_row, &o, NULL);
  }
  case FAM_NLL:
    return ie_nll(a->ctx, &a->p, &a->labels, &a->per_row, NULL, NULL);
  case FAM_DIV: {
    ie_divergence_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.alpha = op->alpha;
    return ie_divergence(a->ctx, (ie_divergence_kind)op->kind, &a->p, &a->q, &a->per_row, &o,
                         NULL);
  }
  }
  return IE_INTERNAL;
}

static double op_bytes(const op_desc *op, int64_t rows, int64_t cols, bdtype dt) {
  double mat = (double)rows * (double)cols * (double)dt_size(dt);
  switch (op->fam) {
  case FAM_SOFTMAX:
  case FAM_LOGSOFTMAX:
    return 2 * mat;
  case FAM_NLL:
    return mat + rows * 8.0 + rows * 4.0;
  default:
    return op->inputs * mat + rows * 4.0;
  }
}

/* Time one case; IE_OK and *t filled on success, else the failing status.
 * Warm-up: `warmup` calls (just one when the first takes over a second).
 * Then calls until at least `repeats` calls and `min_time` seconds, or, for
 * slow cases, at least 3 calls and `max_time` seconds. */
static ie_status time_case(call_args *a, const options *o, timing *t) {
  static double samples[MAX_REPS];
  for (int i = 0; i < o->warmup; i++) {
    double s0 = now_s();
    ie_status s = run_call(a);
    if (s != IE_OK) return s;
    if (now_s() - s0 > 1.0) break;
  }
  int n = 0;
  double t0 = now_s();
  for (;;) {
    double el = now_s() - t0;
    if (n >= MAX_REPS) break;
    if (n >= o->repeats && el >= o->min_time) break;
    if (n >= 3 && o->max_time > 0 && el >= o->max_time) break;
    double s0 = now_s();
    ie_status s = run_call(a);
    samples[n++] = now_s() - s0;
    if (s != IE_OK) return s;
  }
  summarize(samples, n, t);
  return IE_OK;
}

/* ---- device buffers ------------------------------------------------------------- */

typedef struct {
  ie_backend backend;
  int device;
  void *handles[5];
#ifdef IE_BENCH_OPENCL
  ocl_env *ocl;
#endif
} devmem;

static int device_mode_available(ie_backend b) {
#ifdef IE_BENCH_CUDA
  if (b == IE_BACKEND_CUDA) return 1;
#endif
#if defined(IE_BENCH_OPENCL) && defined(IE_BENCH_OPENCL_DEVICE)
  if (b == IE_BACKEND_OPENCL) return 1;
#endif
  (void)b;
  return 0;
}

/* Put copies of the host inputs (first `rows` rows) in device memory. */
static int dev_upload(devmem *m, buffers *b, const host_data *h, int64_t rows, char *why,
                      size_t whycap) {
  size_t mat = (size_t)rows * (size_t)h->cols * dt_size(h->dt);
  size_t sizes[5] = {mat, mat, mat, (size_t)rows * 4, (size_t)rows * 8};
  const void *src[5] = {h->p, h->q, NULL, NULL, h->labels};
  memset(m->handles, 0, sizeof m->handles);
#ifdef IE_BENCH_CUDA
  if (m->backend == IE_BACKEND_CUDA) {
    cudaSetDevice(m->device);
    for (int i = 0; i < 5; i++) {
      cudaError_t e = cudaMalloc(&m->handles[i], sizes[i]);
      if (e != cudaSuccess) {
        snprintf(why, whycap, "cudaMalloc(%zu): %s", sizes[i], cudaGetErrorString(e));
        return 0;
      }
      if (src[i]) CU_OK(cudaMemcpy(m->handles[i], src[i], sizes[i], cudaMemcpyHostToDevice));
      else CU_OK(cudaMemset(m->handles[i], 0, sizes[i]));
    }
    b->p = m->handles[0];
    b->q = m->handles[1];
    b->out = m->handles[2];
    b->per_row = m->handles[3];
    b->labels = m->handles[4];
    b->dev.device_type = kDLCUDA;
    b->dev.device_id = m->device;
    return 1;
  }
#endif
#if defined(IE_BENCH_OPENCL) && defined(IE_BENCH_OPENCL_DEVICE)
  if (m->backend == IE_BACKEND_OPENCL) {
    for (int i = 0; i < 5; i++) {
      cl_int err;
      cl_mem buf = clCreateBuffer(m->ocl->ctx, CL_MEM_READ_WRITE, sizes[i], NULL, &err);
      if (err != CL_SUCCESS) {
        snprintf(why, whycap, "clCreateBuffer(%zu) failed: %d", sizes[i], (int)err);
        return 0;
      }
      m->handles[i] = buf;
      if (src[i] && clEnqueueWriteBuffer(m->ocl->queue, buf, CL_TRUE, 0, sizes[i], src[i], 0,
                                         NULL, NULL) != CL_SUCCESS) {
        snprintf(why, whycap, "clEnqueueWriteBuffer failed");
        return 0;
      }
    }
    b->p = m->handles[0];
    b->q = m->handles[1];
    b->out = m->handles[2];
    b->per_row = m->handles[3];
    b->labels = m->handles[4];
    b->dev.device_type = kDLOpenCL;
    b->dev.device_id = m->device;
    return 1;
  }
#endif
  (void)sizes;
  (void)src;
  (void)b;
  snprintf(why, whycap, "no device allocator for this backend in this build");
  return 0;
}

static void dev_free(devmem *m) {
  for (int i = 0; i < 5; i++) {
    if (!m->handles[i]) continue;
#ifdef IE_BENCH_CUDA
    if (m->backend == IE_BACKEND_CUDA) cudaFree(m->handles[i]);
#endif
#if defined(IE_BENCH_OPENCL) && defined(IE_BENCH_OPENCL_DEVICE)
    if (m->backend == IE_BACKEND_OPENCL) clReleaseMemObject((cl_mem)m->handles[i]);
#endif
    m->handles[i] = NULL;
  }
}

/* ---- the run -------------------------------------------------------------------- */

static int name_listed(const char *list, const char *name);

static int op_selected(const options *o, const op_desc *op) {
  if (name_listed(o->ops, "all")) return 1;
  size_t n = strlen(op->name);
  for (const char *s = o->ops; *s;) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if ((len == n && !strncmp(s, op->name, n)) ||
        (len == strlen(op->group) && !strncmp(s, op->group, len)))
      return 1;
    if (!e) break;
    s = e + 1;
  }
  return 0;
}

static int size_selected(const options *o, const size_desc *z) {
  if (strcmp(z->set, o->size)) return 0;
  if (!strcmp(o->dtype, "all")) return 1;
  return !strcmp(o->dtype, DT_NAMES[z->dt]);
}

static void emit_roofs(const char *backend, const char *device, const roofs *r, const char *when) {
  char b1[512], b2[512], b3[600];
  for (int k = 0; k < ROOF_COUNT; k++) {
    if (r->gbps[k] <= 0) continue;
    const char *unit = k == ROOF_GEMM ? "GFLOP/s" : "GB/s";
    fprintf(stdout, "  roof %-5s %-5s %9.1f %-7s (median of %d; min %.3f ms, max %.3f ms) %s\n",
            ROOF_NAMES[k], when, r->gbps[k], unit, r->t[k].reps, r->t[k].min * 1e3,
            r->t[k].max * 1e3, r->note[k]);
    /* "method" / "methods" only where a roof is the best of several loops. */
    b3[0] = 0;
    if (r->method[k][0]) {
      fprintf(stdout, "       %-5s %-5s loops tried (GB/s): %s\n", ROOF_NAMES[k], when,
              r->methods[k]);
      snprintf(b3, sizeof b3, ",\"method\":\"%s\",\"methods\":\"%s\"", r->method[k],
               r->methods[k]);
    }
    json_printf("{\"type\":\"roof\",\"backend\":\"%s\",\"device\":\"%s\",\"kind\":\"%s\","
                "\"when\":\"%s\",\"value\":%.6g,\"unit\":\"%s\",\"amount\":%.6g,"
                "\"median_ms\":%.6g,\"min_ms\":%.6g,\"max_ms\":%.6g,\"q1_ms\":%.6g,"
                "\"q3_ms\":%.6g,\"reps\":%d,\"note\":\"%s\"%s}\n",
                backend, jstr(device, b1, sizeof b1), ROOF_NAMES[k], when, r->gbps[k], unit,
                r->bytes[k], r->t[k].med * 1e3, r->t[k].min * 1e3, r->t[k].max * 1e3,
                r->t[k].q1 * 1e3, r->t[k].q3 * 1e3, r->t[k].reps, jstr(r->note[k], b2, sizeof b2),
                b3);
  }
}

static void emit_skip(const char *backend, const char *what, const char *why) {
  char b1[1200], b2[512];
  fprintf(stdout, "  skipped %s %s: %s\n", backend, what, why);
  json_printf("{\"type\":\"skip\",\"backend\":\"%s\",\"what\":\"%s\",\"why\":\"%s\"}\n", backend,
              jstr(what, b2, sizeof b2), jstr(why, b1, sizeof b1));
}

static void measure_roofs(ie_backend b, ie_context *ctx, const options *o, roofs *r, void *env) {
  memset(r, 0, sizeof *r);
  (void)ctx;
  (void)env;
  if (b == IE_BACKEND_CPU) measure_cpu_roofs(r, o);
#ifdef IE_BENCH_CUDA
  if (b == IE_BACKEND_CUDA) measure_cuda_roofs(r, 0, o);
#endif
#ifdef IE_BENCH_OPENCL
  if (b == IE_BACKEND_OPENCL && env) measure_ocl_roofs(r, (ocl_env *)env, o);
#endif
}

/* ---- compute-bound families: Sinkhorn, kNN, Vendi (docs/SPEC.md §4–§6) --------- */

/* Each case is one library call on fixed-seed inputs that the bench makes (and
 * saves for the peers with --save-inputs, as <name>_<what>.npy).  They are
 * timed exactly as the logits ops (time_case's rule).  Roof: the same-run
 * SGEMM rate, for the cases whose work is GEMM-shaped (exact kNN through the
 * expanded-form GEMM, Vendi's Gram); the FLOP model is in `flop_model`.
 * Sinkhorn (exp-bound log-domain passes) and KSG (d = 1 neighbour counts) have
 * no roof: the peer ratio is their figure. */
typedef enum {
  CF_SINKHORN, CF_SINKHORN_BATCH, CF_KNN, CF_KSG, CF_VENDI, CF_VENDI_BATCH,
  CF_VENDI_RBF, /* Vendi q = 1, rbf kernel, σ in `eps` */
  CF_KNN_DIV    /* Wang–Kulkarni–Verdú kNN KL divergence of two sets x [n, d], y [m, d] */
} cfamily;

typedef struct {
  const char *name;  /* --op name, JSON "op", file prefix of the saved inputs */
  const char *group; /* sinkhorn | knn | vendi */
  const char *set;   /* small | standard | gpu */
  cfamily fam;
  int64_t batch, n, m, d, k; /* k: neighbours; m: Sinkhorn's second side */
  double eps;        /* Sinkhorn ε; CF_VENDI_RBF: the rbf σ */
  int64_t iters;     /* Sinkhorn: fixed iteration count (tol tiny, never met) */
} compute_case;

static const compute_case CCASES[] = {
    {"sinkhorn", "sinkhorn", "small", CF_SINKHORN, 1, 200, 200, 2, 0, 0.01, 100},
    {"sinkhorn-batch", "sinkhorn", "small", CF_SINKHORN_BATCH, 64, 64, 64, 2, 0, 0.01, 100},
    {"knn", "knn", "small", CF_KNN, 1, 2000, 0, 64, 5, 0, 0},
    {"ksg-mi", "knn", "small", CF_KSG, 1, 2000, 0, 1, 3, 0, 0},
    {"knn-div", "knn", "small", CF_KNN_DIV, 1, 1000, 1000, 64, 5, 0, 0},
    {"vendi", "vendi", "small", CF_VENDI, 1, 500, 0, 768, 0, 0, 0},
    {"vendi-batch", "vendi", "small", CF_VENDI_BATCH, 500, 16, 0, 64, 0, 0, 0},

    {"sinkhorn", "sinkhorn", "standard", CF_SINKHORN, 1, 1000, 1000, 2, 0, 0.01, 100},
    {"sinkhorn-batch", "sinkhorn", "standard", CF_SINKHORN_BATCH, 1024, 64, 64, 2, 0, 0.01, 100},
    {"knn", "knn", "standard", CF_KNN, 1, 20000, 0, 64, 5, 0, 0},
    {"ksg-mi", "knn", "standard", CF_KSG, 1, 100000, 0, 1, 3, 0, 0},
    {"vendi", "vendi", "standard", CF_VENDI, 1, 2000, 0, 768, 0, 0, 0},
    {"vendi-batch", "vendi", "standard", CF_VENDI_BATCH, 10000, 16, 0, 64, 0, 0, 0},
    {"knn-div", "knn", "standard", CF_KNN_DIV, 1, 5000, 5000, 64, 5, 0, 0},
    /* The issues' own sizes, timed only when asked for (--op knn-100k,vendi-10k,sinkhorn-20k). */
    {"knn-100k", "knn-large", "standard", CF_KNN, 1, 100000, 0, 64, 5, 0, 0},
    {"vendi-10k", "vendi-large", "standard", CF_VENDI, 1, 10000, 0, 768, 0, 0, 0},
    /* Sinkhorn's memory goal: point costs in tiles, peak RSS under 200 MiB. */
    {"sinkhorn-20k", "sinkhorn-large", "standard", CF_SINKHORN, 1, 20000, 20000, 64, 0, 0.01, 10},
    /* rbf Vendi at n = 8000, d = 64; σ = 32, about the median pairwise distance of these points
     * (their squared distances are about 2·64·8.25). */
    {"vendi-rbf", "vendi-large", "standard", CF_VENDI_RBF, 1, 8000, 0, 64, 0, 32.0, 0},

    {"sinkhorn", "sinkhorn", "gpu", CF_SINKHORN, 1, 10000, 10000, 2, 0, 0.01, 100},
    {"sinkhorn-batch", "sinkhorn", "gpu", CF_SINKHORN_BATCH, 1024, 64, 64, 2, 0, 0.01, 100},
    {"knn", "knn", "gpu", CF_KNN, 1, 100000, 0, 64, 5, 0, 0},
    {"ksg-mi", "knn", "gpu", CF_KSG, 1, 100000, 0, 1, 3, 0, 0},
    {"vendi", "vendi", "gpu", CF_VENDI, 1, 10000, 0, 768, 0, 0, 0},
    {"vendi-batch", "vendi", "gpu", CF_VENDI_BATCH, 10000, 16, 0, 64, 0, 0, 0},
};
enum { N_CCASES = sizeof CCASES / sizeof CCASES[0] };

/* Cases named only explicitly (not by "all" or their family): --op all,vendi-10k. */
static int ccase_explicit_only(const compute_case *c) { return strstr(c->group, "-large") != NULL; }

static int name_listed(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *s = list; *s;) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len == n && !strncmp(s, name, n)) return 1;
    if (!e) break;
    s = e + 1;
  }
  return 0;
}

static int ccase_selected(const options *o, const compute_case *c) {
  if (strcmp(c->set, o->size)) return 0;
  if (!o->families[1]) return 0;
  if (ccase_explicit_only(c)) return name_listed(o->ops, c->name);
  if (name_listed(o->ops, "all")) return 1;
  return name_listed(o->ops, c->name) || name_listed(o->ops, c->group);
}

typedef struct {
  float *x, *y;      /* points: [batch*n, d], [batch*m, d] (Sinkhorn: y; KSG: y [n]) */
  float *cost;       /* Sinkhorn batch: [batch, n, m] */
  float *a, *b;      /* Sinkhorn weights: [n], [m] (uniform) */
  int64_t *idx;      /* kNN: [n, k] */
  float *dist;       /* kNN: [n, k] */
  double *scores;    /* Vendi batch: [batch] */
  ie_sinkhorn_result *sres;
  ie_knn_result kres;
  ie_spectral_result vres;
} cinputs;

static double gauss(uint64_t *s) {
  double u1 = unif(s), u2 = unif(s);
  return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Fixed-seed inputs: Sinkhorn clouds uniform in [0,1]² (y shifted by 0.25 in
 * the first coordinate); the batch's cost is the sqeuclidean cost of such
 * clouds per problem; kNN points N(0, 1); KSG x ~ N(0,1), y = x + N(0, 0.5²);
 * Vendi points N(0, 1) plus a shared low-rank part (so the score is not n). */
static void make_cinputs(const compute_case *c, cinputs *in) {
  memset(in, 0, sizeof *in);
  uint64_t s = 0xC0FFEEull ^ ((uint64_t)c->fam * 0x9E3779B97F4A7C15ull);
  int64_t B = c->batch, n = c->n, m = c->m, d = c->d;
  switch (c->fam) {
  case CF_SINKHORN: {
    in->x = xmalloc((size_t)(n * d) * 4);
    in->y = xmalloc((size_t)(m * d) * 4);
    for (int64_t i = 0; i < n * d; i++) in->x[i] = (float)unif(&s);
    for (int64_t i = 0; i < m * d; i++) in->y[i] = (float)(unif(&s) + (i % d == 0 ? 0.25 : 0.0));
    break;
  }
  case CF_SINKHORN_BATCH: {
    in->cost = xmalloc((size_t)(B * n * m) * 4);
    float *px = xmalloc((size_t)(n * d) * 4), *py = xmalloc((size_t)(m * d) * 4);
    for (int64_t bb = 0; bb < B; bb++) {
      for (int64_t i = 0; i < n * d; i++) px[i] = (float)unif(&s);
      for (int64_t i = 0; i < m * d; i++) py[i] = (float)(unif(&s) + (i % d == 0 ? 0.25 : 0.0));
      for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) {
          double acc = 0;
          for (int64_t t = 0; t < d; t++) {
            double df = (double)px[i * d + t] - (double)py[j * d + t];
            acc += df * df;
          }
          in->cost[(bb * n + i) * m + j] = (float)acc;
        }
    }
    free(px);
    free(py);
    break;
  }
  case CF_KNN:
    in->x = xmalloc((size_t)(n * d) * 4);
    for (int64_t i = 0; i < n * d; i++) in->x[i] = (float)gauss(&s);
    in->idx = xmalloc((size_t)(n * c->k) * 8);
    in->dist = xmalloc((size_t)(n * c->k) * 4);
    break;
  case CF_KSG:
    in->x = xmalloc((size_t)n * 4);
    in->y = xmalloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) {
      double v = gauss(&s);
      in->x[i] = (float)v;
      in->y[i] = (float)(v + 0.5 * gauss(&s));
    }
    break;
  case CF_KNN_DIV:
    in->x = xmalloc((size_t)(n * d) * 4);
    in->y = xmalloc((size_t)(m * d) * 4);
    for (int64_t i = 0; i < n * d; i++) in->x[i] = (float)gauss(&s);
    for (int64_t i = 0; i < m * d; i++) in->y[i] = (float)(1.2 * gauss(&s) + (i % d == 0 ? 0.5 : 0.0));
    break;
  case CF_VENDI:
  case CF_VENDI_RBF:
  case CF_VENDI_BATCH: {
    int64_t rows = B * n, r = 8;
    float *basis = xmalloc((size_t)(r * d) * 4);
    for (int64_t i = 0; i < r * d; i++) basis[i] = (float)gauss(&s);
    in->x = xmalloc((size_t)(rows * d) * 4);
    for (int64_t i = 0; i < rows; i++) {
      double w[8];
      for (int t = 0; t < r; t++) w[t] = gauss(&s);
      for (int64_t j = 0; j < d; j++) {
        double v = 0.5 * gauss(&s);
        for (int t = 0; t < r; t++) v += w[t] * basis[t * d + j];
        in->x[i * d + j] = (float)v;
      }
    }
    free(basis);
    if (c->fam == CF_VENDI_BATCH) in->scores = xmalloc((size_t)B * 8);
    break;
  }
  }
  if (c->fam == CF_SINKHORN || c->fam == CF_SINKHORN_BATCH) {
    in->a = xmalloc((size_t)n * 4);
    in->b = xmalloc((size_t)m * 4);
    for (int64_t i = 0; i < n; i++) in->a[i] = 1.0f / (float)n;
    for (int64_t j = 0; j < m; j++) in->b[j] = 1.0f / (float)m;
    in->sres = xmalloc((size_t)B * sizeof *in->sres);
  }
}

static void free_cinputs(cinputs *in) {
  free(in->x);
  free(in->y);
  free(in->cost);
  free(in->a);
  free(in->b);
  free(in->idx);
  free(in->dist);
  free(in->scores);
  free(in->sres);
  memset(in, 0, sizeof *in);
}

static void save_cinputs(const char *dir, const compute_case *c, const cinputs *in) {
  char path[1024];
  mkdir(dir, 0777);
  int64_t B = c->batch, n = c->n, m = c->m, d = c->d;
  int64_t s2[2];
#define SAVE2(what, ptr, r0, r1)                                                         \
  do {                                                                                   \
    s2[0] = (r0);                                                                        \
    s2[1] = (r1);                                                                        \
    snprintf(path, sizeof path, "%s/%s_%s_%s.npy", dir, c->name, c->set, what);          \
    write_npy(path, "<f4", 2, s2, ptr, (size_t)((r0) * (r1)) * 4);                       \
  } while (0)
  switch (c->fam) {
  case CF_SINKHORN:
    SAVE2("x", in->x, n, d);
    SAVE2("y", in->y, m, d);
    break;
  case CF_SINKHORN_BATCH:
    SAVE2("cost", in->cost, B * n, m); /* [B, n, m] flattened to [B*n, m] */
    break;
  case CF_KNN:
  case CF_VENDI:
  case CF_VENDI_RBF:
  case CF_VENDI_BATCH:
    SAVE2("x", in->x, B * n, d); /* batch: [S, n, d] flattened to [S*n, d] */
    break;
  case CF_KNN_DIV:
    SAVE2("x", in->x, n, d);
    SAVE2("y", in->y, m, d);
    break;
  case CF_KSG:
    SAVE2("x", in->x, n, 1);
    SAVE2("y", in->y, n, 1);
    break;
  }
#undef SAVE2
  fprintf(stderr, "saved inputs of %s (%s) to %s\n", c->name, c->set, dir);
}

typedef struct {
  ie_context *ctx;
  const compute_case *c;
  cinputs *in;
  DLTensor t[6];
  int64_t sh[6][3];
} ccall;

static void host_tensor(DLTensor *t, void *data, int code, int bits, int ndim, int64_t *shape) {
  DLDevice dev = {kDLCPU, 0};
  DLDataType dt = {(uint8_t)code, (uint8_t)bits, 1};
  set_tensor(t, data, dev, dt, ndim, shape);
}

static void build_ccall(ccall *a, ie_context *ctx, const compute_case *c, cinputs *in) {
  memset(a, 0, sizeof *a);
  a->ctx = ctx;
  a->c = c;
  a->in = in;
  int64_t B = c->batch, n = c->n, m = c->m, d = c->d;
  switch (c->fam) {
  case CF_SINKHORN:
    a->sh[0][0] = n; host_tensor(&a->t[0], in->a, kDLFloat, 32, 1, a->sh[0]);
    a->sh[1][0] = m; host_tensor(&a->t[1], in->b, kDLFloat, 32, 1, a->sh[1]);
    a->sh[2][0] = n; a->sh[2][1] = d; host_tensor(&a->t[2], in->x, kDLFloat, 32, 2, a->sh[2]);
    a->sh[3][0] = m; a->sh[3][1] = d; host_tensor(&a->t[3], in->y, kDLFloat, 32, 2, a->sh[3]);
    break;
  case CF_SINKHORN_BATCH:
    a->sh[0][0] = n; host_tensor(&a->t[0], in->a, kDLFloat, 32, 1, a->sh[0]);
    a->sh[1][0] = m; host_tensor(&a->t[1], in->b, kDLFloat, 32, 1, a->sh[1]);
    a->sh[2][0] = B; a->sh[2][1] = n; a->sh[2][2] = m;
    host_tensor(&a->t[2], in->cost, kDLFloat, 32, 3, a->sh[2]);
    break;
  case CF_KNN:
    a->sh[0][0] = n; a->sh[0][1] = d; host_tensor(&a->t[0], in->x, kDLFloat, 32, 2, a->sh[0]);
    a->sh[1][0] = n; a->sh[1][1] = c->k;
    host_tensor(&a->t[1], in->idx, kDLInt, 64, 2, a->sh[1]);
    host_tensor(&a->t[2], in->dist, kDLFloat, 32, 2, a->sh[1]);
    break;
  case CF_KSG:
    a->sh[0][0] = n; a->sh[0][1] = 1; host_tensor(&a->t[0], in->x, kDLFloat, 32, 2, a->sh[0]);
    host_tensor(&a->t[1], in->y, kDLFloat, 32, 2, a->sh[0]);
    break;
  case CF_VENDI:
  case CF_VENDI_RBF:
    a->sh[0][0] = n; a->sh[0][1] = d; host_tensor(&a->t[0], in->x, kDLFloat, 32, 2, a->sh[0]);
    break;
  case CF_KNN_DIV:
    a->sh[0][0] = n; a->sh[0][1] = d; host_tensor(&a->t[0], in->x, kDLFloat, 32, 2, a->sh[0]);
    a->sh[1][0] = m; a->sh[1][1] = d; host_tensor(&a->t[1], in->y, kDLFloat, 32, 2, a->sh[1]);
    break;
  case CF_VENDI_BATCH:
    a->sh[0][0] = B; a->sh[0][1] = n; a->sh[0][2] = d;
    host_tensor(&a->t[0], in->x, kDLFloat, 32, 3, a->sh[0]);
    a->sh[1][0] = B; host_tensor(&a->t[1], in->scores, kDLFloat, 64, 1, a->sh[1]);
    break;
  }
}

static ie_status run_ccall(ccall *a) {
  const compute_case *c = a->c;
  cinputs *in = a->in;
  switch (c->fam) {
  case CF_SINKHORN:
  case CF_SINKHORN_BATCH: {
    ie_sinkhorn_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.epsilon = c->eps;
    o.max_iter = c->iters;
    o.tol = 1e-300; /* never met: every call runs max_iter iterations */
    o.metric = IE_COST_SQEUCLIDEAN;
    if (c->fam == CF_SINKHORN)
      return ie_sinkhorn(a->ctx, &a->t[0], &a->t[1], NULL, &a->t[2], &a->t[3], &o, in->sres, NULL,
                         NULL, NULL);
    return ie_sinkhorn(a->ctx, &a->t[0], &a->t[1], &a->t[2], NULL, NULL, &o, in->sres, NULL, NULL,
                       NULL);
  }
  case CF_KNN: {
    ie_knn_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.metric = IE_METRIC_EUCLIDEAN;
    o.exclude_self = 1;
    return ie_knn(a->ctx, &a->t[0], &a->t[0], c->k, &a->t[1], &a->t[2], &o);
  }
  case CF_KSG: {
    ie_knn_estimator_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.k = c->k;
    return ie_knn_mutual_information(a->ctx, &a->t[0], &a->t[1], &o, &in->kres);
  }
  case CF_KNN_DIV: {
    ie_knn_estimator_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.k = c->k;
    return ie_knn_divergence(a->ctx, IE_KNN_DIV_KL, &a->t[0], &a->t[1], &o, &in->kres);
  }
  case CF_VENDI_RBF: {
    ie_vendi_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.kernel = IE_KERNEL_RBF;
    o.sigma = c->eps;
    o.q = 1.0;
    o.has_q = 1;
    return ie_vendi(a->ctx, &a->t[0], &o, &in->vres);
  }
  case CF_VENDI:
  case CF_VENDI_BATCH: {
    ie_vendi_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.kernel = IE_KERNEL_COSINE;
    o.q = 1.0;
    o.has_q = 1;
    if (c->fam == CF_VENDI) return ie_vendi(a->ctx, &a->t[0], &o, &in->vres);
    return ie_vendi_batch(a->ctx, &a->t[0], &a->t[1], &o, &in->vres);
  }
  }
  return IE_INTERNAL;
}

/* FLOP model for the GEMM-shaped cases (0: no roof applies). */
static double ccase_flop(const compute_case *c, const char **model) {
  double n = (double)c->n, d = (double)c->d;
  switch (c->fam) {
  case CF_KNN:
    *model = "2·n²·d (the all-pairs inner products of the expanded form)";
    return 2.0 * n * n * d;
  case CF_VENDI_RBF:
    *model = "2·n²·d (pairwise distances) + (4/3)·n³ (tridiagonal reduction)";
    return 2.0 * n * n * d + 4.0 / 3.0 * n * n * n;
  case CF_VENDI:
  case CF_VENDI_BATCH: {
    double r = n < d ? n : d;
    *model = "per set 2·n·d·min(n,d) (Gram) + (4/3)·min(n,d)³ (tridiagonal reduction)";
    return (double)c->batch * (2.0 * n * d * r + 4.0 / 3.0 * r * r * r);
  }
  default:
    *model = c->fam == CF_KNN_DIV ? "none: kNN divergence (k-d tree / candidate search); peer ratio only"
           : c->fam == CF_KSG ? "none: d = 1 neighbour counting, no GEMM; peer ratio only"
                              : "none: exp-bound log-domain passes; peer ratio only";
    return 0;
  }
}

/* Peak resident memory in MiB since the last peak_rss_reset (Linux: VmHWM
 * of /proc/self/status, reset by writing 5 to /proc/self/clear_refs); -1
 * where that cannot be read. */
static void peak_rss_reset(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

static double peak_rss_mib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
  if (f) fclose(f);
  return kb < 0 ? -1 : kb / 1024;
}

/* Time-case for a compute call (time_case's rule, on a ccall). */
static ie_status time_ccase(ccall *a, const options *o, timing *t) {
  static double samples[MAX_REPS];
  int n = 0;
  for (int i = 0; i < o->warmup; i++) {
    double s0 = now_s();
    ie_status s = run_ccall(a);
    if (s != IE_OK) return s;
    const double el = now_s() - s0;
    /* A call over 10 s (sinkhorn-20k, vendi-rbf on 2 cores) is timed once:
     * its warm-up is its one sample, and the peers time it once too. */
    if (el > 10.0) {
      samples[n++] = el;
      summarize(samples, n, t);
      return IE_OK;
    }
    if (el > 1.0) break;
  }
  double t0 = now_s();
  for (;;) {
    double el = now_s() - t0;
    if (n >= MAX_REPS) break;
    if (n >= o->repeats && el >= o->min_time) break;
    if (n >= 3 && o->max_time > 0 && el >= o->max_time) break;
    double s0 = now_s();
    ie_status s = run_ccall(a);
    samples[n++] = now_s() - s0;
    if (s != IE_OK) return s;
  }
  summarize(samples, n, t);
  return IE_OK;
}

static void run_compute(ie_backend b, ie_context *ctx, const options *o, const roofs *r0) {
  const char *bname = ie_backend_name(b);
  const char *devname = ie_context_device_name(ctx);
  int header = 0;
  for (int ci = 0; ci < N_CCASES; ci++) {
    const compute_case *c = &CCASES[ci];
    if (!ccase_selected(o, c)) continue;
    if (!header) {
      printf("  %-16s %-22s %10s %10s %10s %9s %7s  %s\n", "op", "size", "median ms", "min ms",
             "max ms", "GFLOP/s", "%roof", "check");
      header = 1;
    }
    char size[96];
    if (c->fam == CF_SINKHORN)
      snprintf(size, sizeof size, "%lldx%lld d=%lld", (long long)c->n, (long long)c->m,
               (long long)c->d);
    else if (c->fam == CF_KNN_DIV)
      snprintf(size, sizeof size, "%lld vs %lld d=%lld", (long long)c->n, (long long)c->m,
               (long long)c->d);
    else if (c->fam == CF_SINKHORN_BATCH)
      snprintf(size, sizeof size, "%lld x %lldx%lld", (long long)c->batch, (long long)c->n,
               (long long)c->m);
    else if (c->batch > 1)
      snprintf(size, sizeof size, "%lld x %lld d=%lld", (long long)c->batch, (long long)c->n,
               (long long)c->d);
    else
      snprintf(size, sizeof size, "%lld d=%lld", (long long)c->n, (long long)c->d);
    cinputs in;
    make_cinputs(c, &in);
    ccall a;
    build_ccall(&a, ctx, c, &in);
    timing t;
    peak_rss_reset(); /* Sinkhorn reports the peak (inputs and bench included) */
    ie_status s = time_ccase(&a, o, &t);
    const double peak = peak_rss_mib();
    char b1[1200], b2[256], b3[256];
    if (s != IE_OK) {
      printf("  %-16s %-22s failed: %s: %s\n", c->name, size, ie_status_name(s), ie_errmsg(ctx));
      json_printf("{\"type\":\"compute\",\"status\":\"error\",\"op\":\"%s\",\"group\":\"%s\","
                  "\"set\":\"%s\",\"backend\":\"%s\",\"size\":\"%s\",\"error\":\"%s: %s\"}\n",
                  c->name, c->group, c->set, bname, size, ie_status_name(s),
                  jstr(ie_errmsg(ctx), b1, sizeof b1));
      free_cinputs(&in);
      continue;
    }
    const char *model = "";
    double flop = ccase_flop(c, &model);
    double gf = flop > 0 ? flop / t.med / 1e9 : 0;
    double roof = flop > 0 ? r0->gbps[ROOF_GEMM] : 0;
    double frac = roof > 0 ? gf / roof : 0;
    /* What the call returned, to check against the peers (and the iterations). */
    char check[200];
    int64_t iters = 0;
    double value = 0;
    if (c->fam == CF_SINKHORN || c->fam == CF_SINKHORN_BATCH) {
      iters = in.sres[0].iterations;
      value = in.sres[0].transport_cost;
      snprintf(check, sizeof check, "iterations %lld, <P,C> %.6g (problem 0), marginal error %.2g, "
               "peak RSS %.0f MiB", (long long)iters, value, in.sres[0].marginal_error, peak);
    } else if (c->fam == CF_KNN) {
      value = in.dist[(c->n - 1) * c->k + c->k - 1];
      snprintf(check, sizeof check, "idx[0] %lld, last 5-NN distance %.6g", (long long)in.idx[0],
               value);
    } else if (c->fam == CF_KSG) {
      value = in.kres.estimate;
      snprintf(check, sizeof check, "MI %.6f nats", value);
    } else if (c->fam == CF_KNN_DIV) {
      value = in.kres.estimate;
      snprintf(check, sizeof check, "KL(x, y) %.6f nats (k = %lld)", value, (long long)c->k);
    } else if (c->fam == CF_VENDI || c->fam == CF_VENDI_RBF) {
      value = in.vres.value;
      snprintf(check, sizeof check, "score %.6f (%s path)", value,
               in.vres.path == IE_SPECTRAL_DUAL ? "dual" : "primal");
    } else {
      value = in.scores[0];
      snprintf(check, sizeof check, "score[0] %.6f, mean %.6f", value, in.vres.value);
    }
    printf("  %-16s %-22s %10.3f %10.3f %10.3f %9.1f %6.1f%%  %s\n", c->name, size, t.med * 1e3,
           t.min * 1e3, t.max * 1e3, gf, 100 * frac, check);
    fflush(stdout);
    json_printf("{\"type\":\"compute\",\"status\":\"ok\",\"op\":\"%s\",\"group\":\"%s\","
                "\"set\":\"%s\",\"backend\":\"%s\",\"device\":\"%s\",\"mode\":\"host\","
                "\"size\":\"%s\",\"batch\":%lld,\"n\":%lld,\"m\":%lld,\"d\":%lld,\"k\":%lld,"
                "\"eps\":%g,\"max_iter\":%lld,\"iterations\":%lld,\"value\":%.10g,"
                "\"check\":\"%s\",\"median_ms\":%.6g,\"min_ms\":%.6g,\"max_ms\":%.6g,"
                "\"q1_ms\":%.6g,\"q3_ms\":%.6g,\"reps\":%d,\"flop\":%.6g,\"gflops\":%.6g,"
                "\"roof_kind\":\"%s\",\"roof_gflops\":%.6g,\"roof_frac\":%.6g,"
                "\"flop_model\":\"%s\",\"threads\":%d}\n",
                c->name, c->group, c->set, bname, jstr(devname, b2, sizeof b2), size,
                (long long)c->batch, (long long)c->n, (long long)c->m, (long long)c->d,
                (long long)c->k, c->eps, (long long)c->iters, (long long)iters, value,
                jstr(check, b3, sizeof b3), t.med * 1e3, t.min * 1e3, t.max * 1e3, t.q1 * 1e3,
                t.q3 * 1e3, t.reps, flop, gf, flop > 0 ? "gemm" : "none", roof, frac,
                jstr(model, b1, sizeof b1), omp_get_max_threads());
    free_cinputs(&in);
  }
}

static void run_backend(ie_backend b, const options *o) {
  const char *bname = ie_backend_name(b);
  ie_context *ctx = NULL;
  ie_context_options co;
  memset(&co, 0, sizeof co);
  co.size = sizeof co;
  co.backend = b;
  ie_status st = ie_context_create(&ctx, &co);
  if (st != IE_OK) {
    char why[1200];
    snprintf(why, sizeof why, "%s: %s", ie_status_name(st), ie_errmsg(ctx));
    emit_skip(bname, "backend", why);
    ie_context_destroy(ctx);
    return;
  }
  const char *devname = ie_context_device_name(ctx);
  char jb[512];
  printf("== backend %s: %s\n", bname, devname);
  json_printf("{\"type\":\"backend\",\"backend\":\"%s\",\"device\":\"%s\",\"threads\":%d}\n",
              bname, jstr(devname, jb, sizeof jb), omp_get_max_threads());

  void *env = NULL;
#ifdef IE_BENCH_OPENCL
  ocl_env ocl;
  if (b == IE_BACKEND_OPENCL) {
    if (ocl_open(&ocl, ctx)) env = &ocl;
    else emit_skip(bname, "roof copy", "could not open the OpenCL device for the copy roof");
  }
#endif
  roofs r0, r1;
  measure_roofs(b, ctx, o, &r0, env);
  emit_roofs(bname, devname, &r0, "start");

  int modes[2] = {MODE_HOST, -1};
  if (b != IE_BACKEND_CPU && o->modes[MODE_DEVICE]) {
    if (device_mode_available(b)) modes[1] = MODE_DEVICE;
    else emit_skip(bname, "device-resident tensors",
                   b == IE_BACKEND_OPENCL
                       ? "ie_opencl_get_context is not available to this build of the bench; "
                         "host tensors only (each call stages its inputs)"
                       : "the bench was built without CUDA runtime support");
  }

  if (o->families[0])
    printf("  %-16s %5s %-6s %-4s %-6s %10s %10s %10s %8s %7s\n", "op", "rows", "cols", "dt",
         "mode", "median ms", "min ms", "max ms", "GB/s", "%roof");

  host_data h = {0};
  for (int zi = 0; zi < N_SIZES; zi++) {
    const size_desc *z = &SIZES[zi];
    if (!o->families[0] || !size_selected(o, z)) continue;
    /* Inputs for this (cols, dtype): generated once at the largest row count
     * of the set; a size uses the first rows. */
    if (!h.p || h.cols != z->cols || h.dt != z->dt || h.rows < z->rows) {
      int64_t maxrows = 0;
      for (int zj = 0; zj < N_SIZES; zj++)
        if (size_selected(o, &SIZES[zj]) && SIZES[zj].cols == z->cols && SIZES[zj].dt == z->dt &&
            SIZES[zj].rows > maxrows)
          maxrows = SIZES[zj].rows;
      free_inputs(&h);
      make_inputs(&h, maxrows, z->cols, z->dt);
    }
    for (int mi = 0; mi < 2; mi++) {
      if (modes[mi] < 0) continue;
      mode md = (mode)modes[mi];
      buffers bufs;
      memset(&bufs, 0, sizeof bufs);
      devmem dm;
      memset(&dm, 0, sizeof dm);
      dm.backend = b;
      dm.device = 0;
#ifdef IE_BENCH_OPENCL
      dm.ocl = (ocl_env *)env;
#endif
      void *host_out = NULL, *host_row = NULL;
      char what[160];
      snprintf(what, sizeof what, "%lldx%lld %s %s", (long long)z->rows, (long long)z->cols,
               DT_NAMES[z->dt], MODE_NAMES[md]);
      size_t mat = (size_t)z->rows * (size_t)z->cols * dt_size(z->dt);
      if (md == MODE_HOST && b != IE_BACKEND_CPU && !o->modes[MODE_HOST] && modes[1] >= 0) {
        emit_skip(bname, what, "host-staged mode not asked for (--modes)");
        continue;
      }
      if (md == MODE_HOST) {
        if (b != IE_BACKEND_CPU && o->host_limit_mb > 0 && 2.0 * mat > o->host_limit_mb * 1048576.0) {
          emit_skip(bname, what, "host-staged mode skipped above --host-limit-mb (staging "
                                 "dominates; the device mode is the figure)");
          continue;
        }
        host_out = xmalloc(mat);
        memset(host_out, 0, mat);
        host_row = xmalloc((size_t)z->rows * 4);
        bufs.p = h.p;
        bufs.q = h.q;
        bufs.out = host_out;
        bufs.per_row = host_row;
        bufs.labels = h.labels;
        bufs.dev.device_type = kDLCPU;
        bufs.dev.device_id = 0;
      } else {
        char why[256];
        if (!dev_upload(&dm, &bufs, &h, z->rows, why, sizeof why)) {
          emit_skip(bname, what, why);
          dev_free(&dm);
          continue;
        }
      }
      for (int oi = 0; oi < N_OPS; oi++) {
        const op_desc *op = &OPS[oi];
        if (!op_selected(o, op) || (z->plot_only && !op->in_plot)) continue;
        call_args a;
        build_args(&a, ctx, op, &bufs, z->rows, z->cols, z->dt);
        timing t;
        ie_status s = time_case(&a, o, &t);
        roof_kind rk = op_roof(op, b, md == MODE_HOST);
        double bytes = op_bytes(op, z->rows, z->cols, z->dt);
        char b1[1200], b2[256];
        if (s != IE_OK) {
          printf("  %-16s %5lld %-6lld %-4s %-6s  failed: %s: %s\n", op->name, (long long)z->rows,
                 (long long)z->cols, DT_NAMES[z->dt], MODE_NAMES[md], ie_status_name(s),
                 ie_errmsg(ctx));
          json_printf("{\"type\":\"result\",\"status\":\"error\",\"op\":\"%s\",\"group\":\"%s\","
                      "\"backend\":\"%s\",\"mode\":\"%s\",\"rows\":%lld,\"cols\":%lld,"
                      "\"dtype\":\"%s\",\"plot_only\":%d,\"error\":\"%s: %s\"}\n",
                      op->name, op->group, bname, MODE_NAMES[md], (long long)z->rows,
                      (long long)z->cols, DT_NAMES[z->dt], z->plot_only, ie_status_name(s),
                      jstr(ie_errmsg(ctx), b1, sizeof b1));
          continue;
        }
        double gbps = bytes / t.med / 1e9;
        double roof = r0.gbps[rk];
        double frac = roof > 0 ? gbps / roof : 0;
        printf("  %-16s %5lld %-6lld %-4s %-6s %10.3f %10.3f %10.3f %8.2f %6.1f%%\n", op->name,
               (long long)z->rows, (long long)z->cols, DT_NAMES[z->dt], MODE_NAMES[md],
               t.med * 1e3, t.min * 1e3, t.max * 1e3, gbps, 100 * frac);
        /* Over 100%: a roof bug, unless the CPU's inputs fit in its L3 (then
         * the figure is a cache one, which no memory roof bounds). */
        if (frac > 1.0)
          printf("  ! %s above its %s roof (%.0f%%): %s\n", op->name, ROOF_NAMES[rk], 100 * frac,
                 b == IE_BACKEND_CPU && bytes <= (double)llc_bytes()
                     ? "its inputs fit in the L3, a cache figure"
                     : "the roof is too low, a bug in the roof");
        fflush(stdout);
        json_printf("{\"type\":\"result\",\"status\":\"ok\",\"op\":\"%s\",\"group\":\"%s\","
                    "\"backend\":\"%s\",\"device\":\"%s\",\"mode\":\"%s\",\"rows\":%lld,"
                    "\"cols\":%lld,\"dtype\":\"%s\",\"plot_only\":%d,\"alpha\":%g,"
                    "\"bytes\":%.0f,\"median_ms\":%.6g,\"min_ms\":%.6g,\"max_ms\":%.6g,"
                    "\"q1_ms\":%.6g,\"q3_ms\":%.6g,\"reps\":%d,\"gbps\":%.6g,"
                    "\"roof_kind\":\"%s\",\"roof_gbps\":%.6g,\"roof_frac\":%.6g,"
                    "\"threads\":%d}\n",
                    op->name, op->group, bname, jstr(devname, b2, sizeof b2), MODE_NAMES[md],
                    (long long)z->rows, (long long)z->cols, DT_NAMES[z->dt], z->plot_only,
                    op->alpha, bytes, t.med * 1e3, t.min * 1e3, t.max * 1e3, t.q1 * 1e3,
                    t.q3 * 1e3, t.reps, gbps, ROOF_NAMES[rk], roof, frac, omp_get_max_threads());
      }
      free(host_out);
      free(host_row);
      dev_free(&dm);
    }
  }
  free_inputs(&h);

  run_compute(b, ctx, o, &r0);

  measure_roofs(b, ctx, o, &r1, env);
  emit_roofs(bname, devname, &r1, "end");
#ifdef IE_BENCH_OPENCL
  if (env) ocl_close(&ocl);
#endif
  ie_context_destroy(ctx);
}

/* Inputs for the peers: one file per (cols, dtype) at the largest row count of
 * the chosen set. */
static void save_all_inputs(const options *o) {
  for (int ci = 0; ci < N_CCASES; ci++) {
    const compute_case *c = &CCASES[ci];
    if (!ccase_selected(o, c)) continue;
    cinputs in;
    make_cinputs(c, &in);
    save_cinputs(o->save_dir, c, &in);
    free_cinputs(&in);
  }
  for (int zi = 0; zi < N_SIZES; zi++) {
    const size_desc *z = &SIZES[zi];
    if (!o->families[0] || !size_selected(o, z)) continue;
    int first = 1;
    int64_t maxrows = 0;
    for (int zj = 0; zj < N_SIZES; zj++) {
      const size_desc *y = &SIZES[zj];
      if (!size_selected(o, y) || y->cols != z->cols || y->dt != z->dt) continue;
      if (zj < zi) first = 0;
      if (y->rows > maxrows) maxrows = y->rows;
    }
    if (!first) continue;
    host_data h;
    make_inputs(&h, maxrows, z->cols, z->dt);
    save_inputs(o->save_dir, &h);
    free_inputs(&h);
  }
}

static void machine_record(void) {
  char model[256] = "unknown";
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f)) {
      if (!strncmp(line, "model name", 10)) {
        char *c = strchr(line, ':');
        if (c) {
          c++;
          while (*c == ' ') c++;
          c[strcspn(c, "\n")] = 0;
          snprintf(model, sizeof model, "%s", c);
        }
        break;
      }
    }
    fclose(f);
  }
  char load[64] = "?";
  FILE *lf = fopen("/proc/loadavg", "r");
  if (lf) {
    if (fgets(load, sizeof load, lf)) {
      char *sp = strchr(load, ' ');
      if (sp) sp = strchr(sp + 1, ' ');
      if (sp) sp = strchr(sp + 1, ' ');
      if (sp) *sp = 0;
    }
    fclose(lf);
  }
  char date[64] = "?";
  time_t now = time(NULL);
  struct tm tmv;
  if (gmtime_r(&now, &tmv)) strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tmv);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  double mem = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  char b[600];
  printf("machine: %s, %ld cores, %.1f GiB, OpenMP threads %d, L3 %zu MiB, load %s, infoest %s\n",
         model, cores, mem / 1073741824.0, omp_get_max_threads(), llc_bytes() >> 20, load,
         ie_version_string());
  json_printf("{\"type\":\"machine\",\"cpu\":\"%s\",\"cores\":%ld,\"mem_gib\":%.1f,"
              "\"threads\":%d,\"llc_mib\":%zu,\"loadavg\":\"%s\",\"date\":\"%s\","
              "\"version\":\"%s\"}\n",
              jstr(model, b, sizeof b), cores, mem / 1073741824.0, omp_get_max_threads(),
              llc_bytes() >> 20, load, date, ie_version_string());
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: infoest-bench [--backend cpu|cuda|opencl|all] [--op NAME[,NAME]|all]\n"
          "                     [--size small|standard|gpu] [--dtype f32|bf16|all]\n"
          "                     [--repeats N] [--min-time S] [--warmup N]\n"
          "                     [--json FILE] [--append] [--save-inputs DIR]\n"
          "                     [--max-time S] [--modes host,device] [--host-limit-mb N]\n"
          "                     [--threads N] [--families logits,compute] [--list]\n");
}

int main(int argc, char **argv) {
  options o;
  memset(&o, 0, sizeof o);
  o.ops = "all";
  o.size = "standard";
  o.dtype = "all";
  o.repeats = 10;
  o.warmup = 2;
  o.min_time = 0.5;
  o.host_limit_mb = 1200;
  o.max_time = 3.0;
  o.modes[MODE_HOST] = o.modes[MODE_DEVICE] = 1;
  o.families[0] = o.families[1] = 1;
  const char *backend = "all";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage(stderr), exit(2), (char *)NULL))
    if (!strcmp(a, "--backend")) backend = NEXT();
    else if (!strcmp(a, "--op")) o.ops = NEXT();
    else if (!strcmp(a, "--size")) o.size = NEXT();
    else if (!strcmp(a, "--dtype")) o.dtype = NEXT();
    else if (!strcmp(a, "--repeats")) o.repeats = atoi(NEXT());
    else if (!strcmp(a, "--warmup")) o.warmup = atoi(NEXT());
    else if (!strcmp(a, "--min-time")) o.min_time = atof(NEXT());
    else if (!strcmp(a, "--json")) o.json_path = NEXT();
    else if (!strcmp(a, "--append")) o.append = 1;
    else if (!strcmp(a, "--save-inputs")) o.save_dir = NEXT();
    else if (!strcmp(a, "--host-limit-mb")) o.host_limit_mb = atof(NEXT());
    else if (!strcmp(a, "--list")) o.list = 1;
    else if (!strcmp(a, "--threads")) o.threads = atoi(NEXT());
    else if (!strcmp(a, "--max-time")) o.max_time = atof(NEXT());
    else if (!strcmp(a, "--families")) {
      const char *m = NEXT();
      o.families[0] = strstr(m, "logits") != NULL || !strcmp(m, "all");
      o.families[1] = strstr(m, "compute") != NULL || !strcmp(m, "all");
      if (!o.families[0] && !o.families[1]) die("--families takes logits, compute or logits,compute");
    }
    else if (!strcmp(a, "--modes")) {
      const char *m = NEXT();
      o.modes[MODE_HOST] = strstr(m, "host") != NULL;
      o.modes[MODE_DEVICE] = strstr(m, "device") != NULL;
      if (!o.modes[MODE_HOST] && !o.modes[MODE_DEVICE]) die("--modes takes host, device or host,device");
    }
    else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
    else { usage(stderr); return 2; }
#undef NEXT
  }
  if (o.repeats < 1 || o.repeats > MAX_REPS) die("--repeats must be in [1, %d]", MAX_REPS);
  if (o.warmup < 0) die("--warmup must be >= 0");
  if (strcmp(o.size, "small") && strcmp(o.size, "standard") && strcmp(o.size, "gpu"))
    die("--size must be small, standard or gpu");
  if (strcmp(o.dtype, "all") && strcmp(o.dtype, "f32") && strcmp(o.dtype, "bf16"))
    die("--dtype must be f32, bf16 or all");
  int nsel = 0;
  for (int i = 0; i < N_OPS; i++) nsel += o.families[0] && op_selected(&o, &OPS[i]);
  for (int i = 0; i < N_CCASES; i++) {
    const compute_case *c = &CCASES[i];
    if (!o.families[1]) continue;
    nsel += ccase_explicit_only(c) ? name_listed(o.ops, c->name)
            : name_listed(o.ops, "all") || name_listed(o.ops, c->name) ||
                  name_listed(o.ops, c->group);
  }
  if (o.list || nsel == 0) {
    FILE *f = o.list ? stdout : stderr;
    if (!o.list) fprintf(f, "no op matches --op %s; ops:\n", o.ops);
    for (int i = 0; i < N_OPS; i++) fprintf(f, "  %-16s (%s)\n", OPS[i].name, OPS[i].group);
    for (int i = 0; i < N_CCASES; i++)
      if (!strcmp(CCASES[i].set, "standard"))
        fprintf(f, "  %-16s (%s%s)\n", CCASES[i].name, CCASES[i].group,
                ccase_explicit_only(&CCASES[i]) ? "; only when named" : "");
    return o.list ? 0 : 2;
  }
  if (!strcmp(backend, "all")) {
    o.backends[IE_BACKEND_CPU] = o.backends[IE_BACKEND_CUDA] = o.backends[IE_BACKEND_OPENCL] = 1;
  } else {
    for (const char *s = backend; *s;) {
      const char *e = strchr(s, ',');
      char name[32];
      size_t len = e ? (size_t)(e - s) : strlen(s);
      snprintf(name, sizeof name, "%.*s", (int)len, s);
      int bk = ie_backend_parse(name);
      if (bk <= 0) die("unknown backend '%s'", name);
      o.backends[bk] = 1;
      if (!e) break;
      s = e + 1;
    }
  }
  if (o.threads > 0) omp_set_num_threads(o.threads); /* the library's regions too */
  if (o.json_path) {
    g_json = fopen(o.json_path, o.append ? "a" : "w");
    if (!g_json) die("cannot open %s: %s", o.json_path, strerror(errno));
  }
  machine_record();
  if (o.save_dir) save_all_inputs(&o);
  const ie_backend order[3] = {IE_BACKEND_CPU, IE_BACKEND_CUDA, IE_BACKEND_OPENCL};
  for (int i = 0; i < 3; i++) {
    ie_backend b = order[i];
    if (!o.backends[b]) continue;
    if (!ie_backend_compiled(b)) {
      emit_skip(ie_backend_name(b), "backend", "not compiled into this build");
      continue;
    }
    run_backend(b, &o);
  }
  if (g_json) fclose(g_json);
  return 0;
}
