/*
 * ocl.h — PRIVATE to src/opencl: the OpenCL backend's state and helpers.
 */
#ifndef IE_OCL_H
#define IE_OCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

#include "../backend.h"
#include "../host/host.h"

extern const ie_backend_ops ie__opencl_ops;

/* The row kernels of src/kernels/rows.cl, made once per context. */
enum {
  IE_K_ROWS_P1_LSE,
  IE_K_ROWS_P1_SHANNON,
  IE_K_ROWS_P1_POWER,
  IE_K_ROWS_P1_NLL,
  IE_K_ROWS_P1_PAIR,
  IE_K_ROWS_FINISH,
  IE_K_ROWS_STATS,
  IE_K_ROWS_P2,
  IE_K_ROWS_FINISH_TERMS,
  IE_K_ROWS_SOFTMAX_OUT,
  IE_K_ROWS_FILL_ONES,
  IE_K_ROWS_OUTCOME, /* NULL on a device without cl_khr_int64_base_atomics */
  IE_K_COUNT
};

/* Device scratch of the row kernels (slots IE_WS_ROWS + these of the
 * context's workspace, src/host/workspace.c; the MAUVE and discrete
 * launchers reuse them): chunk states and their errors, row statistics and
 * errors, pass-2 sums, row values. */
enum { IE_S_PART, IE_S_PERR, IE_S_RS, IE_S_RERR, IE_S_PART2, IE_S_VAL, IE_S_COUNT };

typedef struct {
  cl_device_id device;
  cl_context context;
  cl_command_queue own_queue; /* made at open */
  cl_command_queue queue;     /* own_queue or the caller's (retained) */
  int is_gpu, fp64;
  char name[400];

  int built; /* program and kernels below are valid */
  cl_program program;
  cl_kernel k[IE_K_COUNT];
  size_t wg;         /* work-group size of the row kernels (power of two) */
  size_t max_groups; /* cap on work-groups a launch (they loop over teams) */
  /* The kNN and Sinkhorn families' kernels, made on first use and kept
   * (src/opencl/knn.c, src/opencl/sinkhorn.c): a warm call creates nothing. */
  cl_kernel knn_k[12];
  cl_kernel sk_k[18];

} ie_ocl;

/* Record a failed OpenCL call on ctx: "clXxx failed: CL_NAME (src/opencl/f.c:N)". */
ie_status ie__cl_fail(ie_context *ctx, const char *call, cl_int err,
                      const char *file, int line);
#define IE_CL_FAIL(ctx, call, err) ie__cl_fail((ctx), (call), (err), __FILE__, __LINE__)
/* Run an OpenCL call returning cl_int; return the status on failure. */
#define IE_CL_TRY(ctx, call, expr)                                          \
  do {                                                                      \
    cl_int ie__e = (expr);                                                  \
    if (ie__e != CL_SUCCESS) return IE_CL_FAIL(ctx, call, ie__e);           \
  } while (0)

/* Build the program and kernels if not yet built. */
ie_status ie__ocl_build(ie_context *ctx, ie_ocl *s);
/* Scratch slot `which` (IE_S_*) of the workspace, of at least `bytes`. */
ie_status ie__ocl_scratch(ie_context *ctx, ie_ocl *s, int which, size_t bytes,
                          cl_mem *out);
/* The workspace's host slot IE_WSH_ROWS, of at least `bytes`. */
ie_status ie__ocl_host(ie_context *ctx, ie_ocl *s, size_t bytes, void **out);

/* ops entries of ocl_rows.c */
ie_status ie__ocl_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                          int log_out, double inv_temp, ie_rowerr *err);
ie_status ie__ocl_rows(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                       const ie_mat *y, const ie_vec *labels, double *val,
                       ie_rowerr *err);
ie_status ie__ocl_fill_nan(ie_context *ctx, const ie_mat *m);
ie_status ie__ocl_rows_device(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                              const ie_mat *y, const ie_vec *labels, const ie_rows_sink *sink);
ie_status ie__ocl_softmax_device(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                                 int log_out, double inv_temp, const ie_rows_sink *sink);

#endif
