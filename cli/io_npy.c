/*
 * io_npy.c — .npy headers (versions 1, 2, 3), the entry point
 * ieio_open_info (which hands "FILE.safetensors[:TENSOR]" to
 * io_safetensors.c), reading rows with 64-bit offsets, and the helpers the
 * other io_*.c files share (declared again at the top of each of them).
 *
 * Paranoia: every length read from a file is checked against the file's
 * size before it is used; every product is checked for overflow; nothing
 * is read outside the bytes the file holds.
 */
#define _FILE_OFFSET_BITS 64
#define _POSIX_C_SOURCE 200809L

#include "io_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>



void ieio__errf(char *err, size_t errcap, const char *fmt, ...) {
  if (!err || errcap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errcap, fmt, ap);
  va_end(ap);
}

size_t ieio__dtype_size(DLDataType t) {
  if (t.lanes != 1) return 0;
  switch (t.code) {
  case kDLFloat:
    return (t.bits == 16 || t.bits == 32 || t.bits == 64) ? t.bits / 8u : 0;
  case kDLBfloat:
    return t.bits == 16 ? 2 : 0;
  case kDLInt:
  case kDLUInt:
    return (t.bits == 8 || t.bits == 16 || t.bits == 32 || t.bits == 64)
               ? t.bits / 8u
               : 0;
  case 6: /* kDLBool (DLPack >= 0.8) */
    return t.bits == 8 ? 1 : 0;
  default:
    return 0;
  }
}

const char *ieio__dtype_name(DLDataType t) {
  if (ieio__dtype_size(t) == 0) return "unsupported";
  switch (t.code) {
  case kDLFloat:
    return t.bits == 16 ? "float16" : t.bits == 32 ? "float32" : "float64";
  case kDLBfloat:
    return "bfloat16";
  case kDLInt:
    return t.bits == 8 ? "int8" : t.bits == 16 ? "int16" : t.bits == 32 ? "int32" : "int64";
  case kDLUInt:
    return t.bits == 8 ? "uint8" : t.bits == 16 ? "uint16" : t.bits == 32 ? "uint32" : "uint64";
  case 6:
    return "bool";
  default:
    return "unsupported";
  }
}

int ieio__mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
  if (a != 0 && b > UINT64_MAX / a) return -1;
  *out = a * b;
  return 0;
}

/* Read exactly nbytes at offset.  0 on success; -1 with errno set, or with
 * errno = 0 for a short read (end of file). */
int ieio__pread_all(int fd, void *dst, uint64_t nbytes, uint64_t offset) {
  unsigned char *p = dst;
  if (offset > (uint64_t)INT64_MAX || nbytes > (uint64_t)INT64_MAX - offset) {
    errno = EOVERFLOW;
    return -1;
  }
  while (nbytes > 0) {
    size_t chunk = nbytes > ((size_t)1 << 30) ? ((size_t)1 << 30) : (size_t)nbytes;
    ssize_t r = pread(fd, p, chunk, (off_t)offset);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) {
      errno = 0;
      return -1;
    }
    p += r;
    nbytes -= (uint64_t)r;
    offset += (uint64_t)r;
  }
  return 0;
}

/* ---- .npy header ------------------------------------------------------------ */

/* A tiny reader for the Python literal numpy writes:
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }          */
typedef struct {
  const char *s;
  size_t n, i;
} lit;

static void lit_ws(lit *L) {
  while (L->i < L->n && (L->s[L->i] == ' ' || L->s[L->i] == '\t' ||
                         L->s[L->i] == '\n' || L->s[L->i] == '\r'))
    L->i++;
}

static int lit_eat(lit *L, char c) {
  lit_ws(L);
  if (L->i < L->n && L->s[L->i] == c) {
    L->i++;
    return 1;
  }
  return 0;
}

/* A quoted string (no escapes are ever needed here; a backslash is refused). */
static int lit_str(lit *L, char *out, size_t cap) {
  lit_ws(L);
  if (L->i >= L->n) return -1;
  char q = L->s[L->i];
  if (q != '\'' && q != '"') return -1;
  L->i++;
  size_t k = 0;
  while (L->i < L->n && L->s[L->i] != q) {
    char c = L->s[L->i];
    if (c == '\\' || (unsigned char)c < 0x20) return -1;
    if (k + 1 >= cap) return -1;
    out[k++] = c;
    L->i++;
  }
  if (L->i >= L->n) return -1;
  L->i++;
  out[k] = 0;
  return 0;
}

