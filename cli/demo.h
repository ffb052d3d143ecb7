/*
 * demo.h — PRIVATE to `infoest demo` (cmd_demo.c and the demo_*.c files):
 * the built-in data, the table of operations, the per-backend measurement.
 */
#ifndef IE_CLI_DEMO_H
#define IE_CLI_DEMO_H

#include "cmd.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Data (demo_data.c) ---------------------------------------------------------- */

/* Sizes of the sample-based families: small, so that the demo stays within
 * a few seconds on the CPU. */
#define FAM_VENDI_N 500
#define FAM_VENDI_D 64
#define FAM_SINK_N 200
#define FAM_SINK_D 4
#define FAM_SINK_EPS 1.0
#define FAM_KNN_N 2000
#define FAM_KNN_D 4
#define FAM_KNN_K 5

typedef struct {
  int64_t B, V, masked_cols;
  uint64_t seed;
  float *p, *q;
  int32_t *labels;
  /* the sample-based families */
  float *vx;         /* [FAM_VENDI_N, FAM_VENDI_D]: 16 clusters, so the score is far from n */
  float *sa, *sb;    /* [FAM_SINK_N] weights */
  float *sx, *sy;    /* [FAM_SINK_N, FAM_SINK_D] point clouds, y shifted */
  float *kx;         /* [FAM_KNN_N, FAM_KNN_D] correlated Gaussian */
} demo_data;

/* Fill d (B, V and seed set) with the data described in demo_data.c. */
int demo_make_data(demo_data *d);
/* A host DLTensor over `data`. */
void demo_tensor2(DLTensor *t, void *data, int64_t *shape, int ndim, DLDataType dt);

/* ---- Operations (demo_ops.c) ------------------------------------------------------ */

enum { D_LSM, D_ENT, D_NLL, D_DIV, D_VENDI, D_MENT, D_SINK, D_KNN_ENT };
#define IS_FAMILY(op) ((op) >= D_VENDI) /* one value from sample sets */

typedef struct {
  const char *family; /* "log-softmax", "entropy", ..., "vendi", "sinkhorn", "knn-entropy" */
  const char *variant;
  const char *label;  /* for the table */
  int op;
  ie_entropy_kind ek;
  ie_divergence_kind dk;
  double alpha;
} demo_op;

extern const demo_op demo_ops[];
extern const int demo_nops;

/* Run `op` on the first `rows` rows of the data. */
ie_status demo_run_op(ie_context *ctx, const demo_op *op, const demo_data *d, int64_t rows, void *out, int row_f32, ie_summary *sm);
/* The bytes `op` reads and writes, for GB/s. */
size_t demo_op_bytes(const demo_op *op, const demo_data *d);

/* ---- Backends and results (demo_measure.c) ---------------------------------------- */

typedef struct {
  ie_backend b;
  int available;
  int selected;
  ie_context *ctx;
  int row_f32; /* the backend writes per-row values as float32 only */
  char device[256];
  char reason[512];
} demo_backend;

typedef struct {
  int ran;       /* attempted */
  int ok;        /* succeeded */
  int unsupported; /* the backend has no such operation (not a failure) */
  char err[512];
  double value;  /* mean over rows (log-softmax: mean finite log-probability) */
  double maxrel; /* vs CPU; 0 for the CPU itself */
  int within;
  double ms;     /* median */
  int reps;
  double gbps;
} demo_result;

#define TOL 1e-5

/* |x - r| / max(|r|, 0.1), the measure held against TOL. */
double demo_rel_err(double x, double r);
/* Warm up, then time `op` on be, filling res. */
void demo_measure(demo_backend *be, const demo_op *op, const demo_data *d, void *out, demo_result *res);

#endif
