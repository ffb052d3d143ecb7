/*
 * What the files of infoest-bench share (private to bench/).  The method, the
 * byte conventions and the roofs are described at the top of main.c.
 *
 *   main.c          options, --list, the run over backends, die/xmalloc
 *   timing.c        the timing rule (warm-up, repeats), medians and quartiles
 *   roofs_cpu.c     the CPU read / copy bandwidth roofs and the SGEMM roof
 *   roofs_device.c  the CUDA and OpenCL roofs, the bench's OpenCL handle
 *   tensors.c       DLTensor helpers, device-resident copies of the inputs
 *   rows.c          the row ops on logits (OPS x SIZES)
 *   compute.c       the compute-bound cases (CCASES) and their run
 *   sinkhorn.c, knn.c, spectral.c   one compute family each
 *   peer_inputs.c   the .npy inputs saved for bench/peers (--save-inputs)
 *   output.c        the table lines and JSON records for bench/report.py
 */
#ifndef IE_BENCH_H
#define IE_BENCH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "infoest.h"

#ifdef IE_BENCH_CUDA
#include <cuda_runtime.h>
#endif
#ifdef IE_BENCH_OPENCL
#include <CL/cl.h>
#endif

/* ---- main.c: options, failure ------------------------------------------------ */

enum { MAX_REPS = 2000 };

typedef enum { MODE_HOST = 0, MODE_DEVICE = 1 } mode;

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

/* Prints "infoest-bench: <message>" to stderr and exits with status 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* 64-byte aligned; dies when out of memory. */
void *xmalloc(size_t n);
/* Whether NAME is one of the comma-separated names in LIST. */
int name_listed(const char *list, const char *name);

/* ---- timing.c ------------------------------------------------------------------ */

typedef struct {
  double med, min, max, q1, q3; /* seconds */
  int reps;
} timing;

/* One warm-up call, then calls until `reps` calls and `min_time` seconds (at
 * most 64): for the roofs. */
void time_plain(void (*f)(void *), void *arg, int reps, double min_time, timing *t);
/* The rule for a library call (see main.c); a call over `once_over_s` seconds
 * (0: no such limit) is timed once, its warm-up being the one sample.
 * IE_OK and *t filled, else the failing status. */
ie_status time_calls(ie_status (*call)(void *), void *arg, const options *o, double once_over_s,
                     timing *t);
/* CLOCK_MONOTONIC in seconds. */
double now_seconds(void);
/* *t from n samples (seconds; sorted in place). */
void timing_of(double *samples, int n, timing *t);
/* Peak resident memory in MiB since the last peak_rss_reset; -1 where unknown. */
void peak_rss_reset(void);
double peak_rss_mib(void);

/* ---- roofs_cpu.c, roofs_device.c ------------------------------------------------ */

/* exp: e^x of floats a second (G/s), the arithmetic bound of the logits
 * ops (KL takes two a pair), measured on the CPU only. */
typedef enum { ROOF_READ, ROOF_COPY, ROOF_H2D, ROOF_GEMM, ROOF_EXP, ROOF_COUNT } roof_kind;
extern const char *const ROOF_NAMES[ROOF_COUNT];

typedef struct {
  double gbps[ROOF_COUNT]; /* GB/s (gemm: GFLOP/s, exp: G exp/s); 0 = not measured */
  timing t[ROOF_COUNT];
  double bytes[ROOF_COUNT];
  char note[ROOF_COUNT][160];
  char method[ROOF_COUNT][24];   /* the loop that gave the roof ("" = the only one) */
  char methods[ROOF_COUNT][256]; /* every loop tried and its rate */
} roofs;

/* Times f (time_plain) as roof k of `amount` bytes (gemm: FLOP), with its note. */
void time_roof(roofs *r, roof_kind k, void (*f)(void *), void *arg, int reps, double min_time,
               double amount, const char *note_fmt, ...) __attribute__((format(printf, 8, 9)));
