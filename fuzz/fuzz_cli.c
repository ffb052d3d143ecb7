/*
 * fuzz_cli.c — the `infoest` command line, parsed and run: the input is the
 * argument list, one argument a line (after the program name).  The
 * command's main() is compiled as ie_cli_main (fuzz/CMakeLists.txt).
 *
 * Safety of the harness itself: it works in a scratch directory holding
 * small sample arrays (p.npy, q.npy, probs.npy, labels.npy, x.npy,
 * t.safetensors), and refuses arguments holding '/' so that no --out can
 * write outside it; `demo` (every family on every backend, seconds a run) is
 * left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

int ie_cli_main(int argc, char **argv);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_npy(const char *name, DLDataType dt, int ndim, const int64_t *shape, const void *d) {
  char err[256];
  if (ieio_write_npy(name, dt, ndim, shape, d, err, sizeof err) != 0) {
    fprintf(stderr, "fuzz_cli: %s\n", err);
    abort();
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char dir[64];
  snprintf(dir, sizeof dir, "/dev/shm/ie-fuzz-cli-%ld", (long)getpid());
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
  if (system(cmd) != 0 || chdir(dir) != 0) abort();
  float p[12], q[12], pr[12], x[24];
  for (int i = 0; i < 12; i++) {
    p[i] = (float)((i * 7) % 5) - 2.0f;
    q[i] = (float)((i * 3) % 4) - 1.5f;
    pr[i] = 0.1f + (float)(i % 3);
  }
  for (int i = 0; i < 24; i++) x[i] = (float)((i * 5) % 7) / 3.0f;
  int64_t lab[4] = {0, 2, 1, 2};
  const DLDataType f32 = {kDLFloat, 32, 1}, i64 = {kDLInt, 64, 1};
  int64_t s43[2] = {4, 3}, s4[1] = {4}, s83[2] = {8, 3};
  put_npy("p.npy", f32, 2, s43, p);
  put_npy("q.npy", f32, 2, s43, q);
  put_npy("probs.npy", f32, 2, s43, pr);
  put_npy("labels.npy", i64, 1, s4, lab);
  put_npy("x.npy", f32, 2, s83, x);
  /* t.safetensors: "logits" F32 [4, 3] and "labels" I64 [4] */
  const char hdr[] =
      "{\"logits\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]},"
      "\"labels\":{\"dtype\":\"I64\",\"shape\":[4],\"data_offsets\":[48,80]}}";
  uint64_t hl = sizeof hdr - 1;
  FILE *f = fopen("t.safetensors", "wb");
  if (!f) abort();
  unsigned char le[8];
  for (int i = 0; i < 8; i++) le[i] = (unsigned char)(hl >> (8 * i));
  fwrite(le, 1, 8, f);
  fwrite(hdr, 1, hl, f);
  fwrite(p, 4, 12, f);
  fwrite(lab, 8, 4, f);
  if (fclose(f) != 0) abort();
  return 0;
}

enum { MAXARGS = 24, MAXLEN = 512 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *argv[MAXARGS + 2];
  int argc = 0;
  argv[argc++] = strdup("infoest");
  size_t i = 0;
  int ok = 1;
  while (i <= size && argc < MAXARGS + 1) {
    const uint8_t *nl = memchr(data + i, '\n', size - i);
    size_t end = nl ? (size_t)(nl - data) : size;
    size_t len = end - i;
    if (len > MAXLEN || memchr(data + i, '/', len) || memchr(data + i, 0, len)) {
      ok = 0;
      break;
    }
    char *w = malloc(len + 1);
    memcpy(w, data + i, len);
    w[len] = 0;
    argv[argc++] = w;
    if (!nl) break;
    i = end + 1;
  }
  if (ok && argc >= 2 && strcmp(argv[1], "demo") == 0) ok = 0;
  argv[argc] = NULL;
  if (ok) {
    int rc = ie_cli_main(argc, argv);
    if (rc < 0 || rc > 4) abort(); /* docs/SPEC.md §7: exit statuses 0..4 */
  }
  for (int k = 0; k < argc; k++) free(argv[k]);
  return 0;
}
