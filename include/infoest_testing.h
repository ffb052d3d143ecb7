/*
 * infoest_testing.h — TEST-ONLY hooks.  Not installed, not part of the API.
 *
 * Present only in builds configured with -DIE_FAULT_INJECTION=ON; a normal
 * build has none of these symbols and pays nothing for them.
 *
 * Every host allocation of the dispatcher (src/tensor.c, src/rows.c), every
 * backend allocation and every backend call they make passes one hook with a
 * process-wide atomic counter.  After ie_testing_fail_after(n), the n-th hook
 * point from then on fails once: an allocation as IE_OUT_OF_MEMORY, any other
 * backend call as IE_BACKEND_FAILURE (message "injected fault: ...").  The
 * same hook covers the CPU, CUDA and OpenCL backends.
 */
#ifndef INFOEST_TESTING_H
#define INFOEST_TESTING_H

#include "infoest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Arm: reset the counter; the n-th hook point from now fails (n <= 0: none
 * fails, the counter still counts). */
IE_API void ie_testing_fail_after(long n);
/* Hook points passed since the last ie_testing_fail_after. */
IE_API long ie_testing_fault_count(void);
/* 1 if the armed fault has fired since the last ie_testing_fail_after. */
IE_API int ie_testing_fault_fired(void);
/* 1 (the symbol exists only in fault-injection builds). */
IE_API int ie_testing_enabled(void);

#ifdef __cplusplus
}
#endif
#endif
