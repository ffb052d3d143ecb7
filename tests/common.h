/*
 * common.h — helpers shared by the Criterion suites: the backends to run,
 * contexts that skip (loudly) when a backend has no device here, DLTensor
 * builders, fp16/bf16 conversion, the vectors manifest, and the docs/SPEC.md §1
 * tolerance.
 */
#ifndef IE_TESTS_COMMON_H
#define IE_TESTS_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "infoest.h"

#include <stdio.h>

/* A message a run must show (a skipped backend, a slow solve).  Not
 * cr_log_warn: Criterion 2.4 turns any warning into exit status 1. */
#define IE_TEST_NOTE(...)                  \
  do {                                     \
    fprintf(stderr, "[NOTE] " __VA_ARGS__); \
    fputc('\n', stderr);                   \
  } while (0)

#ifndef IE_TEST_VECTORS
#  error "IE_TEST_VECTORS (the tests/vectors directory) must be defined"
#endif

/* ---- backends --------------------------------------------------------------- */

/* The backends compiled into this build, CPU first.  Returns the count. */
int tc_backends(ie_backend out[3]);

/* A context on backend b, or cr_skip_test with a message naming the backend
 * and the library's reason when it has no device here.  Any other failure
 * fails the test. */
ie_context *tc_context(ie_backend b);

/* The dtype the suites use for per-row outputs on the last context made by
 * tc_context: f64, or f32 when that backend refuses f64 outputs (the header
 * allows both everywhere; test_errors' rows_f64 test reports the refusal,
 * the other tests then go on with f32 so the numbers are still checked). */
extern DLDataType tc_rowdt;

/* ---- tensors ------------------------------------------------------------------ */

extern const DLDataType TC_F32, TC_F16, TC_BF16, TC_F64, TC_I32, TC_I64, TC_U8;

/* A host tensor.  ndim 1: shape {n0}; ndim 2: {n0, n1} with row stride
 * `stride` (0: strides = NULL, compact).  The struct owns its shape and
 * strides. */
typedef struct {
  DLTensor t;
  int64_t shape[2];
  int64_t strides[2];
} tc_tensor;

void tc_tensor_1d(tc_tensor *x, void *data, DLDataType dt, int64_t n);
void tc_tensor_2d(tc_tensor *x, void *data, DLDataType dt, int64_t rows, int64_t cols,
                  int64_t stride);

size_t tc_dtype_size(DLDataType dt);
uint16_t tc_f32_to_f16(float f);
float tc_f16_to_f32(uint16_t h);
uint16_t tc_f32_to_bf16(float f);
float tc_bf16_to_f32(uint16_t h);
/* Element k of a buffer of dtype dt (float dtypes) as double. */
double tc_get(const void *buf, DLDataType dt, size_t k);
/* Store v into element k (float dtypes). */
void tc_set(void *buf, DLDataType dt, size_t k, double v);

/* ---- tolerance (docs/SPEC.md §1) -------------------------------------------------- */

/* |got - exp| <= 1e-5 |exp| or <= 1e-6; infinities exact; NaN never. */
int tc_close(double got, double exp);
double tc_tol(double exp);

/* ---- the vectors manifest -------------------------------------------------------- */

typedef struct {
  char name[96];
  char op[16];
  char kind[24];
  double alpha, beta, T;
  char p_input[8], q_input[8];
  char dtype_p[8], dtype_q[8];
  int has_ignore;
  int64_t ignore;
  int64_t stride_p, stride_q;
  int64_t rows, cols;
  int exact0;
  char x[128], y[128], labels[128], expect[128];
} tc_case;

/* Parse IE_TEST_VECTORS/MANIFEST.  Returns the number of cases (malloc'd
 * array in *cases), or -1 with a message in err. */
int tc_manifest(tc_case **cases, char *err, size_t errcap);

/* A manifest dtype tag ("f32", "bf16", ...) as a DLDataType; -1 if unknown. */
int tc_dtype_tag(const char *tag, DLDataType *dt);

/* Read IE_TEST_VECTORS/<file> (.npy) into a malloc'd buffer; fills shape,
 * ndim.  Returns 0 or -1 with a message in err. */
int tc_load(const char *file, void **data, int64_t shape[8], int *ndim, char *err,
            size_t errcap);

/* Copy `rows` x `cols` elements of `esz` bytes from a compact buffer into a
 * fresh buffer with row stride `stride` elements; the gaps are filled with
 * `gap_byte`. */
void *tc_restride(const void *src, size_t esz, int64_t rows, int64_t cols, int64_t stride,
                  unsigned char gap_byte);

#endif
