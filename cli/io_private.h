/*
 * io_private.h — helpers shared by the io_*.c files (defined in io_npy.c,
 * except ieio__st_open in io_safetensors.c).  Not for the command.
 */
#ifndef IE_CLI_IO_PRIVATE_H
#define IE_CLI_IO_PRIVATE_H

#include "io.h"

void ieio__errf(char *err, size_t errcap, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
size_t ieio__dtype_size(DLDataType t);
const char *ieio__dtype_name(DLDataType t);
int ieio__pread_all(int fd, void *dst, uint64_t nbytes, uint64_t offset);
int ieio__mul_u64(uint64_t a, uint64_t b, uint64_t *out);
int ieio__st_open(const char *path, const char *name, ieio_info *info,
                  char *err, size_t errcap);

#endif
