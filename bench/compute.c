/* The compute-bound cases (Sinkhorn, kNN, Vendi; docs/SPEC.md §4–§6): the
 * table of cases, which --op selects, and their run.  What each family does
 * (inputs, call, FLOP model, check) is in sinkhorn.c, knn.c and spectral.c. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Each case is one library call on fixed-seed inputs that the bench makes (and
 * saves for the peers with --save-inputs, as <name>_<what>.npy).  They are
 * timed exactly as the logits ops (time_calls' rule).  Roof: the same-run
 * SGEMM rate, for the cases whose work is GEMM-shaped (exact kNN through the
 * expanded-form GEMM, Vendi's Gram); the FLOP model is each family's `flop`.
 * Sinkhorn (exp-bound log-domain passes) and KSG (d = 1 neighbour counts) have
 * no roof: the peer ratio is their figure. */
static const compute_case CCASES[] = {
    {"sinkhorn", "sinkhorn", "small", CF_SINKHORN, 1, 200, 200, 2, 0, 0.01, 100},
    {"sinkhorn-batch", "sinkhorn", "small", CF_SINKHORN_BATCH, 64, 64, 64, 2, 0, 0.01, 100},
    {"sinkhorn-f32", "sinkhorn", "small", CF_SINKHORN_F32, 1, 200, 200, 64, 0, 0.01, 100},
    {"knn", "knn", "small", CF_KNN, 1, 2000, 0, 64, 5, 0, 0},
    {"ksg-mi", "knn", "small", CF_KSG, 1, 2000, 0, 1, 3, 0, 0},
    {"knn-div", "knn", "small", CF_KNN_DIV, 1, 1000, 1000, 64, 5, 0, 0},
    {"vendi", "vendi", "small", CF_VENDI, 1, 500, 0, 768, 0, 0, 0},
    {"vendi-batch", "vendi", "small", CF_VENDI_BATCH, 500, 16, 0, 64, 0, 0, 0},

    {"sinkhorn", "sinkhorn", "standard", CF_SINKHORN, 1, 1000, 1000, 2, 0, 0.01, 100},
    {"sinkhorn-batch", "sinkhorn", "standard", CF_SINKHORN_BATCH, 1024, 64, 64, 2, 0, 0.01, 100},
    {"knn", "knn", "standard", CF_KNN, 1, 20000, 0, 64, 5, 0, 0},
    {"ksg-mi", "knn", "standard", CF_KSG, 1, 100000, 0, 1, 3, 0, 0},
    {"vendi", "vendi", "standard", CF_VENDI, 1, 2000, 0, 768, 0, 0, 0},
    {"vendi-batch", "vendi", "standard", CF_VENDI_BATCH, 10000, 16, 0, 64, 0, 0, 0},
    {"knn-div", "knn", "standard", CF_KNN_DIV, 1, 5000, 5000, 64, 5, 0, 0},
    /* The issues' own sizes, timed only when asked for (--op knn-100k,vendi-10k,sinkhorn-20k). */
    {"knn-100k", "knn-large", "standard", CF_KNN, 1, 100000, 0, 64, 5, 0, 0},
    {"vendi-10k", "vendi-large", "standard", CF_VENDI, 1, 10000, 0, 768, 0, 0, 0},
    /* Sinkhorn's memory goal: point costs in tiles, peak RSS under 200 MiB. */
    {"sinkhorn-20k", "sinkhorn-large", "standard", CF_SINKHORN, 1, 20000, 20000, 64, 0, 0.01, 10},
    /* rbf Vendi at n = 8000, d = 64; σ = 32, about the median pairwise distance of these points
     * (their squared distances are about 2·64·8.25). */
    {"vendi-rbf", "vendi-large", "standard", CF_VENDI_RBF, 1, 8000, 0, 64, 0, 32.0, 0},

    {"sinkhorn", "sinkhorn", "gpu", CF_SINKHORN, 1, 10000, 10000, 2, 0, 0.01, 100},
    /* The goal (30 ms on an H100): n = m = 10 000, d = 64, 100 iterations, in
     * float32 tiles; and the same in double, to compare. */
    {"sinkhorn-f32", "sinkhorn", "gpu", CF_SINKHORN_F32, 1, 10000, 10000, 64, 0, 0.01, 100},
    {"sinkhorn-d64", "sinkhorn", "gpu", CF_SINKHORN, 1, 10000, 10000, 64, 0, 0.01, 100},
    {"sinkhorn-batch", "sinkhorn", "gpu", CF_SINKHORN_BATCH, 1024, 64, 64, 2, 0, 0.01, 100},
    {"knn", "knn", "gpu", CF_KNN, 1, 100000, 0, 64, 5, 0, 0},
    {"ksg-mi", "knn", "gpu", CF_KSG, 1, 100000, 0, 1, 3, 0, 0},
    {"vendi", "vendi", "gpu", CF_VENDI, 1, 10000, 0, 768, 0, 0, 0},
    {"vendi-batch", "vendi", "gpu", CF_VENDI_BATCH, 10000, 16, 0, 64, 0, 0, 0},
};
enum { N_CCASES = sizeof CCASES / sizeof CCASES[0] };

