/*
 * io_safetensors.c — the header of a .safetensors file:
 *
 *   8 bytes: N, little-endian u64
 *   N bytes: JSON  {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [a, b]},
 *                   "__metadata__": {"k": "v", ...}, ...}
 *   the byte buffer; a tensor's bytes are [8 + N + a, 8 + N + b).
 *
 * The JSON is read by a small strict parser of our own (RFC 8259 grammar,
 * depth-limited); every number that becomes a size or an offset is an
 * unsigned integer checked for overflow and against the file's size.
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
#include <unistd.h>


#define ST_MAX_HEADER ((uint64_t)100 << 20) /* the format's own limit: 100 MB */
#define ST_MAX_DEPTH 64

/* ---- JSON ------------------------------------------------------------------- */

typedef struct {
  const char *s;
  size_t n, i;
  const char *fault; /* first syntax fault */
} js;

static void js_ws(js *J) {
  while (J->i < J->n && (J->s[J->i] == ' ' || J->s[J->i] == '\t' ||
                         J->s[J->i] == '\n' || J->s[J->i] == '\r'))
    J->i++;
}

static int js_fail(js *J, const char *what) {
  if (!J->fault) J->fault = what;
  return -1;
}

static int js_peek(js *J) {
  js_ws(J);
  return J->i < J->n ? (unsigned char)J->s[J->i] : -1;
}

static int js_hex4(js *J, unsigned *v) {
  if (J->n - J->i < 4) return js_fail(J, "truncated \\u escape");
  unsigned x = 0;
  for (int k = 0; k < 4; k++) {
    char c = J->s[J->i++];
    x <<= 4;
    if (c >= '0' && c <= '9') x |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') x |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') x |= (unsigned)(c - 'A' + 10);
    else return js_fail(J, "bad \\u escape");
  }
  *v = x;
  return 0;
}

/* A string, decoded into out (cap bytes, NUL-terminated, truncated if it does
 * not fit: *len is then the full decoded length).  out may be NULL. */
