/*
 * infoest-ab: two builds of libinfoest timed against each other in one
 * process, their calls alternating, so that what a busy machine does to one
 * it does to the other.  A speed change is measured this way: on 2 shared
 * cores, separate runs of infoest-bench move by more than the change.
 *
 *   infoest-ab LIB_A LIB_B KIND[:ORDER][,KIND...] [ROWS [REPEATS [COLS [DTYPE [OUT]]]]]
 *
 * LIB_A, LIB_B: paths of libinfoest.so (a build of each commit: cmake
 * -DIE_WITH_CUDA=OFF -DIE_WITH_OPENCL=OFF builds in about a minute).  KIND:
 * a divergence (ie_divergence_parse), or entropy-shannon, entropy-renyi,
 * entropy-tsallis (of p); ORDER its alpha; or log-softmax, softmax (of p,
 * into rows of OUT: f32, the default, f16, bf16 or f64).  Inputs as
 * infoest-bench's (rows of 128256 float32 logits, p ~ N(0, 2²), q = p +
 * N(0, 0.5²)); ROWS default 256, REPEATS 20, COLS 128256 (fewer: rows
 * that stay in cache, to tell a loop's compute from its memory traffic),
 * DTYPE f32 (f16, bf16: the same values rounded, bf16 truncated; f64: the
 * same values widened).
 * Prints, per kind, each build's minimum and median in ms, B's median over
 * A's, and the value of row 1 (row 0 where ROWS is 1; of (log-)softmax, its
 * second entry) by each (the two should agree to rounding).
 * Set OMP_NUM_THREADS as for any other run.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infoest.h"

typedef ie_status (*create_fn)(ie_context **, const ie_context_options *);
typedef ie_status (*divergence_fn)(ie_context *, ie_divergence_kind, const DLTensor *,
                                   const DLTensor *, DLTensor *, const ie_divergence_options *,
                                   ie_summary *);
typedef ie_status (*entropy_fn)(ie_context *, const DLTensor *, DLTensor *,
                                const ie_entropy_options *, ie_summary *);
typedef ie_status (*softmax_fn)(ie_context *, const DLTensor *, DLTensor *,
                                const ie_softmax_options *);
typedef int (*parse_fn)(const char *);
typedef void (*destroy_fn)(ie_context *);

typedef struct {
  void *lib;
  ie_context *ctx;
  divergence_fn divergence;
  entropy_fn entropy;
  softmax_fn log_softmax, softmax;
  parse_fn parse;
} build;

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double gauss(void) { /* xorshift64, Box–Muller */
  double u[2];
  for (int i = 0; i < 2; i++) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    u[i] = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
  }
  return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int open_build(const char *path, build *b) {
  b->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!b->lib) {
    fprintf(stderr, "infoest-ab: %s\n", dlerror());
    return -1;
  }
  create_fn create = (create_fn)dlsym(b->lib, "ie_context_create");
  b->divergence = (divergence_fn)dlsym(b->lib, "ie_divergence");
  b->entropy = (entropy_fn)dlsym(b->lib, "ie_entropy");
  b->parse = (parse_fn)dlsym(b->lib, "ie_divergence_parse");
  b->log_softmax = (softmax_fn)dlsym(b->lib, "ie_log_softmax");
  b->softmax = (softmax_fn)dlsym(b->lib, "ie_softmax");
  if (!create || !b->divergence || !b->entropy || !b->parse || !b->log_softmax || !b->softmax ||
      create(&b->ctx, NULL) != IE_OK) {
    fprintf(stderr, "infoest-ab: %s: not a usable libinfoest\n", path);
    return -1;
  }
  return 0;
}