/* Cases named only explicitly (not by "all" or their family): --op all,vendi-10k. */
static int ccase_explicit_only(const compute_case *c) { return strstr(c->group, "-large") != NULL; }

/* Whether --op names c (the size set and --families aside). */
static int ccase_named(const char *ops, const compute_case *c) {
  if (ccase_explicit_only(c)) return name_listed(ops, c->name);
  return name_listed(ops, "all") || name_listed(ops, c->name) || name_listed(ops, c->group);
}

static int ccase_selected(const options *o, const compute_case *c) {
  return !strcmp(c->set, o->size) && o->families[1] && ccase_named(o->ops, c);
}

void list_compute_cases(FILE *f) {
  for (int i = 0; i < N_CCASES; i++)
    if (!strcmp(CCASES[i].set, "standard"))
      fprintf(f, "  %-16s (%s%s)\n", CCASES[i].name, CCASES[i].group,
              ccase_explicit_only(&CCASES[i]) ? "; only when named" : "");
}

int count_compute_cases(const options *o) {
  int n = 0;
  for (int i = 0; i < N_CCASES; i++) n += ccase_named(o->ops, &CCASES[i]);
  return n;
}

static const compute_family *family_of(const compute_case *c) {
  switch (c->fam) {
  case CF_SINKHORN:
  case CF_SINKHORN_BATCH:
  case CF_SINKHORN_F32:
    return &SINKHORN_FAMILY;
  case CF_KNN:
  case CF_KSG:
  case CF_KNN_DIV:
    return &KNN_FAMILY;
  case CF_VENDI:
  case CF_VENDI_BATCH:
  case CF_VENDI_RBF:
    break;
  }
  return &SPECTRAL_FAMILY;
}

/* Fixed-seed inputs, the seed set by the case's family code. */
static void make_cinputs(const compute_case *c, cinputs *in) {
  memset(in, 0, sizeof *in);
  uint64_t s = 0xC0FFEEull ^ ((uint64_t)c->fam * 0x9E3779B97F4A7C15ull);
  family_of(c)->make(c, in, &s);
}

static void free_cinputs(cinputs *in) {
  free(in->x);
  free(in->y);
  free(in->cost);
  free(in->a);
  free(in->b);
  free(in->idx);
  free(in->dist);
  free(in->scores);
  free(in->sres);
  memset(in, 0, sizeof *in);
}

static ie_status run_ccall(void *call) {
  ccall *a = call;
  return family_of(a->c)->call(a);
}

void save_compute_inputs(const options *o) {
  for (int ci = 0; ci < N_CCASES; ci++) {
    const compute_case *c = &CCASES[ci];
    if (!ccase_selected(o, c)) continue;
    cinputs in;
    make_cinputs(c, &in);
    family_of(c)->save(o->save_dir, c, &in);
    fprintf(stderr, "saved inputs of %s (%s) to %s\n", c->name, c->set, o->save_dir);
    free_cinputs(&in);
  }
}

/* The shape in words, for the table and the JSON "size". */
static void ccase_size(const compute_case *c, char *size, size_t cap) {
  if (c->fam == CF_SINKHORN || c->fam == CF_SINKHORN_F32)
    snprintf(size, cap, "%lldx%lld d=%lld", (long long)c->n, (long long)c->m,
             (long long)c->d);
  else if (c->fam == CF_KNN_DIV)
    snprintf(size, cap, "%lld vs %lld d=%lld", (long long)c->n, (long long)c->m,
             (long long)c->d);
  else if (c->fam == CF_SINKHORN_BATCH)
    snprintf(size, cap, "%lld x %lldx%lld", (long long)c->batch, (long long)c->n,
             (long long)c->m);
  else if (c->batch > 1)
    snprintf(size, cap, "%lld x %lld d=%lld", (long long)c->batch, (long long)c->n,
             (long long)c->d);
  else
    snprintf(size, cap, "%lld d=%lld", (long long)c->n, (long long)c->d);
}

