/* The timing rule (warm-up, repeats, time limits) and the statistics of the
 * samples: median, min, max, quartiles. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Quantile by linear interpolation on sorted samples. */
static double quantile(const double *s, int n, double q) {
  if (n == 1) return s[0];
  double pos = q * (n - 1);
  int i = (int)pos;
  if (i >= n - 1) return s[n - 1];
  double f = pos - i;
  return s[i] * (1 - f) + s[i + 1] * f;
}

void timing_of(double *s, int n, timing *t) {
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  t->reps = n;
  t->min = s[0];
  t->max = s[n - 1];
  t->med = quantile(s, n, 0.5);
  t->q1 = quantile(s, n, 0.25);
  t->q3 = quantile(s, n, 0.75);
}

void time_plain(void (*f)(void *), void *arg, int reps, double min_time, timing *t) {
  double s[64];
  f(arg); /* warm-up */
  int n = 0;
  double t0 = now_seconds();
  while (n < 64 && (n < reps || now_seconds() - t0 < min_time)) {
    double a = now_seconds();
    f(arg);
    s[n++] = now_seconds() - a;
  }
  timing_of(s, n, t);
}

/* Warm-up: `warmup` calls (just one when the first takes over a second; a
 * call over once_over_s is the one sample).  Then calls until at least
 * `repeats` calls and `min_time` seconds, or, for slow cases, at least 3
 * calls and `max_time` seconds. */
ie_status time_calls(ie_status (*call)(void *), void *arg, const options *o, double once_over_s,
                     timing *t) {
  static double samples[MAX_REPS];
  int n = 0;
  for (int i = 0; i < o->warmup; i++) {
    double s0 = now_seconds();
    ie_status s = call(arg);
    if (s != IE_OK) return s;
    const double el = now_seconds() - s0;
    if (once_over_s > 0 && el > once_over_s) {
      samples[n++] = el;
      timing_of(samples, n, t);
      return IE_OK;
    }
    if (el > 1.0) break;
  }
  double t0 = now_seconds();
  for (;;) {
    double el = now_seconds() - t0;
    if (n >= MAX_REPS) break;
    if (n >= o->repeats && el >= o->min_time) break;
    if (n >= 3 && o->max_time > 0 && el >= o->max_time) break;
    double s0 = now_seconds();
    ie_status s = call(arg);
    samples[n++] = now_seconds() - s0;
    if (s != IE_OK) return s;
  }
  timing_of(samples, n, t);
  return IE_OK;
}

/* Linux: VmHWM of /proc/self/status, reset by writing 5 to
 * /proc/self/clear_refs. */
void peak_rss_reset(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

double peak_rss_mib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
  if (f) fclose(f);
  return kb < 0 ? -1 : kb / 1024;
}
