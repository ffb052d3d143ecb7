/*
 * widen.h — element i of a float array of any of the library's float dtypes
 * (the codes of ie_dtype in src/backend.h), widened: to double
 * (widen_load, every dtype; needs fp64 on OpenCL) or to float (widen_load_f:
 * f32, f16, bf16, all exactly).  Used by the kernels that take a caller's
 * tensor of any dtype into double or float work (sinkhorn.cl, spectral.cl).
 */
#ifndef IE_KERNELS_WIDEN_H
#define IE_KERNELS_WIDEN_H

#include "vendor.h"

#define WIDEN_F32 0
#define WIDEN_F16 1
#define WIDEN_BF16 2
#define WIDEN_F64 3

#ifndef IE_KERNEL_HOST
FN float widen_load_f(GLOBAL const ie_u8 *base, ie_i64 i, int dt)
{
  if (dt == WIDEN_F16) return LOAD_HALF(i, base);
  if (dt == WIDEN_BF16) return AS_FLOAT((ie_u32)((GLOBAL const ie_u16 *)base)[i] << 16);
  return ((GLOBAL const float *)base)[i];
}

#if !defined(IE_KERNEL_OPENCL) || defined(cl_khr_fp64)
FN double widen_load(GLOBAL const ie_u8 *base, ie_i64 i, int dt)
{
  if (dt == WIDEN_F64) return ((GLOBAL const double *)base)[i];
  return (double)widen_load_f(base, i, dt);
}
#endif
#endif /* !IE_KERNEL_HOST */

#endif /* IE_KERNELS_WIDEN_H */
