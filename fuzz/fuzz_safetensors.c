/* fuzz_safetensors.c — the .safetensors reader (cli/io_safetensors.c).  The
 * input's first line is the tensor name asked for; the rest is the file. */
#include <stdio.h>
#include <string.h>

#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size < 200 ? size : 200);
  char name[256] = "t";
  if (nl) {
    size_t k = (size_t)(nl - data);
    memcpy(name, data, k);
    name[k] = 0;
    if (strlen(name) != k) return 0; /* a NUL in the name: not expressible */
    size -= k + 1;
    data = nl + 1;
  }
  char path[128], spec[512];
  snprintf(path, sizeof path, "%s/in.safetensors", fz_dir());
  snprintf(spec, sizeof spec, "%s:%s", path, name);
  if (fz_write(path, data, size) == 0) fz_read(spec);
  return 0;
}
