/*
 * discrete.c (infoest-bench-discrete) — times the discrete-information rows
 * of issue 22 on inputs that bench/discrete.sh writes (and its peers read):
 *
 *   infoest-bench-discrete BACKEND broja JOINTS.npy REPEATS
 *       ie_pid(IE_PID_BROJA) of the whole batch [B, S1, S2, T] in one call
 *   infoest-bench-discrete BACKEND broja-device JOINTS.npy B REPEATS
 *       the same with B joints (the file's, repeated in order) in device
 *       memory and R, U1, U2, S written to a device out [B, 4] (results
 *       NULL): a server's call, nothing but the verdict crossing (on the CPU
 *       backend: host memory)
 *   infoest-bench-discrete BACKEND ami A.npy B.npy X Y REPEATS
 *       ie_count_pairs of the labels into an X × Y table, then ie_table_mi
 *       (MI, NMI, AMI with its exact E[I]); both timed, and apart
 *   infoest-bench-discrete BACKEND count X.npy Y.npy X Y CHUNK REPEATS [cold]
 *       labels x [N] and y [N, k] read from the files CHUNK rows at a time
 *       into an X × Y table the way `infoest pmi --x --y` does: the command's
 *       reader thread (cli/cmd_stream.c) reads chunk k + 1 while
 *       ie_count_pairs counts chunk k.  The counting of a file, to set
 *       against `cat FILES > /dev/null`.  With `cold`, no warm-up call (the
 *       caller has dropped the page cache: the first read is the disk's)
 *
 * One warm-up call, then REPEATS timed calls; prints one JSON line with the
 * median and every sample (seconds, wall clock; and the median process CPU
 * time, all threads) and the values computed, so the peers' can be compared.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h" /* the command's chunk reader (cli/cmd_stream.c) */
#include "infoest.h"
#include "io.h"
#if defined(IE_BENCH_OPENCL_DEVICE)
#include "infoest_opencl.h"
#endif
#if defined(IE_BENCH_CUDA)
#include <cuda_runtime.h>
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void print_samples(const double *v, int n) {
  printf("[");
  for (int i = 0; i < n; i++) printf("%s%.6g", i ? ", " : "", v[i]);
  printf("]");
}

static void *load(const char *path, ieio_info *info, DLTensor *t) {
  char err[1400];
  void *data = NULL;
  if (ieio_open_info(path, info, err, sizeof err) || ieio_read_all(info, &data, err, sizeof err)) {
    fprintf(stderr, "infoest-bench-discrete: %s\n", err);
    exit(2);
  }
  ieio_as_dltensor(info, data, info->shape, t);
  return data;
}

static void fail(ie_context *ctx, const char *what) {
  fprintf(stderr, "infoest-bench-discrete: %s: %s\n", what, ie_errmsg(ctx));
  exit(1);
}

static int broja(ie_context *ctx, const char *file, int reps) {
  ieio_info info;
  DLTensor j;
  void *data = load(file, &info, &j);
  const int64_t B = info.ndim == 4 ? info.shape[0] : 1;
  ie_pid_result *r = calloc((size_t)B, sizeof *r);
  double *t = calloc((size_t)reps, sizeof *t), *c = calloc((size_t)reps, sizeof *c);
  ie_pid_options o = {sizeof o, IE_PID_BROJA};
  if (ie_pid(ctx, &j, &o, r, NULL) != IE_OK) fail(ctx, "ie_pid");
  for (int k = 0; k < reps; k++) {
    const double t0 = now(), c0 = cpu_now();
    if (ie_pid(ctx, &j, &o, r, NULL) != IE_OK) fail(ctx, "ie_pid");
    t[k] = now() - t0;
    c[k] = cpu_now() - c0;
  }
  double syn = 0, uni = 0;
  int64_t iters = 0;
  for (int64_t b = 0; b < B; b++) syn += r[b].synergy, uni += r[b].unique1, iters += r[b].iterations;
  printf("{\"case\": \"broja\", \"backend\": \"%s\", \"joints\": %lld, \"shape\": [%lld, %lld, %lld], "
         "\"mean_synergy\": %.17g, \"mean_unique1\": %.17g, \"mean_iterations\": %.3f, \"samples\": ",
         ie_backend_name(ie_context_backend(ctx)), (long long)B, (long long)info.shape[info.ndim - 3],
         (long long)info.shape[info.ndim - 2], (long long)info.shape[info.ndim - 1], syn / (double)B,
         uni / (double)B, (double)iters / (double)B);
  print_samples(t, reps);
  printf(", \"cpu_median_s\": %.6g, \"median_s\": %.6g}\n", median(c, reps), median(t, reps));
  free(t);
  free(c);
  free(r);
  free(data);
  return 0;
}

