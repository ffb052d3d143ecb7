/*
 * dtype.c — element types: sizes, names, and widening one element to double.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "host.h"

size_t ie__dtype_size(ie_dtype t) {
  switch (t) {
  case IE_DT_F16: case IE_DT_BF16: return 2;
  case IE_DT_F32: case IE_DT_I32: return 4;
  case IE_DT_F64: case IE_DT_I64: return 8;
  case IE_DT_U8: return 1;
  }
  return 0;
}

double ie__dtype_eps(ie_dtype t) {
  switch (t) {
  case IE_DT_F64: return 0x1p-52;
  case IE_DT_F16: return 0x1p-10;
  case IE_DT_BF16: return 0x1p-7;
  default: return 0x1p-23;
  }
}

const char *ie__dtype_name(ie_dtype t) {
  static const char *const names[] = {"float32", "float16", "bfloat16",
                                      "float64", "int32", "int64", "uint8"};
  return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

/* IEEE binary16 to double, exactly. */
static double half_to_double(uint16_t h) {
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v;
  if (e == 0) v = ldexp(m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

double ie__load_double(const void *p, ie_dtype t) {
  switch (t) {
  case IE_DT_F32: return *(const float *)p;
  case IE_DT_F64: return *(const double *)p;
  case IE_DT_F16: return half_to_double(*(const uint16_t *)p);
  case IE_DT_BF16: {
    uint32_t u = (uint32_t)*(const uint16_t *)p << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  case IE_DT_I32: return *(const int32_t *)p;
  case IE_DT_I64: return (double)*(const int64_t *)p;
  case IE_DT_U8: return *(const uint8_t *)p;
  }
  return NAN;
}
