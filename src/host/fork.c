/*
 * fork.c — the process the library was loaded in.  GNU OpenMP's thread team
 * does not survive fork(): in a child of a process whose OpenMP regions ran,
 * the first region waits forever for threads that the child does not have.
 * So the library's regions run on one thread in any process forked after
 * the library was loaded (ie__threads, src/threads.h), as PyTorch's do;
 * worker processes that want threads of their own start with spawn or
 * forkserver instead.
 */
#include <unistd.h>

#include "threads.h"

pid_t ie__load_pid;

__attribute__((constructor)) static void note_load_pid(void) { ie__load_pid = getpid(); }
