/*
 * io_write.c — writing .npy (version 1, C order: with at most 8 dimensions
 * the header always fits version 1's 64 KiB).  The data goes to "PATH.tmp.XXXXXX" in PATH's
 * directory (so the final rename is atomic on one file system) and becomes
 * PATH only in ieio_writer_finish; ieio_writer_abort and every failure
 * remove the temporary file.
 */
#define _FILE_OFFSET_BITS 64
#define _POSIX_C_SOURCE 200809L

#include "io_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

struct ieio_writer {
  int fd;
  char *path; /* final */
  char *tmp;  /* temporary */
  uint64_t expect, written;
  uint64_t data_offset; /* where the data starts: the header's size */
  int positioned;       /* appends are pwrite()s at data_offset + at */
  uint64_t at;
  int joined;           /* opened another's temporary file: abort only closes */
};

static const char *npy_descr(DLDataType t) {
  if (t.lanes != 1) return NULL;
  switch (t.code) {
  case kDLFloat:
    return t.bits == 16 ? "<f2" : t.bits == 32 ? "<f4" : t.bits == 64 ? "<f8" : NULL;
  case kDLInt:
    return t.bits == 8 ? "|i1" : t.bits == 16 ? "<i2" : t.bits == 32 ? "<i4" : t.bits == 64 ? "<i8" : NULL;
  case kDLUInt:
    return t.bits == 8 ? "|u1" : t.bits == 16 ? "<u2" : t.bits == 32 ? "<u4" : t.bits == 64 ? "<u8" : NULL;
  case 6: /* kDLBool */
    return t.bits == 8 ? "|b1" : NULL;
  default:
    return NULL; /* bfloat16 has no .npy dtype */
  }
}

