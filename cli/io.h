/*
 * io.h — array files for the command and the tests: .npy (versions 1–3) and
 * .safetensors.  Not part of the library's public API (the library takes
 * DLTensors; files are the command's business).
 *
 * Every failure returns non-zero and writes a message that names the file,
 * the tensor and the fault into `err` (e.g. "logits.npy: header says 1000 x
 * 50257 float32 (201 MB) but the file holds 4096 bytes of data").  Nothing
 * is ever half-returned: on failure the output struct is zeroed.
 */
#ifndef IE_CLI_IO_H
#define IE_CLI_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <dlpack/dlpack.h>

#define IEIO_MAX_NDIM 8

typedef struct {
  char path[1024];     /* the file */
  char name[256];      /* tensor name (safetensors), "" for .npy */
  DLDataType dtype;    /* kDLFloat 16/32/64, kDLBfloat 16, kDLInt 32/64, kDLUInt 8, kDLBool 8 */
  int ndim;
  int64_t shape[IEIO_MAX_NDIM];
  uint64_t data_offset; /* byte offset of element 0 in the file */
  uint64_t nbytes;      /* bytes of data = prod(shape) * itemsize */
} ieio_info;

/* Parse the header of "FILE.npy" or "FILE.safetensors:TENSOR" and check that
 * the file really holds the bytes the header promises.  0 on success;
 * IEIO_CANNOT_OPEN when the file cannot be opened (missing, no permission:
 * an I/O failure); -1 for anything wrong with the file itself. */
#define IEIO_CANNOT_OPEN (-2)
int ieio_open_info(const char *spec, ieio_info *info, char *err, size_t errcap);

/* Read rows [row0, row0 + nrows) of the tensor (rows = first dimension) into
 * `dst`, which must hold nrows * (row bytes).  Reads exactly; a short read is
 * an error naming the file. */
int ieio_read_rows(const ieio_info *info, int64_t row0, int64_t nrows,
                   void *dst, char *err, size_t errcap);

/* Whole tensor into a fresh malloc'd buffer (caller frees). */
int ieio_read_all(const ieio_info *info, void **data, char *err, size_t errcap);

/* Fill a DLTensor (host, compact) describing `data` with `info`'s dtype and
 * shape; `shape` must point at storage that outlives the tensor. */
void ieio_as_dltensor(const ieio_info *info, void *data, int64_t *shape,
                      DLTensor *t);

/* Writing .npy (version 1, C order), in streaming form: begin with the full
 * shape, append rows, finish.  The data goes to "PATH.tmp.XXXXXX" and is
 * renamed to PATH only by ieio_writer_finish; ieio_writer_abort removes it, so
 * a failed run never leaves a file that looks finished. */
typedef struct ieio_writer ieio_writer;
int ieio_writer_begin(ieio_writer **w, const char *path, DLDataType dtype,
                      int ndim, const int64_t *shape, char *err, size_t errcap);
int ieio_writer_append(ieio_writer *w, const void *data, size_t nbytes,
                       char *err, size_t errcap);
int ieio_writer_finish(ieio_writer *w, char *err, size_t errcap); /* frees w */
void ieio_writer_abort(ieio_writer *w);                            /* frees w */

/* One file written by several processes (MPI ranks), each its own rows:
 * one process begins it (ieio_writer_begin, with the whole shape) and hands
 * the others ieio_writer_tmp_path and ieio_writer_data_offset; they open the
 * same temporary file with ieio_writer_join.  ieio_writer_range points a
 * writer's appends at data bytes [first, first + nbytes) (positioned
 * writes); ieio_writer_close flushes and closes (the range must be whole).
 * When every process has closed without failure, the one that began it
 * renames the file into place with ieio_writer_commit; on any failure it
 * removes it with ieio_writer_abort (a joined writer's abort only closes). */
const char *ieio_writer_tmp_path(const ieio_writer *w);
uint64_t ieio_writer_data_offset(const ieio_writer *w);
int ieio_writer_join(ieio_writer **w, const char *path, const char *tmp,
                     uint64_t data_offset, char *err, size_t errcap);
void ieio_writer_range(ieio_writer *w, uint64_t first, uint64_t nbytes);
int ieio_writer_close(ieio_writer *w, char *err, size_t errcap);
int ieio_writer_commit(ieio_writer *w, char *err, size_t errcap); /* frees w */
/* A temporary name for PATH ("PATH.tmp.XXXXXX", random) chosen before the
 * file exists, so that other processes can know it first (and remove it if
 * the one that makes it dies); ieio_writer_begin_as makes exactly that file
 * (O_EXCL: failing if it exists) and otherwise is ieio_writer_begin.
 * ieio_tmp_name returns -1 when cap < strlen(path) + 12. */
int ieio_tmp_name(const char *path, char *tmp, size_t cap);
int ieio_writer_begin_as(ieio_writer **w, const char *path, const char *tmp, DLDataType dtype,
                         int ndim, const int64_t *shape, char *err, size_t errcap);

/* Write a whole array as .npy at once (same temporary-then-rename rule). */
int ieio_write_npy(const char *path, DLDataType dtype, int ndim,
                   const int64_t *shape, const void *data, char *err,
                   size_t errcap);

#endif
