/*
 * infoest_opencl.h — OpenCL-only extras of infoest: run on the caller's
 * command queue, and reach the context's OpenCL objects so a caller can make
 * kDLOpenCL tensors for it.
 *
 * An OpenCL context (ie_context_options.backend = IE_BACKEND_OPENCL) owns one
 * cl_context for one device and one in-order command queue.  Devices are
 * numbered (ie_context_options.device) as follows: first every GPU of every
 * platform, platforms in clGetPlatformIDs order and devices in clGetDeviceIDs
 * order; then every other device (CPU, accelerator, custom) in the same
 * order.  The kernels run on any OpenCL 1.2 device; the program is built once
 * per context, on the first call that needs it.
 *
 * A kDLOpenCL DLTensor given to an OpenCL context has `data` set to a cl_mem
 * (cast to void *) made on the context's cl_context, and `byte_offset` the
 * offset of element 0 in that buffer.
 *
 *   ie_context *ctx;
 *   ie_context_options o = {.size = sizeof o, .backend = IE_BACKEND_OPENCL};
 *   ie_context_create(&ctx, &o);
 *   cl_context clctx; cl_device_id dev;
 *   ie_opencl_get_context(ctx, &clctx, &dev, NULL);
 *   cl_mem buf = clCreateBuffer(clctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
 *   DLTensor t = {buf, {kDLOpenCL, 0}, 2, dtype, shape, NULL, 0};
 *
 * Every call returns when its results are complete (it waits for the queue),
 * except in the asynchronous mode (infoest.h, "Asynchronous mode"), where the
 * row family's calls on device tensors return once their work is enqueued.
 */
#ifndef INFOEST_OPENCL_H
#define INFOEST_OPENCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

#include "infoest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Make the context run its work on `queue`, the caller's command queue, from
 * now on; NULL goes back to the context's own queue.  The queue must be
 * in-order and made on the context's cl_context and device (see
 * ie_opencl_get_context); otherwise IE_INVALID_ARGUMENT.  The context retains
 * the queue and releases it when another is set or the context is destroyed.
 * The work already enqueued on the previous queue is waited for first (calls
 * pending in the asynchronous mode stay pending: ie_synchronize reports
 * them).  IE_INVALID_ARGUMENT also when ctx is not an OpenCL context. */
IE_API ie_status ie_opencl_set_queue(ie_context *ctx, cl_command_queue queue);

/* The context's cl_context, device and current command queue (any pointer may
 * be NULL).  They are not retained: they stay valid until the context is
 * destroyed (the queue, until another is set).  IE_INVALID_ARGUMENT when ctx
 * is not an OpenCL context. */
IE_API ie_status ie_opencl_get_context(const ie_context *ctx, cl_context *context,
                                       cl_device_id *device, cl_command_queue *queue);

#ifdef __cplusplus
}
#endif
#endif /* INFOEST_OPENCL_H */