/* A device buffer of `bytes` holding src (NULL: not on a GPU backend this
 * build can reach; then the caller keeps host memory). */
static void *device_copy(ie_context *ctx, const void *src, size_t bytes, DLDevice *dev) {
  (void)ctx, (void)src, (void)bytes; /* unused in a build with no GPU backend */
  dev->device_type = kDLCPU;
  dev->device_id = 0;
#if defined(IE_BENCH_OPENCL_DEVICE)
  if (ie_context_backend(ctx) == IE_BACKEND_OPENCL) {
    cl_context c = NULL;
    cl_command_queue q = NULL;
    if (ie_opencl_get_context(ctx, &c, NULL, &q) != IE_OK) fail(ctx, "ie_opencl_get_context");
    cl_int e = CL_SUCCESS;
    cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (e != CL_SUCCESS || (src && clEnqueueWriteBuffer(q, m, CL_TRUE, 0, bytes, src, 0, NULL, NULL) != CL_SUCCESS)) {
      fprintf(stderr, "infoest-bench-discrete: no OpenCL buffer of %zu bytes\n", bytes);
      exit(1);
    }
    dev->device_type = kDLOpenCL;
    return m;
  }
#endif
#if defined(IE_BENCH_CUDA)
  if (ie_context_backend(ctx) == IE_BACKEND_CUDA) {
    void *p = NULL;
    if (cudaMalloc(&p, bytes) != cudaSuccess || (src && cudaMemcpy(p, src, bytes, cudaMemcpyHostToDevice) != cudaSuccess)) {
      fprintf(stderr, "infoest-bench-discrete: no CUDA buffer of %zu bytes\n", bytes);
      exit(1);
    }
    int d = 0;
    cudaGetDevice(&d);
    dev->device_type = kDLCUDA;
    dev->device_id = d;
    return p;
  }
#endif
  return NULL;
}

static void device_free(const DLDevice *dev, void *p) {
  (void)p;
#if defined(IE_BENCH_OPENCL_DEVICE)
  if (dev->device_type == kDLOpenCL) clReleaseMemObject((cl_mem)p);
#endif
#if defined(IE_BENCH_CUDA)
  if (dev->device_type == kDLCUDA) cudaFree(p);
#endif
  (void)dev;
}

/* BROJA of B joints in device memory into a device out [B, 4]. */
static int broja_device(ie_context *ctx, const char *file, int64_t B, int reps) {
  ieio_info info;
  DLTensor j;
  void *data = load(file, &info, &j);
  const int64_t F = info.ndim == 4 ? info.shape[0] : 1, n = (int64_t)(info.nbytes / (size_t)F);
  if (B < 1 || reps < 1) {
    fprintf(stderr, "infoest-bench-discrete: broja-device needs B >= 1 and REPEATS >= 1\n");
    exit(2);
  }
  char *hj = malloc((size_t)(B * n));
  float *ho = calloc((size_t)(4 * B), sizeof *ho);
  for (int64_t b = 0; b < B; b++) memcpy(hj + b * n, (char *)data + (b % F) * n, (size_t)n);
  int64_t js[4] = {B, info.shape[info.ndim - 3], info.shape[info.ndim - 2], info.shape[info.ndim - 1]},
          os[2] = {B, 4};
  DLDevice dj, dout;
  void *mj = device_copy(ctx, hj, (size_t)(B * n), &dj), *mo = device_copy(ctx, NULL, (size_t)(4 * B) * sizeof *ho, &dout);
  DLTensor tj = j, to;
  tj.data = mj ? mj : hj;
  tj.device = dj;
  tj.ndim = 4;
  tj.shape = js;
  tj.strides = NULL;
  tj.byte_offset = 0;
  memset(&to, 0, sizeof to);
  to.data = mo ? mo : ho;
  to.device = dout;
  to.ndim = 2;
  to.dtype = (DLDataType){kDLFloat, 32, 1};
  to.shape = os;
  double *t = calloc((size_t)reps, sizeof *t), *c = calloc((size_t)reps, sizeof *c);
  ie_pid_options o = {sizeof o, IE_PID_BROJA};
  if (ie_pid(ctx, &tj, &o, NULL, &to) != IE_OK) fail(ctx, "ie_pid"); /* warm-up */
  for (int k = 0; k < reps; k++) {
    const double t0 = now(), c0 = cpu_now();
    if (ie_pid(ctx, &tj, &o, NULL, &to) != IE_OK) fail(ctx, "ie_pid"); /* returns when done */
    t[k] = now() - t0;
    c[k] = cpu_now() - c0;
  }
  printf("{\"case\": \"broja-device\", \"backend\": \"%s\", \"memory\": \"%s\", \"joints\": %lld, "
         "\"shape\": [%lld, %lld, %lld], \"samples\": ",
         ie_backend_name(ie_context_backend(ctx)), mj ? "device" : "host", (long long)B, (long long)js[1],
         (long long)js[2], (long long)js[3]);
  print_samples(t, reps);
  printf(", \"cpu_median_s\": %.6g, \"median_s\": %.6g}\n", median(c, reps), median(t, reps));
  if (mj) device_free(&dj, mj);
  if (mo) device_free(&dout, mo);
  free(t), free(c), free(hj), free(ho), free(data);
  return 0;
}

