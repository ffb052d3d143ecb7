/*
 * spectral_terms.h — the entries of a similarity matrix (docs/SPEC.md §6) from
 * a Gram entry, shared by every backend: the CPU's (host C) and the GPUs'
 * (spectral.cl: CUDA C++, OpenCL C).  The arithmetic is in spec_real:
 * double, except on an OpenCL device without cl_khr_fp64 (float).
 */
#ifndef IE_KERNELS_SPECTRAL_TERMS_H
#define IE_KERNELS_SPECTRAL_TERMS_H

#include "vendor.h"

#if defined(IE_KERNEL_OPENCL) && !defined(cl_khr_fp64)
typedef float spec_real;
#else
typedef double spec_real;
#endif

/* The codes of src/backend.h's ie_rowerr_code and infoest.h's ie_kernel
 * (the backends check that they agree). */
#define SPEC_ROW_NONFINITE 1
#define SPEC_ROW_EMPTY 3
#define SPEC_COSINE 0
#define SPEC_RBF 1

/* Kernel value of entry (a, b) (diag: a == b) from its Gram entry g and the
 * squared norms sqa, sqb: rbf exp(−γ max(0, ‖x_a‖² + ‖x_b‖² − 2g)) with an
 * exact 1 on the diagonal; cosine (rows already normalised) g, with the
 * primal diagonal exactly 1 (x̂·x̂); the dual (feature) Gram as it is. */
FN spec_real spec_kernel_value(int rbf, int dual, int diag, spec_real g, spec_real sqa,
                               spec_real sqb, spec_real gamma)
{
  if (rbf) {
    const spec_real d2 = sqa + sqb - 2 * g;
    return diag ? (spec_real)1 : exp(-gamma * (d2 > 0 ? d2 : (spec_real)0));
  }
  return !dual && diag ? (spec_real)1 : g;
}

/* Entry (a, b) of a given K made symmetric and scaled: scale·½(K_ab + K_ba). */
FN spec_real spec_given_value(spec_real scale, spec_real kab, spec_real kba)
{
  return scale * (spec_real)0.5 * (kab + kba);
}

#endif /* IE_KERNELS_SPECTRAL_TERMS_H */
