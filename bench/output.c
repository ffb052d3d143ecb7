/* The output for bench/report.py: the table lines on stdout and, with --json,
 * one JSON record a line ("machine", "backend", "roof", "skip"; the row ops
 * and compute cases write "result" and "compute" records where they are
 * timed). */
#define _GNU_SOURCE
#include <omp.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

FILE *g_json;

void json_printf(const char *fmt, ...) {
  if (!g_json) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(g_json, fmt, ap);
  va_end(ap);
  fflush(g_json);
}

const char *jstr(const char *s, char *buf, size_t cap) {
  size_t o = 0;
  for (; s && *s && o + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { buf[o++] = '\\'; buf[o++] = (char)c; }
    else if (c < 0x20) o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", c);
    else buf[o++] = (char)c;
  }
  buf[o] = 0;
  return buf;
}

void emit_roofs(const char *backend, const char *device, const roofs *r, const char *when) {
  char b1[512], b2[512], b3[600];
  for (int k = 0; k < ROOF_COUNT; k++) {
    if (r->gbps[k] <= 0) continue;
    const char *unit = k == ROOF_GEMM ? "GFLOP/s" : k == ROOF_EXP ? "Gexp/s" : "GB/s";
    fprintf(stdout, "  roof %-5s %-5s %9.1f %-7s (median of %d; min %.3f ms, max %.3f ms) %s\n",
            ROOF_NAMES[k], when, r->gbps[k], unit, r->t[k].reps, r->t[k].min * 1e3,
            r->t[k].max * 1e3, r->note[k]);
    /* "method" / "methods" only where a roof is the best of several loops. */
    b3[0] = 0;
    if (r->method[k][0]) {
      fprintf(stdout, "       %-5s %-5s loops tried (GB/s): %s\n", ROOF_NAMES[k], when,
              r->methods[k]);
      snprintf(b3, sizeof b3, ",\"method\":\"%s\",\"methods\":\"%s\"", r->method[k],
               r->methods[k]);
    }
    json_printf("{\"type\":\"roof\",\"backend\":\"%s\",\"device\":\"%s\",\"kind\":\"%s\","
                "\"when\":\"%s\",\"value\":%.6g,\"unit\":\"%s\",\"amount\":%.6g,"
                "\"median_ms\":%.6g,\"min_ms\":%.6g,\"max_ms\":%.6g,\"q1_ms\":%.6g,"
                "\"q3_ms\":%.6g,\"reps\":%d,\"note\":\"%s\"%s}\n",
                backend, jstr(device, b1, sizeof b1), ROOF_NAMES[k], when, r->gbps[k], unit,
                r->bytes[k], r->t[k].med * 1e3, r->t[k].min * 1e3, r->t[k].max * 1e3,
                r->t[k].q1 * 1e3, r->t[k].q3 * 1e3, r->t[k].reps, jstr(r->note[k], b2, sizeof b2),
                b3);
  }
}

void emit_skip(const char *backend, const char *what, const char *why) {
  char b1[1200], b2[512];
  fprintf(stdout, "  skipped %s %s: %s\n", backend, what, why);
  json_printf("{\"type\":\"skip\",\"backend\":\"%s\",\"what\":\"%s\",\"why\":\"%s\"}\n", backend,
              jstr(what, b2, sizeof b2), jstr(why, b1, sizeof b1));
}

void machine_record(void) {
  char model[256] = "unknown";
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f)) {
      if (!strncmp(line, "model name", 10)) {
        char *c = strchr(line, ':');
        if (c) {
          c++;
          while (*c == ' ') c++;
          c[strcspn(c, "\n")] = 0;
          snprintf(model, sizeof model, "%s", c);
        }
        break;
      }
    }
    fclose(f);
  }
  char load[64] = "?";
  FILE *lf = fopen("/proc/loadavg", "r");
  if (lf) {
    if (fgets(load, sizeof load, lf)) {
      char *sp = strchr(load, ' ');
      if (sp) sp = strchr(sp + 1, ' ');
      if (sp) sp = strchr(sp + 1, ' ');
      if (sp) *sp = 0;
    }
    fclose(lf);
  }
  char date[64] = "?";
  time_t now = time(NULL);
  struct tm tmv;
  if (gmtime_r(&now, &tmv)) strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tmv);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  double mem = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  char b[600];
  printf("machine: %s, %ld cores, %.1f GiB, OpenMP threads %d, L3 %zu MiB, load %s, infoest %s\n",
         model, cores, mem / 1073741824.0, omp_get_max_threads(), llc_bytes() >> 20, load,
         ie_version_string());
  json_printf("{\"type\":\"machine\",\"cpu\":\"%s\",\"cores\":%ld,\"mem_gib\":%.1f,"
              "\"threads\":%d,\"llc_mib\":%zu,\"loadavg\":\"%s\",\"date\":\"%s\","
              "\"version\":\"%s\"}\n",
              jstr(model, b, sizeof b), cores, mem / 1073741824.0, omp_get_max_threads(),
              llc_bytes() >> 20, load, date, ie_version_string());
}
