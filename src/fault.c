/*
 * fault.c — the test-only fault-injection hook (see include/infoest_testing.h
 * and src/internal.h).  Compiled to nothing unless IE_FAULT_INJECTION is
 * defined (CMake -DIE_FAULT_INJECTION=ON).
 *
 * One process-wide, lock-free counter: every hook point (a host allocation
 * of the dispatcher, a backend allocation, a backend call) takes the next
 * number; the armed number fails once.  Contexts on other threads share the
 * counter, so a sweep runs single-threaded; the counter itself is safe to
 * hit from any number of threads.
 */
#ifdef IE_FAULT_INJECTION

#include <stdatomic.h>

#include "internal.h"
#include "infoest_testing.h"

static atomic_long fault_seen;   /* hook points passed since arming */
static atomic_long fault_target; /* the one to fail; <= 0: none */
static atomic_int fault_fired;

int ie__fault(void) {
  long k = atomic_fetch_add_explicit(&fault_seen, 1, memory_order_relaxed) + 1;
  long t = atomic_load_explicit(&fault_target, memory_order_relaxed);
  if (t > 0 && k == t) {
    atomic_store_explicit(&fault_fired, 1, memory_order_relaxed);
    return 1;
  }
  return 0;
}

void ie_testing_fail_after(long n) {
  atomic_store(&fault_target, 0);
  atomic_store(&fault_seen, 0);
  atomic_store(&fault_fired, 0);
  atomic_store(&fault_target, n > 0 ? n : 0);
}

long ie_testing_fault_count(void) { return atomic_load(&fault_seen); }

int ie_testing_fault_fired(void) { return atomic_load(&fault_fired); }

int ie_testing_enabled(void) { return 1; }

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int ie__fault_injection_off;
#endif