static int lit_word(lit *L, const char *w) {
  lit_ws(L);
  size_t k = strlen(w);
  if (L->n - L->i >= k && memcmp(L->s + L->i, w, k) == 0) {
    char nx = L->i + k < L->n ? L->s[L->i + k] : ' ';
    if ((nx >= 'a' && nx <= 'z') || (nx >= 'A' && nx <= 'Z') ||
        (nx >= '0' && nx <= '9') || nx == '_')
      return 0;
    L->i += k;
    return 1;
  }
  return 0;
}

/* Non-negative integer (Python 2 files may end it with L). */
static int lit_int(lit *L, int64_t *v) {
  lit_ws(L);
  if (L->i >= L->n || L->s[L->i] < '0' || L->s[L->i] > '9') return -1;
  int64_t x = 0;
  while (L->i < L->n && L->s[L->i] >= '0' && L->s[L->i] <= '9') {
    int d = L->s[L->i] - '0';
    if (x > (INT64_MAX - d) / 10) return -2;
    x = x * 10 + d;
    L->i++;
  }
  if (L->i < L->n && L->s[L->i] == 'L') L->i++;
  *v = x;
  return 0;
}

static int npy_descr(const char *d, DLDataType *t) {
  char bo = d[0];
  const char *c = d + 1;
  if (bo != '<' && bo != '|' && bo != '=' && bo != '>') {
    bo = '='; /* no byte-order character */
    c = d;
  }
  static const struct {
    const char *s;
    uint8_t code, bits;
  } tab[] = {{"f2", kDLFloat, 16}, {"f4", kDLFloat, 32}, {"f8", kDLFloat, 64},
             {"i1", kDLInt, 8},    {"i2", kDLInt, 16},   {"i4", kDLInt, 32},
             {"i8", kDLInt, 64},   {"u1", kDLUInt, 8},   {"u2", kDLUInt, 16},
             {"u4", kDLUInt, 32},  {"u8", kDLUInt, 64},  {"b1", 6, 8}};
  for (size_t k = 0; k < sizeof tab / sizeof tab[0]; k++) {
    if (strcmp(c, tab[k].s) == 0) {
      if (bo == '>' && tab[k].bits > 8) return -2; /* big-endian */
      t->code = tab[k].code;
      t->bits = tab[k].bits;
      t->lanes = 1;
      return 0;
    }
  }
  return -1;
}