static int ami(ie_context *ctx, const char *fa, const char *fb, int64_t X, int64_t Y, int reps) {
  ieio_info ia, ib;
  DLTensor ta, tb;
  void *da = load(fa, &ia, &ta), *db = load(fb, &ib, &tb);
  int64_t shape[2] = {X, Y};
  int64_t *tab = malloc((size_t)(X * Y) * sizeof *tab);
  DLTensor tt;
  memset(&tt, 0, sizeof tt);
  tt.data = tab;
  tt.device.device_type = kDLCPU;
  tt.ndim = 2;
  tt.dtype = (DLDataType){kDLInt, 64, 1};
  tt.shape = shape;
  double *tc = calloc((size_t)reps, sizeof *tc), *tm = calloc((size_t)reps, sizeof *tm),
         *tt_ = calloc((size_t)reps, sizeof *tt_), *cc = calloc((size_t)reps, sizeof *cc);
  ie_table_mi_result r;
  for (int k = -1; k < reps; k++) { /* k = -1: warm-up */
    memset(tab, 0, (size_t)(X * Y) * sizeof *tab);
    const double t0 = now(), c0 = cpu_now();
    if (ie_count_pairs(ctx, &ta, &tb, &tt, NULL) != IE_OK) fail(ctx, "ie_count_pairs");
    const double t1 = now();
    if (ie_table_mi(ctx, &tt, NULL, &r) != IE_OK) fail(ctx, "ie_table_mi");
    const double t2 = now();
    if (k >= 0) tc[k] = t1 - t0, tm[k] = t2 - t1, tt_[k] = t2 - t0, cc[k] = cpu_now() - c0;
  }
  printf("{\"case\": \"ami\", \"backend\": \"%s\", \"labels\": %lld, \"table\": [%lld, %lld], "
         "\"mi\": %.17g, \"nmi\": %.17g, \"ami\": %.17g, \"count_median_s\": %.6g, "
         "\"table_mi_median_s\": %.6g, \"samples\": ",
         ie_backend_name(ie_context_backend(ctx)), (long long)ia.shape[0], (long long)X, (long long)Y,
         r.mi, r.nmi, r.ami, median(tc, reps), median(tm, reps));
  print_samples(tt_, reps);
  printf(", \"cpu_median_s\": %.6g, \"median_s\": %.6g}\n", median(cc, reps), median(tt_, reps));
  free(tc), free(tm), free(tt_), free(cc), free(tab), free(da), free(db);
  return 0;
}

static void open_file(const char *path, ieio_info *info) {
  char err[1400];
  if (ieio_open_info(path, info, err, sizeof err)) {
    fprintf(stderr, "infoest-bench-discrete: %s\n", err);
    exit(2);
  }
}

