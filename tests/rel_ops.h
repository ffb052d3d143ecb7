/*
 * rel_ops.h — the reliability suites' table of every public operation
 * (test_reliability.c, test_faults.c, test_threads.c).
 *
 * Each entry knows how to build a small valid call (its tensor "slots" and
 * options), how to make it, and which bad values it must refuse.  The suites
 * apply generic mutations to every slot (NULL, bad dtype, negative or
 * overflowing shape, overlapping or backward strides, misalignment, wrong
 * device) and the entry's own bad values, so a new function is one more
 * entry here.  Plain C (no Criterion) so that the programs run cleanly under
 * ThreadSanitizer and LeakSanitizer.
 */
#ifndef IE_TESTS_REL_OPS_H
#define IE_TESTS_REL_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "infoest.h"

#define RO_MAX_SLOTS 8
#define RO_MAX_DIM 5

typedef struct {
  const char *name; /* the tensor's name in the call (messages name it) */
  int output;       /* the call writes it */
  int optional;     /* NULL is a valid argument */
  int linked;       /* its leading dimension must agree with another slot's */
  int is_null;      /* pass NULL for it */
  DLTensor t;
  int64_t shape[RO_MAX_DIM], strides[RO_MAX_DIM];
  void *data;   /* malloc'd, with slack */
  size_t bytes; /* of the compact tensor */
  void *orig;   /* the initial bytes (inputs: must not change) */
} ro_slot;

typedef struct ro_case {
  ie_context *ctx;
  int nslots;
  ro_slot slot[RO_MAX_SLOTS];
  /* options of every family; an entry uses its own */
  ie_softmax_options sm;
  ie_entropy_options en;
  ie_nll_options nl;
  ie_divergence_options dv;
  ie_divergence_kind div_kind;
  ie_vendi_options vo;
  ie_matrix_entropy_options mo;
  ie_sinkhorn_options so;
  /* struct outputs (host) */
  ie_summary summary;
  int use_summary;
  ie_spectral_result sres;
  int sres_null;
  ie_sinkhorn_result skres[4];
  int skres_null;
  ie_knn_options ko;
  ie_knn_estimator_options keo;
  ie_knn_divergence_method kdiv;
  int64_t kk; /* ie_knn's k */
  ie_knn_result kres;
  int kres_null;
} ro_case;

/* A bad value (or option) the entry must refuse with `expect`.  slot >= 0:
 * element `elem` of that slot is set to `value` (float or integer slots);
 * `tweak` (may be NULL) changes options.  expect < 0: any status is allowed
 * (the point is: no crash, no leak, a message when it fails). */
typedef struct {
  const char *what;
  int slot;
  int64_t elem;
  double value;
  void (*tweak)(ro_case *c);
  int expect;
} ro_bad;

typedef struct {
  const char *name; /* the public function */
  void (*setup)(ro_case *c);
  ie_status (*call)(ro_case *c);
  const ro_bad *bad;
  int nbad;
} ro_op;

extern const ro_op ro_ops[];
extern const int ro_nops;

/* Build entry `op` on ctx (fresh buffers, outputs filled with the sentinel). */
void ro_setup(const ro_op *op, ro_case *c, ie_context *ctx);
void ro_free(ro_case *c);
/* Refill outputs with the sentinel and struct outputs with sentinel bytes. */
void ro_reset_outputs(ro_case *c);
/* Recompute a slot's DLTensor from its shape (compact strides). */
void ro_relayout(ro_slot *s);

/* The call's results (output slots and struct outputs) as bytes, for
 * bit-identical comparisons.  Returns a malloc'd buffer and its size. */
void *ro_results(const ro_case *c, size_t *n);

/* 1 if no output holds a plausible partial result: every output element is
 * the sentinel or NaN, and every struct output is untouched or NaN.  Fills
 * why[] otherwise. */
int ro_outputs_clean(const ro_case *c, char *why, size_t cap);
/* 1 if every input slot still holds its initial bytes. */
int ro_inputs_unchanged(const ro_case *c);

/* The dtype size of a DLDataType (0 for nonsense). */
size_t ro_dtype_size(DLDataType dt);

/* Report counts: prints "COUNT key value" and appends it to the file named
 * by $IE_RELIABILITY_COUNTS when set. */
void ro_count(const char *prog, const char *key, long long value);

#endif
