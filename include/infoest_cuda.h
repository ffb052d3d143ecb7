/*
 * infoest_cuda.h — CUDA-only extras for infoest.
 *
 * A CUDA context runs all its work on one stream, state on the context (as
 * in cuBLAS).  By default that is the legacy default stream (stream 0): work
 * is ordered after whatever the caller queued on it or on any blocking
 * stream, and a call returns when its results are complete.  A caller with
 * its own stream sets it here; the library then queues on that stream (and
 * still waits for it before returning, as every infoest call does outside
 * the asynchronous mode of infoest.h, where the row family's calls on device
 * tensors return once their work is enqueued).
 *
 * The context makes its own device current for the duration of a call and
 * puts the caller's current device back before returning.
 *
 * Include after infoest.h's dependencies; needs cuda_runtime_api.h.
 */
#ifndef INFOEST_CUDA_H
#define INFOEST_CUDA_H

#include <cuda_runtime_api.h>
#include "infoest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Make `stream` the stream of a CUDA context (0 restores the default).  The
 * stream must belong to the context's device (IE_INVALID_ARGUMENT names the
 * two devices otherwise) and outlive the calls that run on it: in the
 * asynchronous mode, until ie_synchronize, or until the switch to another
 * stream, which waits for the work still pending on the old one.  With no
 * call pending, neither the switch nor ie_context_destroy touches the old
 * stream, so it may already be gone (a framework's stream, set for one
 * call).  IE_INVALID_ARGUMENT if ctx is NULL or not a CUDA context. */
IE_API ie_status ie_cuda_set_stream(ie_context *ctx, cudaStream_t stream);

/* The stream a CUDA context works on.  IE_INVALID_ARGUMENT if ctx or stream
 * is NULL or ctx is not a CUDA context. */
IE_API ie_status ie_cuda_get_stream(const ie_context *ctx,
                                    cudaStream_t *stream);

#ifdef __cplusplus
}
#endif
#endif /* INFOEST_CUDA_H */