/* The last-level cache size (64 MiB where the system does not say). */
size_t llc_bytes(void);
void measure_cpu_roofs(roofs *r, const options *o);
/* The read or copy roof (k) of `bytes` (a copy's: read + written), timed as
 * measure_cpu_roofs times its own on buffers of that size: the roof of a
 * figure that reads or copies those bytes.  The read loops ran 52, 42 and
 * 37 GB/s over 66, 131 and 263 MB against 35.5 over 512 MiB (2-core Zen 4
 * VM, 32 MiB L3): more of a smaller buffer stays in the L3 between passes.
 * GB/s (0: another k); method: the best loop's name. */
double cpu_roof_at(roof_kind k, double bytes, int reps, char *method, size_t method_size);
/* The CPU read roof's loops (measure_cpu_roofs' methods this CPU runs) on a
 * buffer of their own of `bytes` (0: the roofs' own size), for timing one
 * read at a time between other calls (run_rows' alternating rounds). */
typedef struct cpu_read_roof cpu_read_roof;
cpu_read_roof *cpu_read_roof_open(size_t bytes);
int cpu_read_roof_count(const cpu_read_roof *h);
const char *cpu_read_roof_name(const cpu_read_roof *h, int i);
/* One read of the whole buffer by loop i: its bytes (*seconds: the time). */
double cpu_read_roof_once(cpu_read_roof *h, int i, double *seconds);
void cpu_read_roof_close(cpu_read_roof *h);
/* The roofs of backend b; env: the ocl_env of an OpenCL backend (else NULL). */
void measure_roofs(ie_backend b, const options *o, roofs *r, void *env);

#ifdef IE_BENCH_CUDA
#define CU_OK(call)                                                                \
  do {                                                                             \
    cudaError_t e_ = (call);                                                       \
    if (e_ != cudaSuccess) die("%s failed: %s (%s:%d)", #call, cudaGetErrorString(e_), \
                               __FILE__, __LINE__);                               \
  } while (0)
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

int ocl_open(ocl_env *e, ie_context *lib);
void ocl_close(ocl_env *e);
#endif

/* ---- fixed-seed random numbers (inline: every input maker uses them) ------------ */