static int npy_parse_header(const char *file, const char *h, size_t hlen,
                            ieio_info *info, char *err, size_t errcap) {
  lit L = {h, hlen, 0};
  int have_descr = 0, have_fo = 0, have_shape = 0, fortran = 0;
  char descr[64] = "";
  if (!lit_eat(&L, '{')) goto malformed;
  for (;;) {
    if (lit_eat(&L, '}')) break;
    char key[64];
    if (lit_str(&L, key, sizeof key) != 0) goto malformed;
    if (!lit_eat(&L, ':')) goto malformed;
    if (strcmp(key, "descr") == 0) {
      lit_ws(&L);
      if (L.i < L.n && L.s[L.i] == '[') {
        ieio__errf(err, errcap,
                   "%s: structured dtype (a record array) is not supported; "
                   "save a plain numeric array", file);
        return -1;
      }
      if (lit_str(&L, descr, sizeof descr) != 0) goto malformed;
      have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (lit_word(&L, "True")) fortran = 1;
      else if (lit_word(&L, "False")) fortran = 0;
      else goto malformed;
      have_fo = 1;
    } else if (strcmp(key, "shape") == 0) {
      if (!lit_eat(&L, '(')) goto malformed;
      info->ndim = 0;
      for (;;) {
        if (lit_eat(&L, ')')) break;
        int64_t v;
        int r = lit_int(&L, &v);
        if (r == -2) {
          ieio__errf(err, errcap, "%s: a dimension in the header's shape overflows 64 bits", file);
          return -1;
        }
        if (r != 0) goto malformed;
        if (info->ndim >= IEIO_MAX_NDIM) {
          ieio__errf(err, errcap, "%s: more than %d dimensions", file, IEIO_MAX_NDIM);
          return -1;
        }
        info->shape[info->ndim++] = v;
        if (lit_eat(&L, ')')) break;
        if (!lit_eat(&L, ',')) goto malformed;
      }
      have_shape = 1;
    } else {
      ieio__errf(err, errcap, "%s: unexpected key '%s' in the .npy header", file, key);
      return -1;
    }
    if (lit_eat(&L, '}')) break;
    if (!lit_eat(&L, ',')) goto malformed;
  }
  lit_ws(&L);
  if (L.i != L.n) goto malformed;
  if (!have_descr || !have_fo || !have_shape) {
    ieio__errf(err, errcap, "%s: the .npy header lacks '%s'", file,
               !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
    return -1;
  }
  if (fortran) {
    /* Fortran order is only a different layout when two dimensions exceed 1. */
    int big = 0;
    for (int k = 0; k < info->ndim; k++) big += info->shape[k] > 1;
    if (big > 1) {
      ieio__errf(err, errcap,
                 "%s: array is in Fortran (column-major) order; only C order is "
                 "supported (save np.ascontiguousarray(a))", file);
      return -1;
    }
  }
  int r = npy_descr(descr, &info->dtype);
  if (r == -2) {
    ieio__errf(err, errcap, "%s: big-endian dtype '%s' is not supported "
               "(save a.astype(a.dtype.newbyteorder('<')))", file, descr);
    return -1;
  }
  if (r != 0) {
    ieio__errf(err, errcap,
               "%s: unsupported dtype '%s' (supported: <f2 <f4 <f8 <i4 <i8 |u1 |b1, "
               "and i1 i2 u2 u4 u8)", file, descr);
    return -1;
  }
  return 0;
malformed:
  ieio__errf(err, errcap, "%s: malformed .npy header near byte %zu: %.*s", file,
             L.i, (int)(hlen > 120 ? 120 : hlen), h);
  return -1;
}

static int npy_open(const char *path, int fd, uint64_t fsize, ieio_info *info,
                    char *err, size_t errcap) {
  unsigned char pre[12];
  if (fsize < 10 || ieio__pread_all(fd, pre, 10, 0) != 0) {
    ieio__errf(err, errcap, "%s: truncated .npy file (%llu bytes, no complete header)",
               path, (unsigned long long)fsize);
    return -1;
  }
  int major = pre[6], minor = pre[7];
  uint64_t hlen, hstart;
  if (major == 1) {
    hlen = (uint64_t)pre[8] | ((uint64_t)pre[9] << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (fsize < 12 || ieio__pread_all(fd, pre, 12, 0) != 0) {
      ieio__errf(err, errcap, "%s: truncated .npy file (%llu bytes, no complete header)",
                 path, (unsigned long long)fsize);
      return -1;
    }
    hlen = (uint64_t)pre[8] | ((uint64_t)pre[9] << 8) | ((uint64_t)pre[10] << 16) |
           ((uint64_t)pre[11] << 24);
    hstart = 12;
  } else {
    ieio__errf(err, errcap, "%s: .npy format version %d.%d is not supported (1, 2, 3 are)",
               path, major, minor);
    return -1;
  }
  if (hlen > fsize - hstart) {
    ieio__errf(err, errcap,
               "%s: header length %llu runs past the end of the file (%llu bytes)",
               path, (unsigned long long)hlen, (unsigned long long)fsize);
    return -1;
  }
  if (hlen > ((uint64_t)1 << 20)) {
    ieio__errf(err, errcap, "%s: .npy header of %llu bytes is implausibly large", path,
               (unsigned long long)hlen);
    return -1;
  }
  char *h = malloc(hlen + 1);
  if (!h) {
    ieio__errf(err, errcap, "%s: out of memory reading the header", path);
    return -1;
  }
  if (ieio__pread_all(fd, h, hlen, hstart) != 0) {
    ieio__errf(err, errcap, "%s: could not read the header: %s", path,
               errno ? strerror(errno) : "short read");
    free(h);
    return -1;
  }
  h[hlen] = 0;
  if (memchr(h, 0, hlen)) {
    ieio__errf(err, errcap, "%s: the .npy header holds a NUL byte", path);
    free(h);
    return -1;
  }
  int r = npy_parse_header(path, h, hlen, info, err, errcap);
  free(h);
  if (r != 0) return -1;

  uint64_t count = 1;
  for (int k = 0; k < info->ndim; k++)
    if (ieio__mul_u64(count, (uint64_t)info->shape[k], &count) != 0 ||
        count > (uint64_t)INT64_MAX) {
      ieio__errf(err, errcap, "%s: the shape's element count overflows 64 bits", path);
      return -1;
    }
  size_t isz = ieio__dtype_size(info->dtype);
  if (ieio__mul_u64(count, isz, &info->nbytes) != 0 || info->nbytes > (uint64_t)INT64_MAX) {
    ieio__errf(err, errcap, "%s: the data size overflows 64 bits", path);
    return -1;
  }
  info->data_offset = hstart + hlen;
  uint64_t have = fsize - info->data_offset;
  if (info->nbytes > have) {
    char shp[160] = "";
    size_t o = 0;
    for (int k = 0; k < info->ndim && o < sizeof shp - 24; k++)
      o += (size_t)snprintf(shp + o, sizeof shp - o, "%s%lld", k ? " x " : "",
                            (long long)info->shape[k]);
    if (info->ndim == 0) snprintf(shp, sizeof shp, "a scalar");
    ieio__errf(err, errcap,
               "%s: header says %s %s (%llu bytes) but the file holds %llu bytes of data",
               path, shp, ieio__dtype_name(info->dtype),
               (unsigned long long)info->nbytes, (unsigned long long)have);
    return -1;
  }
  return 0;
}

/* ---- entry points -------------------------------------------------------------- */

static int ends_with(const char *s, size_t n, const char *suf) {
  size_t k = strlen(suf);
  return n >= k && memcmp(s + n - k, suf, k) == 0;
}

int ieio_open_info(const char *spec, ieio_info *info, char *err, size_t errcap) {
  ieio_info tmp;
  memset(&tmp, 0, sizeof tmp);
  if (info) memset(info, 0, sizeof *info);
  if (!spec || !info) {
    ieio__errf(err, errcap, "ieio_open_info: NULL argument");
    return -1;
  }
  size_t len = strlen(spec);
  /* "FILE.safetensors:TENSOR" — split at the first ':' that follows
   * ".safetensors", so that tensor names may themselves hold ':'. */
  const char *name = NULL;
  size_t plen = len;
  const char *hit = strstr(spec, ".safetensors:");
  if (hit) {
    plen = (size_t)(hit - spec) + strlen(".safetensors");
    name = spec + plen + 1;
  }
  if (plen >= sizeof tmp.path) {
    ieio__errf(err, errcap, "%.200s...: path longer than %zu bytes", spec, sizeof tmp.path - 1);
    return -1;
  }
  memcpy(tmp.path, spec, plen);
  tmp.path[plen] = 0;
  if (name && strlen(name) >= sizeof tmp.name) {
    ieio__errf(err, errcap, "%s: tensor name longer than %zu bytes", tmp.path,
               sizeof tmp.name - 1);
    return -1;
  }

  int fd = open(tmp.path, O_RDONLY);
  if (fd < 0) {
    ieio__errf(err, errcap, "%s: cannot open: %s", tmp.path, strerror(errno));
    return IEIO_CANNOT_OPEN;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ieio__errf(err, errcap, "%s: not a regular file", tmp.path);
    close(fd);
    return -1;
  }
  uint64_t fsize = (uint64_t)st.st_size;
  unsigned char magic[6] = {0};
  int is_npy = fsize >= 6 && ieio__pread_all(fd, magic, 6, 0) == 0 &&
               memcmp(magic, "\x93NUMPY", 6) == 0;
  int r;
  if (is_npy) {
    if (name) {
      ieio__errf(err, errcap, "%s: a .npy file holds one array; no tensor name expected",
                 tmp.path);
      r = -1;
    } else {
      r = npy_open(tmp.path, fd, fsize, &tmp, err, errcap);
    }
    close(fd);
  } else if (name || ends_with(tmp.path, plen, ".safetensors")) {
    close(fd);
    r = ieio__st_open(tmp.path, name ? name : "", &tmp, err, errcap);
  } else {
    close(fd);
    if (ends_with(tmp.path, plen, ".npy"))
      ieio__errf(err, errcap, "%s: not a .npy file (bad magic; %s)", tmp.path,
                 fsize < 6 ? "file shorter than the 6-byte magic" : "expected \\x93NUMPY");
    else
      ieio__errf(err, errcap,
                 "%s: not a .npy file and not named *.safetensors (use FILE.safetensors:TENSOR)",
                 tmp.path);
    r = -1;
  }
  if (r != 0) return -1;
  *info = tmp;
  return 0;
}

static uint64_t row_bytes(const ieio_info *info) {
  uint64_t b = ieio__dtype_size(info->dtype);
  for (int k = 1; k < info->ndim; k++) b *= (uint64_t)info->shape[k]; /* checked at open */
  return b;
}

int ieio_read_rows(const ieio_info *info, int64_t row0, int64_t nrows, void *dst,
                   char *err, size_t errcap) {
  if (!info) {
    ieio__errf(err, errcap, "ieio_read_rows: NULL info");
    return -1;
  }
  const char *nm = info->name[0] ? info->name : NULL;
  int64_t total = info->ndim == 0 ? 1 : info->shape[0];
  if (row0 < 0 || nrows < 0 || row0 > total || nrows > total - row0) {
    ieio__errf(err, errcap, "%s%s%s: %lld rows from row %lld are outside the %lld rows held",
               info->path, nm ? ":" : "", nm ? nm : "", (long long)nrows, (long long)row0,
               (long long)total);
    return -1;
  }
  if (nrows == 0) return 0;
  if (!dst) {
    ieio__errf(err, errcap, "ieio_read_rows: NULL destination");
    return -1;
  }
  uint64_t rb = row_bytes(info);
  uint64_t off = info->data_offset + (uint64_t)row0 * rb;
  uint64_t nb = (uint64_t)nrows * rb;
  if (nb > SIZE_MAX) {
    ieio__errf(err, errcap, "%s: %llu bytes do not fit in memory here", info->path,
               (unsigned long long)nb);
    return -1;
  }
  int fd = open(info->path, O_RDONLY);
  if (fd < 0) {
    ieio__errf(err, errcap, "%s: cannot open: %s", info->path, strerror(errno));
    return -1;
  }
  if (ieio__pread_all(fd, dst, nb, off) != 0) {
    int e = errno;
    ieio__errf(err, errcap, "%s%s%s: could not read %llu bytes at offset %llu: %s",
               info->path, nm ? ":" : "", nm ? nm : "", (unsigned long long)nb,
               (unsigned long long)off,
               e ? strerror(e) : "file ended early (truncated since it was opened?)");
    close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

int ieio_read_all(const ieio_info *info, void **data, char *err, size_t errcap) {
  if (!data || !info) {
    ieio__errf(err, errcap, "ieio_read_all: NULL argument");
    return -1;
  }
  *data = NULL;
  if (info->nbytes > SIZE_MAX) {
    ieio__errf(err, errcap, "%s: %llu bytes do not fit in memory here", info->path,
               (unsigned long long)info->nbytes);
    return -1;
  }
  void *p = malloc(info->nbytes ? (size_t)info->nbytes : 1);
  if (!p) {
    ieio__errf(err, errcap, "%s%s%s: out of memory for %llu bytes", info->path,
               info->name[0] ? ":" : "", info->name, (unsigned long long)info->nbytes);
    return -1;
  }
  int64_t rows = info->ndim == 0 ? 1 : info->shape[0];
  if (ieio_read_rows(info, 0, rows, p, err, errcap) != 0) {
    free(p);
    return -1;
  }
  *data = p;
  return 0;
}

void ieio_as_dltensor(const ieio_info *info, void *data, int64_t *shape, DLTensor *t) {
  memset(t, 0, sizeof *t);
  t->data = data;
  t->device.device_type = kDLCPU;
  t->device.device_id = 0;
  t->ndim = info->ndim;
  t->dtype = info->dtype;
  for (int k = 0; k < info->ndim; k++) shape[k] = info->shape[k];
  t->shape = shape;
  t->strides = NULL;
  t->byte_offset = 0;
}
