/*
 * discrete_private.h — PRIVATE to the discrete-information dispatcher
 * (src/discrete.c, src/discrete_pid.c): a tensor of any rank viewed as the
 * compact matrix [product of the leading dimensions, last dimension].
 */
#ifndef IE_DISCRETE_PRIVATE_H
#define IE_DISCRETE_PRIVATE_H

#include "internal.h"

typedef struct {
  DLTensor flat;     /* the 2-D view handed to ie__check_matrix */
  int64_t shape[2];
  int ndim;          /* of the caller's tensor */
  int64_t dims[8];   /* its shape */
  ie__arg a;         /* the checked view */
} ie__disc_tensor;

/* Check `t` (min_nd..max_nd dimensions, compact row-major, one of `dtypes`,
 * memory usable by ctx) and fill v.  v must not move while v->a is used. */
ie_status ie__disc_view(ie_context *ctx, ie__disc_tensor *v, const char *fn, const char *name,
                        const DLTensor *t, int min_nd, int max_nd, unsigned dtypes);

#endif
