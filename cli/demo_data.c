/*
 * demo_data.c — the built-in data of `infoest demo`: language-model-like
 * logits, labels and small point sets, from a fixed seed.
 */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

/* ---- Data ------------------------------------------------------------------------ */

typedef struct {
  uint64_t s;
} prng;

static uint64_t prng_next(prng *g) { /* splitmix64 */
  uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double prng_unit(prng *g) { /* (0, 1) */
  return ((double)(prng_next(g) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Two standard normals (Box–Muller). */
static void prng_normal2(prng *g, double *a, double *b) {
  double r = sqrt(-2.0 * log(prng_unit(g)));
  double t = 6.283185307179586 * prng_unit(g);
  *a = r * cos(t);
  *b = r * sin(t);
}

/* p: logits with a per-row scale (flat to peaked rows); q: p plus noise;
 * every 8th row masks its last V/16 columns (-inf in both, probability 0);
 * labels: the argmax of p half of the time, else uniform over the unmasked
 * columns. */
int demo_make_data(demo_data *d) {
  size_t n = (size_t)d->B * (size_t)d->V;
  d->p = malloc(n * sizeof(float));
  d->q = malloc(n * sizeof(float));
  d->labels = malloc((size_t)d->B * sizeof(int32_t));
  if (!d->p || !d->q || !d->labels) return -1;
  prng g = {d->seed};
  d->masked_cols = d->V / 16;
  for (int64_t r = 0; r < d->B; r++) {
    double scale = 0.5 + 3.5 * prng_unit(&g);
    float *pr = d->p + r * d->V, *qr = d->q + r * d->V;
    for (int64_t k = 0; k < d->V; k++) {
      double z1, z2;
      prng_normal2(&g, &z1, &z2);
      pr[k] = (float)(scale * z1);
      qr[k] = (float)(scale * z1 + 0.7 * z2);
    }
    int64_t live = d->V;
    if (r % 8 == 0 && d->masked_cols > 0) {
      live = d->V - d->masked_cols;
      for (int64_t k = live; k < d->V; k++) pr[k] = qr[k] = -INFINITY;
    }
    int64_t y;
    if (prng_unit(&g) < 0.5) {
      y = 0;
      for (int64_t k = 1; k < live; k++)
        if (pr[k] > pr[y]) y = k;
    } else {
      y = (int64_t)(prng_unit(&g) * (double)live);
      if (y >= live) y = live - 1;
    }
    d->labels[r] = (int32_t)y;
  }

  d->vx = malloc((size_t)FAM_VENDI_N * FAM_VENDI_D * sizeof(float));
  d->sa = malloc((size_t)FAM_SINK_N * sizeof(float));
  d->sb = malloc((size_t)FAM_SINK_N * sizeof(float));
  d->sx = malloc((size_t)FAM_SINK_N * FAM_SINK_D * sizeof(float));
  d->sy = malloc((size_t)FAM_SINK_N * FAM_SINK_D * sizeof(float));
  d->kx = malloc((size_t)FAM_KNN_N * FAM_KNN_D * sizeof(float));
  if (!d->vx || !d->sa || !d->sb || !d->sx || !d->sy || !d->kx) return -1;
  /* A generator of their own, so that --rows / --cols do not change them. */
  g.s = d->seed ^ 0x5deece66dULL;
  double z1, z2;
  enum { CL = 16 };
  float centre[CL][FAM_VENDI_D];
  for (int c = 0; c < CL; c++)
    for (int k = 0; k < FAM_VENDI_D; k++) {
      prng_normal2(&g, &z1, &z2);
      centre[c][k] = (float)z1;
    }
  for (int i = 0; i < FAM_VENDI_N; i++)
    for (int k = 0; k < FAM_VENDI_D; k++) {
      prng_normal2(&g, &z1, &z2);
      d->vx[i * FAM_VENDI_D + k] = centre[i % CL][k] + (float)(0.4 * z1);
    }
  for (int i = 0; i < FAM_SINK_N; i++) {
    d->sa[i] = (float)(0.2 + prng_unit(&g));
    d->sb[i] = (float)(0.2 + prng_unit(&g));
    for (int k = 0; k < FAM_SINK_D; k++) {
      prng_normal2(&g, &z1, &z2);
      d->sx[i * FAM_SINK_D + k] = (float)z1;
      d->sy[i * FAM_SINK_D + k] = (float)(0.8 * z2 + 0.5);
    }
  }
  for (int i = 0; i < FAM_KNN_N; i++) {
    double prev = 0;
    for (int k = 0; k < FAM_KNN_D; k++) {
      prng_normal2(&g, &z1, &z2);
      prev = 0.6 * prev + z1;
      d->kx[i * FAM_KNN_D + k] = (float)prev;
    }
  }
  return 0;
}

void demo_tensor2(DLTensor *t, void *data, int64_t *shape, int ndim, DLDataType dt) {
  memset(t, 0, sizeof *t);
  t->data = data;
  t->device.device_type = kDLCPU;
  t->ndim = ndim;
  t->dtype = dt;
  t->shape = shape;
}
