/* fuzz_npy.c — the .npy reader (cli/io_npy.c) on arbitrary file contents. */
#include <stdio.h>

#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[128];
  snprintf(path, sizeof path, "%s/in.npy", fz_dir());
  if (fz_write(path, data, size) == 0) fz_read(path);
  return 0;
}