static int count(ie_context *ctx, const char *fx, const char *fy, int64_t X, int64_t Y,
                 int64_t chunk, int reps, int cold) {
  ieio_info ix, iy;
  open_file(fx, &ix);
  open_file(fy, &iy);
  const int64_t N = ix.shape[0], k = iy.ndim == 2 ? iy.shape[1] : 1;
  const ieio_info *infos[2] = {&ix, &iy};
  const size_t row_bytes[2] = {ix.nbytes / (size_t)(N ? N : 1), iy.nbytes / (size_t)(N ? N : 1)};
  int64_t *tab = malloc((size_t)(X * Y) * sizeof *tab);
  int64_t shape[2] = {X, Y}, sx[1], sy[2];
  DLTensor tt, tx, ty;
  memset(&tt, 0, sizeof tt);
  tt.data = tab;
  tt.device.device_type = kDLCPU;
  tt.ndim = 2;
  tt.dtype = (DLDataType){kDLInt, 64, 1};
  tt.shape = shape;
  double *t = calloc((size_t)reps, sizeof *t), *c = calloc((size_t)reps, sizeof *c);
  int64_t total = 0;
  char err[1400];
  for (int r = cold ? 0 : -1; r < reps; r++) { /* r = -1: warm-up */
    memset(tab, 0, (size_t)(X * Y) * sizeof *tab);
    const double t0 = now(), c0 = cpu_now();
    cli_stream *st = NULL;
    cli_chunk ch;
    int got;
    if (stream_open(&st, ctx, infos, row_bytes, 2, 0, N, chunk < N ? chunk : (N ? N : 1), err, sizeof err)) {
      fprintf(stderr, "infoest-bench-discrete: %s\n", err);
      exit(2);
    }
    while ((got = stream_next(st, &ch, err, sizeof err)) != 0) {
      if (got < 0) {
        fprintf(stderr, "infoest-bench-discrete: %s\n", err);
        exit(2);
      }
      sx[0] = ch.nrows, sy[0] = ch.nrows, sy[1] = k;
      memset(&tx, 0, sizeof tx);
      tx.data = ch.data[0], tx.device.device_type = kDLCPU, tx.ndim = 1, tx.dtype = ix.dtype, tx.shape = sx;
      ty = tx;
      ty.data = ch.data[1], ty.ndim = iy.ndim, ty.dtype = iy.dtype, ty.shape = sy;
      if (ie_count_pairs(ctx, &tx, &ty, &tt, NULL) != IE_OK) fail(ctx, "ie_count_pairs");
      stream_release(st, &ch);
    }
    stream_close(st);
    if (r >= 0) t[r] = now() - t0, c[r] = cpu_now() - c0;
  }
  for (int64_t i = 0; i < X * Y; i++) total += tab[i];
  printf("{\"case\": \"count\", \"backend\": \"%s\", \"pairs\": %lld, \"counted\": %lld, "
         "\"bytes\": %llu, \"chunk_rows\": %lld, \"cache\": \"%s\", \"samples\": ",
         ie_backend_name(ie_context_backend(ctx)), (long long)(N * k), (long long)total,
         (unsigned long long)(ix.nbytes + iy.nbytes), (long long)chunk, cold ? "cold" : "warm");
  print_samples(t, reps);
  printf(", \"cpu_median_s\": %.6g, \"median_s\": %.6g}\n", median(c, reps), median(t, reps));
  free(t), free(c), free(tab);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr,
            "usage: infoest-bench-discrete BACKEND broja JOINTS.npy REPEATS\n"
            "       infoest-bench-discrete BACKEND broja-device JOINTS.npy B REPEATS\n"
            "       infoest-bench-discrete BACKEND ami A.npy B.npy X Y REPEATS\n"
            "       infoest-bench-discrete BACKEND count X.npy Y.npy X Y CHUNK REPEATS [cold]\n");
    return 2;
  }
  ie_context_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.backend = !strcmp(argv[1], "cuda") ? IE_BACKEND_CUDA
              : !strcmp(argv[1], "opencl") ? IE_BACKEND_OPENCL
                                           : IE_BACKEND_CPU;
  ie_context *ctx = NULL;
  if (ie_context_create(&ctx, &o) != IE_OK) {
    fprintf(stderr, "infoest-bench-discrete: no %s context: %s\n", argv[1], ctx ? ie_errmsg(ctx) : "");
    ie_context_destroy(ctx);
    return 4;
  }
  int rc = 2;
  if (!strcmp(argv[2], "broja") && argc == 5) rc = broja(ctx, argv[3], atoi(argv[4]));
  else if (!strcmp(argv[2], "broja-device") && argc == 6)
    rc = broja_device(ctx, argv[3], atoll(argv[4]), atoi(argv[5]));
  else if (!strcmp(argv[2], "ami") && argc == 8)
    rc = ami(ctx, argv[3], argv[4], atoll(argv[5]), atoll(argv[6]), atoi(argv[7]));
  else if (!strcmp(argv[2], "count") && (argc == 9 || (argc == 10 && !strcmp(argv[9], "cold"))))
    rc = count(ctx, argv[3], argv[4], atoll(argv[5]), atoll(argv[6]), atoll(argv[7]), atoi(argv[8]), argc == 10);
  else fprintf(stderr, "infoest-bench-discrete: bad arguments (run it without any for usage)\n");
  ie_context_destroy(ctx);
  return rc;
}
