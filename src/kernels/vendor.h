/*
 * vendor.h — the few words in which CUDA C++ and OpenCL C differ, so that the
 * GPU math of src/kernels/ is written once (as hashcat's inc_vendor.h does for
 * CUDA, HIP and OpenCL).
 *
 * Every kernel file of src/kernels/ is compiled twice (and the plain helpers a
 * third time, as host C for the CPU backend):
 *  - by the CUDA module, as CUDA C++: a .cu file of src/cuda/ includes it and
 *    launches its kernels;
 *  - by the OpenCL module, as OpenCL C 1.2: cmake/embed.cmake inlines its
 *    #include "..." lines and embeds the text; the program is built per
 *    context.  The same lines therefore run on PoCL in every CI run.
 *
 * Rules for kernel sources:
 *  - C only: no templates, references, classes or overloading of our own;
 *    a kernel specialised on a constant is a KERNEL wrapper that calls a
 *    FN body with that constant (both compilers fold it).
 *  - Pointers to device memory are written `GLOBAL T *`; local (shared)
 *    memory is declared in the kernel with LOCAL_ARRAY and passed to helper
 *    functions as `LOCAL T *`.
 *  - Fixed-width integers are ie_i32, ie_u32, ie_i64, ie_u64 (OpenCL C has no
 *    <stdint.h>); the exact-width aliases below are the same types.
 *  - Floating point is float and double (double needs cl_khr_fp64 on
 *    OpenCL; every device the project supports has it); math functions are
 *    the overloaded names (exp, log, log1p, expm1, fabs, fmax, sqrt, ...),
 *    which both languages provide for float and double.
 *  - Where CUDA has a faster primitive (warp shuffles) and OpenCL 1.2 has
 *    none, the shared helper is written for both under IE_KERNEL_CUDA, with
 *    the same order of operations, so both give the same bits.
 */
#ifndef IE_KERNELS_VENDOR_H
#define IE_KERNELS_VENDOR_H

#if defined(__CUDACC__)
/* ---- CUDA C++ ---------------------------------------------------------------- */
#define IE_KERNEL_CUDA 1
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <math.h>
#include <float.h>

typedef int ie_i32;
typedef unsigned int ie_u32;
typedef long long ie_i64;
typedef unsigned long long ie_u64;
typedef unsigned char ie_u8;
typedef unsigned short ie_u16;

#define KERNEL extern "C" __global__
#define FN static __device__ __forceinline__
/* A helper that the launchers' host code calls too (scratch sizes). */
#define FN_BOTH static __host__ __device__ __forceinline__
#define GLOBAL
#define LOCAL
#define CONSTANT static __device__ const
#define LOCAL_ARRAY(type, name, n) __shared__ type name[n]
#define BARRIER() __syncthreads()

#define LOCAL_ID() ((ie_i64)threadIdx.x)
#define LOCAL_SIZE() ((ie_i64)blockDim.x)
#define GROUP_ID() ((ie_i64)blockIdx.x)
#define NUM_GROUPS() ((ie_i64)gridDim.x)
#define GLOBAL_ID() ((ie_i64)blockIdx.x * blockDim.x + threadIdx.x)
#define GLOBAL_SIZE() ((ie_i64)gridDim.x * blockDim.x)

#define AS_FLOAT(u) __uint_as_float(u)
#define AS_UINT(f) __float_as_uint(f)
#define AS_DOUBLE(u) __longlong_as_double((long long)(u))
#define AS_ULONG(d) ((ie_u64)__double_as_longlong(d))

/* Element i of a half array, and its store rounded to nearest even. */
#define LOAD_HALF(i, p) __half2float(((const __half *)(p))[i])
/* Four floats at p + i in one 128-bit load (p + i 16-byte aligned); .x .. .w */
#define LOAD_F4(p, i) (*(const float4 *)((p) + (i)))
#define ADDR_BITS(p) ((ie_u64)(size_t)(p))
#define STORE_HALF(v, i, p) (((__half *)(p))[i] = __float2half_rn(v))

/* 64-bit integer atomic add on device memory (counts). */
#define ATOMIC_ADD_U64(p, v) atomicAdd((unsigned long long *)(p), (unsigned long long)(v))
#define ATOMIC_ADD_U32(p, v) atomicAdd((unsigned int *)(p), (unsigned int)(v))
/* 32-bit signed atomic minimum on device memory (first bad row). */
#define ATOMIC_MIN_I32(p, v) atomicMin((int *)(p), (int)(v))
/* *p = max(*p, v), unsigned 64-bit. */
#define ATOMIC_MAX_U64(p, v) atomicMax((unsigned long long *)(p), (unsigned long long)(v))