static inline uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/* Uniform on (0, 1). */
static inline double unif(uint64_t *s) {
  return ((splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
/* N(0, 1) by Box–Muller (one of the pair). */
static inline double gauss(uint64_t *s) {
  double u1 = unif(s), u2 = unif(s);
  return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- rows.c: the row ops on logits -------------------------------------------- */

typedef enum { DT_F32 = 0, DT_BF16 = 1 } bdtype;
extern const char *const DT_NAMES[];
size_t dt_size(bdtype d);

typedef struct {
  const char *set;
  int64_t rows, cols;
  bdtype dt;
  int plot_only; /* only ops with in_plot */
} size_desc;

typedef struct {
  int64_t rows, cols;
  bdtype dt;
  void *p, *q;      /* host, rows x cols of dt */
  int64_t *labels;  /* host, rows */
} host_data;

/* Prints every op (and its group) of OPS[] to f (for --list). */
void list_row_ops(FILE *f);
/* How many of OPS[] --op selects. */
int count_row_ops(const options *o);
/* The inputs of the selected sizes, for the peers: one file per (cols, dtype)
 * at the largest row count of the chosen set. */
void save_row_inputs(const options *o);
/* Times the selected ops and sizes of backend b against roofs r0 (env: as
 * measure_roofs). */
void run_rows(ie_backend b, ie_context *ctx, const options *o, const roofs *r0, void *env);

/* ---- tensors.c ------------------------------------------------------------------ */

typedef struct {
  void *p, *q, *out, *per_row, *labels; /* host pointers or device handles */
  DLDevice dev;
} buffers;

/* Device-resident copies of the inputs (the five buffers of `buffers`). */
typedef struct {
  ie_backend backend;
  int device;
  void *handles[5];
#ifdef IE_BENCH_OPENCL
  ocl_env *ocl;
#endif
} devmem;

void set_tensor(DLTensor *t, void *data, DLDevice dev, DLDataType dt, int ndim, int64_t *shape);
/* A host tensor of dtype (code, bits). */
void host_tensor(DLTensor *t, void *data, int code, int bits, int ndim, int64_t *shape);
/* Whether this build can make device memory for backend b. */
int device_mode_available(ie_backend b);
/* Put copies of the host inputs (first `rows` rows) in device memory; 0 and
 * the reason in why when it cannot. */
int dev_upload(devmem *m, buffers *b, const host_data *h, int64_t rows, char *why, size_t whycap);
void dev_free(devmem *m);

/* ---- compute.c and the families (sinkhorn.c, knn.c, spectral.c) ---------------- */

typedef enum {
  CF_SINKHORN, CF_SINKHORN_BATCH, CF_KNN, CF_KSG, CF_VENDI, CF_VENDI_BATCH,
  CF_VENDI_RBF, /* Vendi q = 1, rbf kernel, σ in `eps` */
  CF_KNN_DIV,   /* Wang–Kulkarni–Verdú kNN KL divergence of two sets x [n, d], y [m, d] */
  CF_SINKHORN_F32 /* CF_SINKHORN with single_precision (float32 tiles on a GPU) */
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

typedef struct {
  ie_context *ctx;
  const compute_case *c;
  cinputs *in;
  DLTensor t[6];
  int64_t sh[6][3];
} ccall;

/* What a family does with its cases. */
typedef struct {
  /* Fixed-seed inputs into *in (zeroed), from the seed *s. */
  void (*make)(const compute_case *c, cinputs *in, uint64_t *s);
  /* The inputs the peers load (peer_inputs.c's save_matrix). */
  void (*save)(const char *dir, const compute_case *c, const cinputs *in);
  /* The tensors of a->t over a->in. */
  void (*bind)(ccall *a);
  /* The one library call that is timed. */
  ie_status (*call)(ccall *a);
  /* FLOP of a call for the GEMM roof (0: no roof applies), its model in words. */
  double (*flop)(const compute_case *c, const char **model);
  /* What the call returned, in words for the table (check) and as a number
   * for the peers; *iters where the family iterates. */
  double (*check)(const compute_case *c, const cinputs *in, double peak_mib, char *check,
                  size_t cap, int64_t *iters);
} compute_family;

extern const compute_family SINKHORN_FAMILY, KNN_FAMILY, SPECTRAL_FAMILY;

/* Prints the standard set's cases to f (for --list). */
void list_compute_cases(FILE *f);
/* How many of CCASES[] --op selects (any size set). */
int count_compute_cases(const options *o);
/* The inputs of the selected cases, for the peers. */
void save_compute_inputs(const options *o);
void run_compute(ie_backend b, ie_context *ctx, const options *o, const roofs *r0);

/* ---- peer_inputs.c -------------------------------------------------------------- */

/* dir/<case>_<set>_<what>.npy: a float32 [r0, r1] matrix of case c. */
void save_matrix(const char *dir, const compute_case *c, const char *what, const float *data,
                 int64_t r0, int64_t r1);
/* dir/{p,q,labels}_<cols>_<dtype>.npy: the inputs of the row ops. */
void save_host_data(const char *dir, const host_data *h);

/* ---- output.c ------------------------------------------------------------------- */

/* The --json file (NULL: no JSON). */
extern FILE *g_json;
void json_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* JSON string escaping for the few free-text fields (messages, names). */
const char *jstr(const char *s, char *buf, size_t cap);
void emit_roofs(const char *backend, const char *device, const roofs *r, const char *when);
void emit_skip(const char *backend, const char *what, const char *why);
/* The "machine" line and record. */
void machine_record(void);

#endif