static int write_all(int fd, const void *data, size_t n) {
  const unsigned char *p = data;
  while (n > 0) {
    size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
    ssize_t w = write(fd, p, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (w == 0) {
      errno = EIO;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void writer_free(ieio_writer *w) {
  if (!w) return;
  free(w->path);
  free(w->tmp);
  free(w);
}

/* "PATH.tmp.XXXXXX" with a random suffix into tmp (cap >= strlen(path) + 12). */
static void tmp_name(const char *path, char *tmp, size_t cap, unsigned long *seed) {
  static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  char suf[7];
  for (int k = 0; k < 6; k++) {
    *seed = *seed * 6364136223846793005ul + 1442695040888963407ul;
    suf[k] = al[(*seed >> 33) % (sizeof al - 1)];
  }
  suf[6] = 0;
  snprintf(tmp, cap, "%s.tmp.%s", path, suf);
}

static unsigned long name_seed(const void *salt) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (unsigned long)getpid() * 2654435761ul ^ (unsigned long)ts.tv_sec ^
         (unsigned long)ts.tv_nsec * 40503ul ^ (unsigned long)(uintptr_t)salt;
}

int ieio_tmp_name(const char *path, char *tmp, size_t cap) {
  if (!path || !tmp || cap < strlen(path) + 12) return -1;
  unsigned long seed = name_seed(tmp);
  tmp_name(path, tmp, cap, &seed);
  return 0;
}

int ieio_writer_begin(ieio_writer **out, const char *path, DLDataType dtype, int ndim,
                      const int64_t *shape, char *err, size_t errcap) {
  return ieio_writer_begin_as(out, path, NULL, dtype, ndim, shape, err, errcap);
}

int ieio_writer_begin_as(ieio_writer **out, const char *path, const char *tmp, DLDataType dtype,
                         int ndim, const int64_t *shape, char *err, size_t errcap) {
  if (!out) {
    ieio__errf(err, errcap, "ieio_writer_begin: NULL writer pointer");
    return -1;
  }
  *out = NULL;
  if (!path || (ndim > 0 && !shape)) {
    ieio__errf(err, errcap, "ieio_writer_begin: NULL argument");
    return -1;
  }
  if (ndim < 0 || ndim > IEIO_MAX_NDIM) {
    ieio__errf(err, errcap, "%s: cannot write %d dimensions (0 .. %d)", path, ndim,
               IEIO_MAX_NDIM);
    return -1;
  }
  const char *descr = npy_descr(dtype);
  if (!descr) {
    ieio__errf(err, errcap, "%s: dtype (code %u, %u bits) has no .npy equivalent%s", path,
               dtype.code, dtype.bits,
               dtype.code == kDLBfloat ? " (bfloat16: convert to float32 first)" : "");
    return -1;
  }
  uint64_t count = 1, nbytes;
  char shp[IEIO_MAX_NDIM * 24 + 8];
  size_t o = 0;
  shp[o++] = '(';
  for (int k = 0; k < ndim; k++) {
    if (shape[k] < 0 || ieio__mul_u64(count, (uint64_t)shape[k], &count) != 0 ||
        count > (uint64_t)INT64_MAX) {
      ieio__errf(err, errcap, "%s: bad shape (negative or overflowing dimension)", path);
      return -1;
    }
    o += (size_t)snprintf(shp + o, sizeof shp - o, "%s%lld", k ? ", " : "", (long long)shape[k]);
  }
  if (ndim == 1) shp[o++] = ',';
  shp[o++] = ')';
  shp[o] = 0;
  if (ieio__mul_u64(count, ieio__dtype_size(dtype), &nbytes) != 0 ||
      nbytes > (uint64_t)INT64_MAX) {
    ieio__errf(err, errcap, "%s: data size overflows 64 bits", path);
    return -1;
  }

  /* Header: magic, version, length, dict, spaces, '\n'; total % 64 == 0. */
  char dict[512];
  int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                    descr, shp);
  if (dl < 0 || (size_t)dl >= sizeof dict) {
    ieio__errf(err, errcap, "%s: header too long", path);
    return -1;
  }
  size_t pre = 10;
  size_t total = (pre + (size_t)dl + 1 + 63) / 64 * 64;
  size_t hlen = total - pre;
  unsigned char hdr[640];
  memcpy(hdr, "\x93NUMPY", 6);
  hdr[6] = 1;
  hdr[7] = 0;
  hdr[8] = (unsigned char)(hlen & 0xFF);
  hdr[9] = (unsigned char)(hlen >> 8);
  memcpy(hdr + pre, dict, (size_t)dl);
  memset(hdr + pre + dl, ' ', hlen - (size_t)dl - 1);
  hdr[total - 1] = '\n';

  ieio_writer *w = calloc(1, sizeof *w);
  size_t plen = strlen(path), tcap = tmp ? strlen(tmp) + 1 : plen + 32;
  if (w) {
    w->fd = -1;
    w->path = malloc(plen + 1);
    w->tmp = malloc(tcap);
  }
  if (!w || !w->path || !w->tmp) {
    writer_free(w);
    ieio__errf(err, errcap, "%s: out of memory", path);
    return -1;
  }
  memcpy(w->path, path, plen + 1);
  /* Our own unique suffix with O_EXCL (so the file mode follows the umask,
   * unlike mkstemp's 0600); or exactly the name given. */
  if (tmp) {
    memcpy(w->tmp, tmp, tcap);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
  } else {
    unsigned long seed = name_seed(w);
    for (int attempt = 0; attempt < 100 && w->fd < 0; attempt++) {
      tmp_name(path, w->tmp, tcap, &seed);
      w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
      if (w->fd < 0 && errno != EEXIST) break;
    }
  }
  if (w->fd < 0) {
    ieio__errf(err, errcap, "%s: cannot create a temporary file beside it: %s", path,
               strerror(errno));
    writer_free(w);
    return -1;
  }
  if (write_all(w->fd, hdr, total) != 0) {
    ieio__errf(err, errcap, "%s: cannot write: %s", w->tmp, strerror(errno));
    ieio_writer_abort(w);
    return -1;
  }
  w->expect = nbytes;
  w->written = 0;
  w->data_offset = total;
  *out = w;
  return 0;
}

static int pwrite_all(int fd, const void *data, size_t n, uint64_t off) {
  const char *p = data;
  while (n > 0) {
    ssize_t k = pwrite(fd, p, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n, (off_t)off);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (k == 0) {
      errno = EIO;
      return -1;
    }
    p += k;
    n -= (size_t)k;
    off += (uint64_t)k;
  }
  return 0;
}

const char *ieio_writer_tmp_path(const ieio_writer *w) { return w ? w->tmp : NULL; }
uint64_t ieio_writer_data_offset(const ieio_writer *w) { return w ? w->data_offset : 0; }

int ieio_writer_join(ieio_writer **out, const char *path, const char *tmp, uint64_t data_offset,
                     char *err, size_t errcap) {
  *out = NULL;
  ieio_writer *w = calloc(1, sizeof *w);
  size_t plen = strlen(path), tlen = strlen(tmp);
  if (w) {
    w->fd = -1;
    w->path = malloc(plen + 1);
    w->tmp = malloc(tlen + 1);
  }
  if (!w || !w->path || !w->tmp) {
    writer_free(w);
    ieio__errf(err, errcap, "%s: out of memory", path);
    return -1;
  }
  memcpy(w->path, path, plen + 1);
  memcpy(w->tmp, tmp, tlen + 1);
  w->joined = 1;
  w->data_offset = data_offset;
  w->fd = open(tmp, O_WRONLY);
  if (w->fd < 0) {
    ieio__errf(err, errcap, "%s: cannot open the temporary file %s: %s", path, tmp, strerror(errno));
    writer_free(w);
    return -1;
  }
  *out = w;
  return 0;
}

void ieio_writer_range(ieio_writer *w, uint64_t first, uint64_t nbytes) {
  w->positioned = 1;
  w->at = first;
  w->expect = nbytes;
  w->written = 0;
}

int ieio_writer_close(ieio_writer *w, char *err, size_t errcap) {
  if (w->written != w->expect) {
    ieio__errf(err, errcap, "%s: only %llu of %llu data bytes were written", w->path,
               (unsigned long long)w->written, (unsigned long long)w->expect);
    return -1;
  }
  int fd = w->fd;
  w->fd = -1;
  if (fd < 0) return 0;
  if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    ieio__errf(err, errcap, "%s: cannot flush: %s", w->tmp, strerror(errno));
    close(fd);
    return -1;
  }
  if (close(fd) != 0) {
    ieio__errf(err, errcap, "%s: cannot close: %s", w->tmp, strerror(errno));
    return -1;
  }
  return 0;
}

int ieio_writer_commit(ieio_writer *w, char *err, size_t errcap) {
  if (w->joined || w->fd >= 0) {
    ieio__errf(err, errcap, "%s: internal error: commit of a %s writer", w->path,
               w->joined ? "joined" : "still open");
    ieio_writer_abort(w);
    return -1;
  }
  if (rename(w->tmp, w->path) != 0) {
    ieio__errf(err, errcap, "%s: cannot rename %s into place: %s", w->path, w->tmp, strerror(errno));
    ieio_writer_abort(w);
    return -1;
  }
  writer_free(w);
  return 0;
}

int ieio_writer_append(ieio_writer *w, const void *data, size_t nbytes, char *err,
                       size_t errcap) {
  if (!w) {
    ieio__errf(err, errcap, "ieio_writer_append: NULL writer");
    return -1;
  }
  if (nbytes == 0) return 0;
  if (!data) {
    ieio__errf(err, errcap, "%s: ieio_writer_append: NULL data", w->path);
    return -1;
  }
  if (nbytes > w->expect - w->written) {
    ieio__errf(err, errcap, "%s: appending %zu bytes would exceed the %llu bytes the shape holds",
               w->path, nbytes, (unsigned long long)w->expect);
    return -1;
  }
  if ((w->positioned ? pwrite_all(w->fd, data, nbytes, w->data_offset + w->at + w->written)
                     : write_all(w->fd, data, nbytes)) != 0) {
    ieio__errf(err, errcap, "%s: cannot write: %s", w->tmp, strerror(errno));
    return -1;
  }
  w->written += nbytes;
  return 0;
}

int ieio_writer_finish(ieio_writer *w, char *err, size_t errcap) {
  if (!w) {
    ieio__errf(err, errcap, "ieio_writer_finish: NULL writer");
    return -1;
  }
  if (w->written != w->expect) {
    ieio__errf(err, errcap, "%s: only %llu of %llu data bytes were written; file not created",
               w->path, (unsigned long long)w->written, (unsigned long long)w->expect);
    ieio_writer_abort(w);
    return -1;
  }
  int fd = w->fd;
  w->fd = -1;
  if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    ieio__errf(err, errcap, "%s: cannot flush: %s", w->tmp, strerror(errno));
    close(fd);
    ieio_writer_abort(w);
    return -1;
  }
  if (close(fd) != 0) {
    ieio__errf(err, errcap, "%s: cannot close: %s", w->tmp, strerror(errno));
    ieio_writer_abort(w);
    return -1;
  }
  if (rename(w->tmp, w->path) != 0) {
    ieio__errf(err, errcap, "%s: cannot rename %s into place: %s", w->path, w->tmp,
               strerror(errno));
    ieio_writer_abort(w);
    return -1;
  }
  writer_free(w);
  return 0;
}

void ieio_writer_abort(ieio_writer *w) {
  if (!w) return;
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  if (w->tmp && !w->joined) unlink(w->tmp);
  writer_free(w);
}

int ieio_write_npy(const char *path, DLDataType dtype, int ndim, const int64_t *shape,
                   const void *data, char *err, size_t errcap) {
  ieio_writer *w;
  if (ieio_writer_begin(&w, path, dtype, ndim, shape, err, errcap) != 0) return -1;
  uint64_t n = w->expect;
  if (n > SIZE_MAX) {
    ieio__errf(err, errcap, "%s: too large for this machine", path);
    ieio_writer_abort(w);
    return -1;
  }
  if (ieio_writer_append(w, data, (size_t)n, err, errcap) != 0) {
    ieio_writer_abort(w);
    return -1;
  }
  return ieio_writer_finish(w, err, errcap);
}
