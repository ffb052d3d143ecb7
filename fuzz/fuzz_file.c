/* fuzz_file.c — shared by the reader targets: the input as a file. */
#include "fuzz_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fz_write(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = size ? fwrite(data, 1, size, f) : 0;
  int bad = fclose(f) != 0 || w != size;
  return bad ? -1 : 0;
}

const char *fz_dir(void) {
  static char dir[64];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/dev/shm/ie-fuzz-%ld", (long)getpid());
    char cmd[128];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd) != 0) abort();
  }
  return dir;
}

void fz_read(const char *spec) {
  ieio_info info;
  char err[512];
  if (ieio_open_info(spec, &info, err, sizeof err) != 0) {
    if (strlen(err) == 0) abort(); /* every failure has a message */
    return;
  }
  void *all = NULL;
  if (info.nbytes <= (64u << 20) && ieio_read_all(&info, &all, err, sizeof err) == 0) {
    free(all);
    /* and a row window, the way the command streams */
    if (info.ndim >= 1 && info.shape[0] > 0 && info.nbytes / (uint64_t)info.shape[0] <= (1u << 20)) {
      void *row = malloc((size_t)(info.nbytes / (uint64_t)info.shape[0]) + 1);
      if (ieio_read_rows(&info, info.shape[0] - 1, 1, row, err, sizeof err) != 0 && !err[0]) abort();
      free(row);
    }
  }
}