#define IE_INFINITY_F __int_as_float(0x7f800000)
#define IE_INFINITY (__longlong_as_double(0x7ff0000000000000LL))
/* the canonical quiet NaNs, the bits NAN has on the host and in OpenCL C */
#define IE_NAN_F __int_as_float(0x7fc00000)
#define IE_NAN (__longlong_as_double(0x7ff8000000000000LL))

#elif !defined(__OPENCL_VERSION__)
/* ---- Host C (or C++) ------------------------------------------------------------ */
/* The plain helpers of src/kernels/ (final formulas, heaps, pass terms) are also
 * compiled into host code (the CPU backend) so that it shares them; kernels
 * (KERNEL, LOCAL_ARRAY, BARRIER, ids) are not available here. */
#define IE_KERNEL_HOST 1
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <float.h>

typedef int32_t ie_i32;
typedef uint32_t ie_u32;
typedef int64_t ie_i64;
typedef uint64_t ie_u64;
typedef uint8_t ie_u8;
typedef uint16_t ie_u16;

#define FN static inline
#define FN_BOTH static inline
#define GLOBAL
#define LOCAL
#define CONSTANT static const

static inline float ie__as_float(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
static inline uint32_t ie__as_uint(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static inline double ie__as_double(uint64_t u) { double d; memcpy(&d, &u, sizeof d); return d; }
static inline uint64_t ie__as_ulong(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }
#define AS_FLOAT(u) ie__as_float(u)
#define AS_UINT(f) ie__as_uint(f)
#define AS_DOUBLE(u) ie__as_double(u)
#define AS_ULONG(d) ie__as_ulong(d)

#define IE_INFINITY_F INFINITY
#define IE_INFINITY ((double)INFINITY)
#define IE_NAN_F NAN
#define IE_NAN ((double)NAN)

#else
/* ---- OpenCL C 1.2 ------------------------------------------------------------- */
#define IE_KERNEL_OPENCL 1
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#ifdef cl_khr_int64_base_atomics
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
#endif

typedef int ie_i32;
typedef uint ie_u32;
typedef long ie_i64;
typedef ulong ie_u64;
typedef uchar ie_u8;
typedef ushort ie_u16;

#define KERNEL __kernel
#define FN static inline
#define FN_BOTH static inline
#define GLOBAL __global
#define LOCAL __local
#define CONSTANT __constant
#define LOCAL_ARRAY(type, name, n) __local type name[n]
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)

#define LOCAL_ID() ((ie_i64)get_local_id(0))
#define LOCAL_SIZE() ((ie_i64)get_local_size(0))
#define GROUP_ID() ((ie_i64)get_group_id(0))
#define NUM_GROUPS() ((ie_i64)get_num_groups(0))
#define GLOBAL_ID() ((ie_i64)get_global_id(0))
#define GLOBAL_SIZE() ((ie_i64)get_global_size(0))

#define AS_FLOAT(u) as_float(u)
#define AS_UINT(f) as_uint(f)
#define AS_DOUBLE(u) as_double(u)
#define AS_ULONG(d) as_ulong(d)

#define LOAD_HALF(i, p) vload_half((i), (GLOBAL const half *)(p))
#define LOAD_F4(p, i) vload4(0, (p) + (i))
#define ADDR_BITS(p) ((ie_u64)(size_t)(p))
#define STORE_HALF(v, i, p) vstore_half_rte((v), (i), (GLOBAL half *)(p))

#define ATOMIC_ADD_U64(p, v) atom_add((volatile GLOBAL ulong *)(p), (ulong)(v))
#define ATOMIC_ADD_U32(p, v) atomic_add((volatile GLOBAL uint *)(p), (uint)(v))
#define ATOMIC_MIN_I32(p, v) atomic_min((volatile GLOBAL int *)(p), (int)(v))
#ifdef cl_khr_int64_base_atomics
/* *p = max(*p, v), unsigned 64-bit, by compare-and-swap (the base 64-bit
 * atomics have no max). */
static inline void ie__atom_max_u64(volatile GLOBAL ulong *p, ulong v) {
  ulong old = *p;
  while (old < v) {
    const ulong prev = atom_cmpxchg(p, old, v);
    if (prev == old) break;
    old = prev;
  }
}
#define ATOMIC_MAX_U64(p, v) ie__atom_max_u64((volatile GLOBAL ulong *)(p), (ulong)(v))
#endif

#define IE_INFINITY_F INFINITY
#define IE_INFINITY ((double)INFINITY)
#define IE_NAN_F NAN
#define IE_NAN ((double)NAN)

#endif

#endif /* IE_KERNELS_VENDOR_H */
