#ifndef IE_FUZZ_FILE_H
#define IE_FUZZ_FILE_H
#include <stddef.h>
#include <stdint.h>

#include "io.h"

/* A per-process scratch directory under /tmp. */
const char *fz_dir(void);
int fz_write(const char *path, const uint8_t *data, size_t size);
/* Open `spec` with the reader and read what it describes. */
void fz_read(const char *spec);
#endif