static int js_string(js *J, char *out, size_t cap, size_t *len) {
  if (js_peek(J) != '"') return js_fail(J, "expected a string");
  J->i++;
  size_t k = 0;
  for (;;) {
    if (J->i >= J->n) return js_fail(J, "unterminated string");
    unsigned char c = (unsigned char)J->s[J->i++];
    unsigned char buf[4];
    size_t nb = 0;
    if (c == '"') break;
    if (c < 0x20) return js_fail(J, "control character in a string");
    if (c != '\\') {
      buf[0] = c;
      nb = 1;
    } else {
      if (J->i >= J->n) return js_fail(J, "unterminated string");
      char e = J->s[J->i++];
      switch (e) {
      case '"': buf[0] = '"'; nb = 1; break;
      case '\\': buf[0] = '\\'; nb = 1; break;
      case '/': buf[0] = '/'; nb = 1; break;
      case 'b': buf[0] = '\b'; nb = 1; break;
      case 'f': buf[0] = '\f'; nb = 1; break;
      case 'n': buf[0] = '\n'; nb = 1; break;
      case 'r': buf[0] = '\r'; nb = 1; break;
      case 't': buf[0] = '\t'; nb = 1; break;
      case 'u': {
        unsigned u;
        if (js_hex4(J, &u) != 0) return -1;
        if (u >= 0xD800 && u <= 0xDBFF) {
          unsigned lo;
          if (J->n - J->i < 2 || J->s[J->i] != '\\' || J->s[J->i + 1] != 'u')
            return js_fail(J, "unpaired surrogate in \\u escape");
          J->i += 2;
          if (js_hex4(J, &lo) != 0) return -1;
          if (lo < 0xDC00 || lo > 0xDFFF) return js_fail(J, "unpaired surrogate in \\u escape");
          u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
          return js_fail(J, "unpaired surrogate in \\u escape");
        }
        if (u < 0x80) {
          buf[0] = (unsigned char)u;
          nb = 1;
        } else if (u < 0x800) {
          buf[0] = (unsigned char)(0xC0 | (u >> 6));
          buf[1] = (unsigned char)(0x80 | (u & 0x3F));
          nb = 2;
        } else if (u < 0x10000) {
          buf[0] = (unsigned char)(0xE0 | (u >> 12));
          buf[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
          buf[2] = (unsigned char)(0x80 | (u & 0x3F));
          nb = 3;
        } else {
          buf[0] = (unsigned char)(0xF0 | (u >> 18));
          buf[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
          buf[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
          buf[3] = (unsigned char)(0x80 | (u & 0x3F));
          nb = 4;
        }
        break;
      }
      default:
        return js_fail(J, "bad escape in a string");
      }
    }
    for (size_t t = 0; t < nb; t++, k++)
      if (out && k + 1 < cap) out[k] = (char)buf[t];
  }
  if (out && cap) out[k + 1 < cap ? k : cap - 1] = 0;
  if (len) *len = k;
  return 0;
}

/* A JSON number, checked against the grammar.  If it is a plain non-negative
 * integer, *u gets it and *is_uint = 1 (0 if it overflows or is not one). */
static int js_number(js *J, uint64_t *u, int *is_uint) {
  js_ws(J);
  size_t i0 = J->i;
  int neg = 0, frac = 0, ovf = 0;
  uint64_t x = 0;
  if (J->i < J->n && J->s[J->i] == '-') {
    neg = 1;
    J->i++;
  }
  if (J->i >= J->n || J->s[J->i] < '0' || J->s[J->i] > '9') return js_fail(J, "bad number");
  if (J->s[J->i] == '0') {
    J->i++;
  } else {
    while (J->i < J->n && J->s[J->i] >= '0' && J->s[J->i] <= '9') {
      unsigned d = (unsigned)(J->s[J->i] - '0');
      if (x > (UINT64_MAX - d) / 10) ovf = 1;
      else x = x * 10 + d;
      J->i++;
    }
  }
  if (J->i < J->n && J->s[J->i] == '.') {
    frac = 1;
    J->i++;
    if (J->i >= J->n || J->s[J->i] < '0' || J->s[J->i] > '9') return js_fail(J, "bad number");
    while (J->i < J->n && J->s[J->i] >= '0' && J->s[J->i] <= '9') J->i++;
  }
  if (J->i < J->n && (J->s[J->i] == 'e' || J->s[J->i] == 'E')) {
    frac = 1;
    J->i++;
    if (J->i < J->n && (J->s[J->i] == '+' || J->s[J->i] == '-')) J->i++;
    if (J->i >= J->n || J->s[J->i] < '0' || J->s[J->i] > '9') return js_fail(J, "bad number");
    while (J->i < J->n && J->s[J->i] >= '0' && J->s[J->i] <= '9') J->i++;
  }
  (void)i0;
  *is_uint = !neg && !frac && !ovf;
  *u = *is_uint ? x : 0;
  return 0;
}

static int js_word(js *J, const char *w) {
  size_t k = strlen(w);
  if (J->n - J->i < k || memcmp(J->s + J->i, w, k) != 0) return js_fail(J, "unexpected token");
  J->i += k;
  return 0;
}

/* Any value, validated and skipped. */
static int js_skip(js *J, int depth) {
  if (depth > ST_MAX_DEPTH) return js_fail(J, "nesting too deep");
  int c = js_peek(J);
  if (c == '"') return js_string(J, NULL, 0, NULL);
  if (c == '{') {
    J->i++;
    if (js_peek(J) == '}') {
      J->i++;
      return 0;
    }
    for (;;) {
      if (js_string(J, NULL, 0, NULL) != 0) return -1;
      if (js_peek(J) != ':') return js_fail(J, "expected ':'");
      J->i++;
      if (js_skip(J, depth + 1) != 0) return -1;
      c = js_peek(J);
      J->i++;
      if (c == '}') return 0;
      if (c != ',') return js_fail(J, "expected ',' or '}'");
    }
  }
  if (c == '[') {
    J->i++;
    if (js_peek(J) == ']') {
      J->i++;
      return 0;
    }
    for (;;) {
      if (js_skip(J, depth + 1) != 0) return -1;
      c = js_peek(J);
      J->i++;
      if (c == ']') return 0;
      if (c != ',') return js_fail(J, "expected ',' or ']'");
    }
  }
  if (c == 't') return js_word(J, "true");
  if (c == 'f') return js_word(J, "false");
  if (c == 'n') return js_word(J, "null");
  if (c == '-' || (c >= '0' && c <= '9')) {
    uint64_t u;
    int isu;
    return js_number(J, &u, &isu);
  }
  return js_fail(J, c < 0 ? "unexpected end of header" : "unexpected character");
}

/* ---- one tensor's entry --------------------------------------------------------- */

typedef struct {
  char dtype[32];
  int have_dtype, have_shape, have_offsets;
  int ndim;
  uint64_t shape[IEIO_MAX_NDIM];
  uint64_t off[2];
} st_entry;

/* Parse {"dtype": ..., "shape": [...], "data_offsets": [a, b]}.  Returns 0,
 * or -1 with *what set to the fault (syntax faults are in J->fault). */
static int st_parse_entry(js *J, st_entry *e, const char **what) {
  memset(e, 0, sizeof *e);
  *what = NULL;
  if (js_peek(J) != '{') {
    *what = "its entry is not a JSON object";
    return -1;
  }
  J->i++;
  if (js_peek(J) == '}') {
    J->i++;
    goto check;
  }
  for (;;) {
    char key[32];
    size_t klen;
    if (js_string(J, key, sizeof key, &klen) != 0) return -1;
    if (js_peek(J) != ':') return js_fail(J, "expected ':'");
    J->i++;
    if (klen < sizeof key && strcmp(key, "dtype") == 0) {
      size_t dl;
      if (js_peek(J) != '"') {
        *what = "\"dtype\" is not a string";
        return -1;
      }
      if (js_string(J, e->dtype, sizeof e->dtype, &dl) != 0) return -1;
      if (dl >= sizeof e->dtype) e->dtype[0] = '?';
      e->have_dtype = 1;
    } else if (klen < sizeof key &&
               (strcmp(key, "shape") == 0 || strcmp(key, "data_offsets") == 0)) {
      int is_shape = key[0] == 's';
      int cnt = 0;
      if (js_peek(J) != '[') {
        *what = is_shape ? "\"shape\" is not an array" : "\"data_offsets\" is not an array";
        return -1;
      }
      J->i++;
      if (js_peek(J) == ']') {
        J->i++;
      } else {
        for (;;) {
          uint64_t u;
          int isu;
          int c = js_peek(J);
          if (!(c == '-' || (c >= '0' && c <= '9'))) {
            *what = is_shape ? "\"shape\" holds something other than a number"
                             : "\"data_offsets\" holds something other than a number";
            return -1;
          }
          if (js_number(J, &u, &isu) != 0) return -1;
          if (!isu || u > (uint64_t)INT64_MAX) {
            *what = is_shape ? "\"shape\" holds a negative, fractional or too large number"
                             : "\"data_offsets\" holds a negative, fractional or too large number";
            return -1;
          }
          if (is_shape) {
            if (cnt >= IEIO_MAX_NDIM) {
              *what = "more than 8 dimensions";
              return -1;
            }
            e->shape[cnt] = u;
          } else {
            if (cnt >= 2) {
              *what = "\"data_offsets\" holds more than two numbers";
              return -1;
            }
            e->off[cnt] = u;
          }
          cnt++;
          c = js_peek(J);
          J->i++;
          if (c == ']') break;
          if (c != ',') return js_fail(J, "expected ',' or ']'");
        }
      }
      if (is_shape) {
        e->ndim = cnt;
        e->have_shape = 1;
      } else {
        if (cnt != 2) {
          *what = "\"data_offsets\" must hold exactly two numbers [begin, end]";
          return -1;
        }
        e->have_offsets = 1;
      }
    } else {
      if (js_skip(J, 2) != 0) return -1;
    }
    int c = js_peek(J);
    J->i++;
    if (c == '}') break;
    if (c != ',') return js_fail(J, "expected ',' or '}'");
  }
check:
  if (!e->have_dtype) *what = "its entry has no \"dtype\"";
  else if (!e->have_shape) *what = "its entry has no \"shape\"";
  else if (!e->have_offsets) *what = "its entry has no \"data_offsets\"";
  return *what ? -1 : 0;
}

static int st_dtype(const char *s, DLDataType *t) {
  static const struct {
    const char *s;
    uint8_t code, bits;
  } tab[] = {{"F16", kDLFloat, 16}, {"BF16", kDLBfloat, 16}, {"F32", kDLFloat, 32},
             {"F64", kDLFloat, 64}, {"I8", kDLInt, 8},       {"I16", kDLInt, 16},
             {"I32", kDLInt, 32},   {"I64", kDLInt, 64},     {"U8", kDLUInt, 8},
             {"U16", kDLUInt, 16},  {"U32", kDLUInt, 32},    {"U64", kDLUInt, 64},
             {"BOOL", 6, 8}};
  for (size_t k = 0; k < sizeof tab / sizeof tab[0]; k++)
    if (strcmp(s, tab[k].s) == 0) {
      t->code = tab[k].code;
      t->bits = tab[k].bits;
      t->lanes = 1;
      return 0;
    }
  return -1;
}

/* ---- the file ------------------------------------------------------------------- */

int ieio__st_open(const char *path, const char *name, ieio_info *info, char *err,
                  size_t errcap) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    ieio__errf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ieio__errf(err, errcap, "%s: cannot stat: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  uint64_t fsize = (uint64_t)st.st_size;
  unsigned char lb[8];
  if (fsize < 8 || ieio__pread_all(fd, lb, 8, 0) != 0) {
    ieio__errf(err, errcap,
               "%s: truncated .safetensors file (%llu bytes; the 8-byte header length is missing)",
               path, (unsigned long long)fsize);
    close(fd);
    return -1;
  }
  uint64_t hlen = 0;
  for (int k = 7; k >= 0; k--) hlen = (hlen << 8) | lb[k];
  if (hlen > fsize - 8) {
    ieio__errf(err, errcap,
               "%s: header length %llu runs past the end of the file (%llu bytes): "
               "truncated, or not a .safetensors file",
               path, (unsigned long long)hlen, (unsigned long long)fsize);
    close(fd);
    return -1;
  }
  if (hlen > ST_MAX_HEADER || hlen < 2) {
    ieio__errf(err, errcap, "%s: header length %llu is not plausible (2 .. 100 MB)", path,
               (unsigned long long)hlen);
    close(fd);
    return -1;
  }
  char *h = malloc((size_t)hlen);
  if (!h) {
    ieio__errf(err, errcap, "%s: out of memory for a %llu-byte header", path,
               (unsigned long long)hlen);
    close(fd);
    return -1;
  }
  if (ieio__pread_all(fd, h, hlen, 8) != 0) {
    ieio__errf(err, errcap, "%s: could not read the header: %s", path,
               errno ? strerror(errno) : "short read");
    free(h);
    close(fd);
    return -1;
  }
  close(fd);
  uint64_t buf_start = 8 + hlen, buf_size = fsize - buf_start;

  js J = {h, (size_t)hlen, 0, NULL};
  int ntensors = 0, nfound = 0;
  size_t found_at = 0, first_at = 0;
  char names[400] = "";
  char first_name[sizeof info->name] = "";
  size_t nlen = 0;
  const char *what = NULL;
  int rc = -1;

  if (js_peek(&J) != '{') {
    js_fail(&J, "the header is not a JSON object");
    goto syntax;
  }
  J.i++;
  if (js_peek(&J) == '}') {
    J.i++;
  } else {
    for (;;) {
      char key[sizeof info->name];
      size_t klen;
      if (js_string(&J, key, sizeof key, &klen) != 0) goto syntax;
      if (js_peek(&J) != ':') {
        js_fail(&J, "expected ':'");
        goto syntax;
      }
      J.i++;
      js_ws(&J);
      if (strcmp(key, "__metadata__") == 0 && klen == strlen("__metadata__")) {
        if (js_peek(&J) != '{') {
          ieio__errf(err, errcap, "%s: \"__metadata__\" is not a JSON object", path);
          goto out;
        }
        if (js_skip(&J, 1) != 0) goto syntax;
      } else {
        if (ntensors == 0) {
          first_at = J.i;
          snprintf(first_name, sizeof first_name, "%s", klen < sizeof key ? key : "(long name)");
        }
        ntensors++;
        if (klen < sizeof key && name[0] && strcmp(key, name) == 0 &&
            klen == strlen(name)) {
          nfound++;
          found_at = J.i;
        }
        if (nlen + 4 < sizeof names) {
          int w = snprintf(names + nlen, sizeof names - nlen, "%s'%s'", nlen ? ", " : "",
                           klen < sizeof key ? key : "(long name)");
          if (w > 0) nlen += (size_t)w;
          if (nlen >= sizeof names) {
            nlen = sizeof names - 1;
            memcpy(names + sizeof names - 5, "...", 4);
          }
        }
        if (js_skip(&J, 1) != 0) goto syntax;
      }
      int c = js_peek(&J);
      J.i++;
      if (c == '}') break;
      if (c != ',') {
        js_fail(&J, "expected ',' or '}'");
        goto syntax;
      }
    }
  }
  js_ws(&J);
  if (J.i != J.n) {
    js_fail(&J, "trailing bytes after the JSON object");
    goto syntax;
  }

  if (!name[0]) {
    if (ntensors != 1) {
      ieio__errf(err, errcap,
                 "%s: holds %d tensors; name one as FILE.safetensors:TENSOR (tensors: %s)",
                 path, ntensors, ntensors ? names : "none");
      goto out;
    }
    found_at = first_at;
    nfound = 1;
  }
  if (nfound == 0) {
    ieio__errf(err, errcap, "%s: no tensor named '%s' (tensors: %s)", path, name,
               ntensors ? names : "none");
    goto out;
  }
  if (nfound > 1) {
    ieio__errf(err, errcap, "%s: tensor '%s' appears %d times in the header", path, name,
               nfound);
    goto out;
  }

  /* Re-read the chosen entry in full. */
  {
    js E = {h, (size_t)hlen, found_at, NULL};
    st_entry e;
    const char *tn = name[0] ? name : "?";
    char tname[sizeof info->name];
    if (!name[0]) {
      snprintf(tname, sizeof tname, "%s", first_name);
      tn = tname;
    }
    if (st_parse_entry(&E, &e, &what) != 0) {
      ieio__errf(err, errcap, "%s: tensor '%s': %s", path, tn,
                 what ? what : E.fault ? E.fault : "malformed entry");
      goto out;
    }
    DLDataType dt;
    if (st_dtype(e.dtype, &dt) != 0) {
      ieio__errf(err, errcap,
                 "%s: tensor '%s': unsupported dtype '%s' (supported: F16 BF16 F32 F64 "
                 "I8 I16 I32 I64 U8 U16 U32 U64 BOOL)",
                 path, tn, e.dtype);
      goto out;
    }
    uint64_t count = 1, nbytes;
    for (int k = 0; k < e.ndim; k++)
      if (ieio__mul_u64(count, e.shape[k], &count) != 0 || count > (uint64_t)INT64_MAX) {
        ieio__errf(err, errcap, "%s: tensor '%s': the shape's element count overflows 64 bits",
                   path, tn);
        goto out;
      }
    size_t isz = ieio__dtype_size(dt);
    if (ieio__mul_u64(count, isz, &nbytes) != 0 || nbytes > (uint64_t)INT64_MAX) {
      ieio__errf(err, errcap, "%s: tensor '%s': the data size overflows 64 bits", path, tn);
      goto out;
    }
    if (e.off[1] < e.off[0]) {
      ieio__errf(err, errcap, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                 path, tn, (unsigned long long)e.off[0], (unsigned long long)e.off[1]);
      goto out;
    }
    if (e.off[1] - e.off[0] != nbytes) {
      ieio__errf(err, errcap,
                 "%s: tensor '%s': data_offsets [%llu, %llu] span %llu bytes but shape x "
                 "%s needs %llu",
                 path, tn, (unsigned long long)e.off[0], (unsigned long long)e.off[1],
                 (unsigned long long)(e.off[1] - e.off[0]), ieio__dtype_name(dt),
                 (unsigned long long)nbytes);
      goto out;
    }
    if (e.off[1] > buf_size) {
      ieio__errf(err, errcap,
                 "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data "
                 "(%llu bytes after the header): file truncated?",
                 path, tn, (unsigned long long)e.off[0], (unsigned long long)e.off[1],
                 (unsigned long long)buf_size);
      goto out;
    }
    snprintf(info->name, sizeof info->name, "%s", tn);
    info->dtype = dt;
    info->ndim = e.ndim;
    for (int k = 0; k < e.ndim; k++) info->shape[k] = (int64_t)e.shape[k];
    info->data_offset = buf_start + e.off[0];
    info->nbytes = nbytes;
    rc = 0;
    goto out;
  }

syntax:
  ieio__errf(err, errcap, "%s: malformed JSON header at byte %zu: %s", path, J.i,
             J.fault ? J.fault : "syntax error");
out:
  free(h);
  return rc;
}
