#!/usr/bin/env bash
# Everything of docs/RELIABILITY.md, then rewrite it with this run's counts:
#   scripts/sanitize.sh  ASan+UBSan (bad-input matrix, fault-injection sweep,
#                        concurrency), TSan (concurrency), valgrind (command)
#   scripts/fuzz.sh      bounded libFuzzer runs (IE_FUZZ_SECONDS, default 60)
# Needs build/ from scripts/setup.sh (valgrind runs its command).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=$(mktemp)
trap 'rm -f "$COUNTS"' EXIT
export IE_RELIABILITY_COUNTS=$COUNTS
start=$(date +%s)
scripts/sanitize.sh
scripts/fuzz.sh
secs=$(( $(date +%s) - start ))
c() { awk -v p="$1" -v k="$2" '$1 == p && $2 == k { v = $3 } END { print v + 0 }' "$COUNTS"; }
nfunc=$(grep -c 'IE_API' include/infoest.h | tr -d ' ')
cat > docs/RELIABILITY.md <<MD
# Reliability

What was tried against infoest, how much of it, and what held.  **This file
is written by \`scripts/reliability.sh\`** (CI runs it after the test suites);
edit the script, not the file.  Last run: $(date -u +%Y-%m-%d), $(uname -m),
$(nproc) cores, ${secs} s; no GPU (CUDA is compile-only here: its backend is
covered by the same dispatcher hooks but not run).

| what | how much | held |
| --- | --- | --- |
| bad-input matrix (\`tests/test_reliability.c\`), ASan + UBSan | $(c test_reliability functions) public functions, $(c test_reliability backends) backends, $(c test_reliability bad_inputs) bad inputs, $(c test_reliability checks) checks | $(c test_reliability failures) failures |
| fault injection (\`tests/test_faults.c\`), ASan + LeakSanitizer | $(c test_faults inputs_swept) inputs swept, $(c test_faults faults_injected) faults injected in $(c test_faults calls) calls (up to $(c test_faults max_hook_points_per_call) hook points a call) | $(c test_faults failures) failures, no leak |
| concurrency (\`tests/test_threads.c\`), ASan | $(c test_threads threads) threads, own context each, $(c test_threads concurrent_calls) concurrent calls, $(c test_threads op_backend_pairs) op × backend pairs | $(c test_threads failures) failures, bit-identical |
| concurrency under ThreadSanitizer | the same program, CPU | $( [ "$(c test_threads_tsan passed)" = 1 ] && echo "no report" || echo "NOT RUN" ) |
| valgrind memcheck of \`infoest\` | $(c valgrind command_runs) command runs on sample files (valid, NaN, truncated, missing, bad usage) | no error, no definite leak |
| fuzzing \`.npy\` reader | $(c fuzz_npy runs) executions in $(c fuzz_npy seconds) s, $(c fuzz_npy edges) edges | no crash, no leak |
| fuzzing \`.safetensors\` reader | $(c fuzz_safetensors runs) executions in $(c fuzz_safetensors seconds) s, $(c fuzz_safetensors edges) edges | no crash, no leak |
| fuzzing the command line | $(c fuzz_cli runs) executions in $(c fuzz_cli seconds) s, $(c fuzz_cli edges) edges | no crash, no leak, exit status in 0..4 |

(\`include/infoest.h\` declares ${nfunc} IE_API functions; the table of
operations is \`tests/rel_ops.c\`: a new function is one entry there and every
program above covers it.)

## What each run tries

**Bad inputs.**  Every public function, on every backend compiled in, with a
NULL context, a context whose creation failed, and, for each tensor argument:
NULL (where not optional), NULL data, a negative dimension, a leading
dimension of 2^62 and a 2^32 × 2^32 shape (byte size overflows), rank 5 and
rank 0, complex64, float32×4 lanes, int8 and float labels, overlapping rows,
rows running backwards, a last-dimension stride of 2, a misaligned pointer,
memory of kDLCUDA / another OpenCL device / kDLVulkan, a leading dimension
that disagrees with the others, zero-sized dimensions; then each function's
own bad values and options (NaN, ±inf, negative and zero-mass probabilities,
empty rows, labels outside [0, V), every row masked, bad orders, temperatures,
ε, kernels, paths, NULL result pointers, output aliasing the input).  Each
must return its status, set \`ie_errmsg\` to a message that names the call
(and the tensor), leave inputs untouched, leave outputs untouched or NaN
(docs/SPEC.md §1), and the same context's next valid call must be bit-identical to
its first.

**Faults.**  A build with \`-DIE_FAULT_INJECTION=ON\` routes every host
allocation of the dispatcher (\`src/tensor.c\`, \`src/rows.c\`), every backend
allocation and every backend call they make through one atomic hook
(\`src/fault.c\`, \`include/infoest_testing.h\`, not installed; compiled out
otherwise).  For every operation, valid and with each bad value, the sweep
fails hook point n = 1, 2, ... until the call no longer reaches n: the call
must return IE_OUT_OF_MEMORY / IE_BACKEND_FAILURE (or its bad-input status,
found first), with a message, outputs untouched or NaN, and the context must
stay usable.  LeakSanitizer checks every path at exit.

**Threads.**  The header's rule (a context is not thread-safe; distinct
contexts may run at once, also on one device; nothing else is shared but
immutable tables) is tested as stated: each thread its own contexts, all
operations in a different order per thread, valid and failing calls mixed.

## Known gaps and suppressions

- The fault hook covers every host allocation and every backend call of
  the dispatcher (\`src/*.c\`: staging, the row families, Sinkhorn, the
  spectral measures and kNN).  \`ie_knn\` is swept with its distances
  output (its int64 index output is not in the table of outputs checked).
- Allocations inside a backend (\`src/cpu\`, \`src/opencl\`) are covered only as
  the backend call that contains them fails.
- TSan: OpenMP is limited to one thread a call (libgomp is not instrumented)
  and OpenCL is left out (PoCL's threads are not instrumented); both run
  concurrently under ASan.
- \`fuzz/valgrind.supp\`: one entry, the dynamic loader's word-wise strncmp
  over RUNPATH strings (\`is_dst\`, glibc 2.36) during dlopen in CUDA builds.
- \`fuzz/ubsan.supp\` is empty.  \`fuzz/lsan.supp\`: PoCL / ICD loader
  allocations held for the process's life, by library name only.
- The command-line fuzzer runs in a scratch directory, refuses arguments
  holding '/', and leaves out \`demo\`.
MD
echo "docs/RELIABILITY.md written"