/* Entry i of the (log-)softmax output, of OUT's dtype. */
static double out_entry(const float *rows_out, size_t i, int half, int bf16, int f64) {
  const uint16_t *h = (const uint16_t *)rows_out;
  if (f64) return ((const double *)rows_out)[i];
  if (half) {
    _Float16 v;
    memcpy(&v, h + i, 2);
    return v;
  }
  if (bf16) {
    const uint32_t u = (uint32_t)h[i] << 16;
    float v;
    memcpy(&v, &u, 4);
    return v;
  }
  return rows_out[i];
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: infoest-ab LIB_A LIB_B KIND[:ORDER][,KIND...] "
                    "[ROWS [REPEATS [COLS [DTYPE [OUT]]]]]\n");
    return 2;
  }
  const int64_t rows = argc > 4 ? atoll(argv[4]) : 256;
  const int64_t cols = argc > 6 ? atoll(argv[6]) : 128256;
  const int repeats = argc > 5 ? atoi(argv[5]) : 20;
  const char *dtype = argc > 7 ? argv[7] : "f32", *odtype = argc > 8 ? argv[8] : "f32";
  const int half = strcmp(dtype, "f16") == 0, bf16 = strcmp(dtype, "bf16") == 0;
  const int f64 = strcmp(dtype, "f64") == 0, of64 = strcmp(odtype, "f64") == 0;
  const int ohalf = strcmp(odtype, "f16") == 0, obf16 = strcmp(odtype, "bf16") == 0;
  if (rows < 1 || repeats < 1 || cols < 2 || !(half || bf16 || f64 || strcmp(dtype, "f32") == 0) ||
      !(ohalf || obf16 || of64 || strcmp(odtype, "f32") == 0)) {
    fprintf(stderr, "infoest-ab: ROWS and REPEATS must be at least 1, COLS at least 2, "
                    "DTYPE and OUT f32, bf16, f16 or f64\n");
    return 2;
  }
  build b[2];
  if (open_build(argv[1], &b[0]) || open_build(argv[2], &b[1])) return 1;
  const size_t n = (size_t)(rows * cols);
  /* (room for f64 inputs and outputs) */
  float *p = malloc(sizeof(double) * n), *q = malloc(sizeof(double) * n);
  double *out = malloc(sizeof *out * (size_t)rows);
  float *rows_out = malloc(sizeof(double) * n); /* (log-)softmax's */
  double *t[2] = {malloc(sizeof(double) * (size_t)repeats), malloc(sizeof(double) * (size_t)repeats)};
  if (!p || !q || !out || !rows_out || !t[0] || !t[1]) {
    fprintf(stderr, "infoest-ab: out of memory\n");
    return 1;
  }
  for (size_t i = 0; i < n; i++) p[i] = (float)(2 * gauss()), q[i] = p[i] + (float)(0.5 * gauss());
  int64_t shape[2] = {rows, cols}; /* (out's shape: its first) */
  DLTensor tp = {.data = p, .device = {kDLCPU, 0}, .ndim = 2, .dtype = {kDLFloat, 32, 1}, .shape = shape};
  DLTensor tq = tp, to = tp;
  tq.data = q;
  if (half || bf16) { /* the same values as 16-bit floats, in place (the first half of p, q) */
    uint16_t *hp = (uint16_t *)p, *hq = (uint16_t *)q;
    for (size_t i = 0; i < n; i++) {
      if (half) {
        const _Float16 a = (_Float16)p[i], c = (_Float16)q[i];
        memcpy(hp + i, &a, 2), memcpy(hq + i, &c, 2);
      } else {
        uint32_t a, c;
        memcpy(&a, p + i, 4), memcpy(&c, q + i, 4);
        hp[i] = (uint16_t)(a >> 16), hq[i] = (uint16_t)(c >> 16); /* truncated */
      }
    }
    tp.dtype.code = tq.dtype.code = half ? kDLFloat : kDLBfloat;
    tp.dtype.bits = tq.dtype.bits = 16;
  }
  if (f64) { /* widened in place, from the last (each double lies past the floats before it) */
    for (size_t i = n; i-- > 0;) ((double *)p)[i] = p[i], ((double *)q)[i] = q[i];
    tp.dtype.bits = tq.dtype.bits = 64;
  }
  DLTensor tso = tp; /* (log-)softmax's output rows (OUT) */
  tso.data = rows_out, tso.dtype.code = obf16 ? kDLBfloat : kDLFloat;
  tso.dtype.bits = ohalf || obf16 ? 16 : of64 ? 64 : 32;
  to.data = out, to.ndim = 1, to.dtype.bits = 64;
  const int64_t shown = rows > 1; /* the row whose value is printed */
  for (char *name = strtok(argv[3], ","); name; name = strtok(NULL, ",")) {
    ie_divergence_options opt = {.size = sizeof opt};
    ie_entropy_options eopt = {.size = sizeof eopt};
    char *order = strchr(name, ':');
    if (order) *order = 0, opt.alpha = eopt.alpha = atof(order + 1);
    /* entropy-shannon, entropy-renyi:ORDER, entropy-tsallis:ORDER: of p */
    const int entropy = strncmp(name, "entropy-", 8) == 0;
    const int logsm = strcmp(name, "log-softmax") == 0, sm = strcmp(name, "softmax") == 0;
    const int kind = logsm || sm                         ? 0
                     : !entropy                         ? b[0].parse(name)
                     : strcmp(name + 8, "shannon") == 0 ? IE_ENTROPY_SHANNON
                     : strcmp(name + 8, "renyi") == 0   ? IE_ENTROPY_RENYI
                     : strcmp(name + 8, "tsallis") == 0 ? IE_ENTROPY_TSALLIS
                                                        : -1;
    eopt.kind = (ie_entropy_kind)kind;
    if (kind < 0) {
      fprintf(stderr, "infoest-ab: unknown kind %s\n", name);
      return 2;
    }
    double value[2] = {0, 0};
    for (int r = 0; r < repeats; r++)
      for (int j = 0; j < 2; j++) {
        const int k = r & 1 ? 1 - j : j; /* A first on even repeats, B on odd */
        const double t0 = seconds();
        const ie_status st =
            logsm     ? b[k].log_softmax(b[k].ctx, &tp, &tso, NULL)
            : sm      ? b[k].softmax(b[k].ctx, &tp, &tso, NULL)
            : entropy ? b[k].entropy(b[k].ctx, &tp, &to, &eopt, NULL)
                      : b[k].divergence(b[k].ctx, (ie_divergence_kind)kind, &tp, &tq, &to, &opt, NULL);
        if (st != IE_OK) {
          fprintf(stderr, "infoest-ab: %s failed in build %c\n", name, "AB"[k]);
          return 1;
        }
        t[k][r] = seconds() - t0;
        value[k] = logsm || sm ? out_entry(rows_out, (size_t)(shown * cols + 1), ohalf, obf16, of64)
                               : out[shown];
      }
    for (int k = 0; k < 2; k++) qsort(t[k], (size_t)repeats, sizeof(double), by_value);
    if (order) *order = ':';
    printf("%-16s A min %8.3f med %8.3f | B min %8.3f med %8.3f ms | B/A %.3f | row 1: %.9g %.9g\n",
           name, t[0][0] * 1e3, t[0][repeats / 2] * 1e3, t[1][0] * 1e3, t[1][repeats / 2] * 1e3,
           t[1][repeats / 2] / t[0][repeats / 2], value[0], value[1]);
  }
  for (int k = 0; k < 2; k++) {
    destroy_fn destroy = (destroy_fn)dlsym(b[k].lib, "ie_context_destroy");
    if (destroy) destroy(b[k].ctx);
  }
  free(p), free(q), free(out), free(rows_out), free(t[0]), free(t[1]);
  return 0;
}