void run_compute(ie_backend b, ie_context *ctx, const options *o, const roofs *r0) {
  const char *bname = ie_backend_name(b);
  const char *devname = ie_context_device_name(ctx);
  int header = 0;
  for (int ci = 0; ci < N_CCASES; ci++) {
    const compute_case *c = &CCASES[ci];
    if (!ccase_selected(o, c)) continue;
    if (!header) {
      printf("  %-16s %-22s %10s %10s %10s %9s %7s  %s\n", "op", "size", "median ms", "min ms",
             "max ms", "GFLOP/s", "%roof", "check");
      header = 1;
    }
    char size[96];
    ccase_size(c, size, sizeof size);
    cinputs in;
    make_cinputs(c, &in);
    ccall a;
    memset(&a, 0, sizeof a);
    a.ctx = ctx;
    a.c = c;
    a.in = &in;
    family_of(c)->bind(&a);
    timing t;
    peak_rss_reset(); /* Sinkhorn reports the peak (inputs and bench included) */
    /* A call over 10 s (sinkhorn-20k, vendi-rbf on 2 cores) is timed once:
     * its warm-up is its one sample, and the peers time it once too. */
    ie_status s = time_calls(run_ccall, &a, o, 10.0, &t);
    const double peak = peak_rss_mib();
    char b1[1200], b2[256], b3[256];
    if (s != IE_OK) {
      printf("  %-16s %-22s failed: %s: %s\n", c->name, size, ie_status_name(s), ie_errmsg(ctx));
      json_printf("{\"type\":\"compute\",\"status\":\"error\",\"op\":\"%s\",\"group\":\"%s\","
                  "\"set\":\"%s\",\"backend\":\"%s\",\"size\":\"%s\",\"error\":\"%s: %s\"}\n",
                  c->name, c->group, c->set, bname, size, ie_status_name(s),
                  jstr(ie_errmsg(ctx), b1, sizeof b1));
      free_cinputs(&in);
      continue;
    }
    const char *model = "";
    double flop = family_of(c)->flop(c, &model);
    double gf = flop > 0 ? flop / t.med / 1e9 : 0;
    double roof = flop > 0 ? r0->gbps[ROOF_GEMM] : 0;
    double frac = roof > 0 ? gf / roof : 0;
    /* What the call returned, to check against the peers (and the iterations). */
    char check[200];
    int64_t iters = 0;
    double value = family_of(c)->check(c, &in, peak, check, sizeof check, &iters);
    printf("  %-16s %-22s %10.3f %10.3f %10.3f %9.1f %6.1f%%  %s\n", c->name, size, t.med * 1e3,
           t.min * 1e3, t.max * 1e3, gf, 100 * frac, check);
    fflush(stdout);
    json_printf("{\"type\":\"compute\",\"status\":\"ok\",\"op\":\"%s\",\"group\":\"%s\","
                "\"set\":\"%s\",\"backend\":\"%s\",\"device\":\"%s\",\"mode\":\"host\","
                "\"size\":\"%s\",\"batch\":%lld,\"n\":%lld,\"m\":%lld,\"d\":%lld,\"k\":%lld,"
                "\"eps\":%g,\"max_iter\":%lld,\"iterations\":%lld,\"value\":%.10g,"
                "\"check\":\"%s\",\"median_ms\":%.6g,\"min_ms\":%.6g,\"max_ms\":%.6g,"
                "\"q1_ms\":%.6g,\"q3_ms\":%.6g,\"reps\":%d,\"flop\":%.6g,\"gflops\":%.6g,"
                "\"roof_kind\":\"%s\",\"roof_gflops\":%.6g,\"roof_frac\":%.6g,"
                "\"flop_model\":\"%s\",\"threads\":%d}\n",
                c->name, c->group, c->set, bname, jstr(devname, b2, sizeof b2), size,
                (long long)c->batch, (long long)c->n, (long long)c->m, (long long)c->d,
                (long long)c->k, c->eps, (long long)c->iters, (long long)iters, value,
                jstr(check, b3, sizeof b3), t.med * 1e3, t.min * 1e3, t.max * 1e3, t.q1 * 1e3,
                t.q3 * 1e3, t.reps, flop, gf, flop > 0 ? "gemm" : "none", roof, frac,
                jstr(model, b1, sizeof b1), omp_get_max_threads());
    free_cinputs(&in);
  }
}
