/*
 * mauve_seed.h — PRIVATE.  The CPU's k-means++ starts of MAUVE
 * (src/cpu/mauve_seed.c), run for the CPU backend's `seed` op
 * (src/cpu/mauve.c).
 */
#ifndef IE_CPU_MAUVE_SEED_H
#define IE_CPU_MAUVE_SEED_H

#include <stdint.h>

/* Scratch made once for the rows y (host, n × r float), k centres and
 * `starts` starts run side by side, on `threads` OpenMP threads (the
 * centres do not depend on it). */
typedef struct ie__mauve_seed {
  const float *y;
  int64_t n, r, k, starts; /* starts: the most run side by side */
  int threads;
  int64_t live;            /* the starts of the current run (≤ starts) */
  int64_t t, tp, nb;   /* candidates a centre (2 + ⌊ln k⌋), t padded to 8 lanes, blocks of rows */
  int64_t lc;          /* columns of ct and dots: starts·tp rounded up to 16 */
  double *yn;          /* n: ‖y_i‖² */
  double *d2, *blk;    /* starts × n: D², the squared distance to the nearest centre; starts × nb: its block sums */
  double *bcum;        /* nb: the running block sums of the start drawing */
  double *potb;        /* nb × lc: each block's share of the candidates' potentials */
  float *ct, *dots;    /* r × lc: the candidates, transposed (zero pads); n × lc: the rows' dot products with them */
  int64_t *cand, *kept; /* lc: the candidates' rows; starts: the candidate each start kept last */
  double *pot, *cn;    /* lc: potentials, ‖x‖² of the candidates (+inf in the pad) */
} ie__mauve_seed;

/* 0, or -1 when out of memory (nothing left allocated). */
int ie__mauve_seed_init(ie__mauve_seed *s, const float *y, int64_t n, int64_t r, int64_t k, int64_t starts,
                        int threads);
void ie__mauve_seed_free(ie__mauve_seed *s);
/* For each of `count` (≤ starts) starts st: k centres (c[st], k × r float)
 * from the SplitMix64 stream at *rng[st]; the same as running the starts
 * one at a time. */
void ie__mauve_seed_run(ie__mauve_seed *s, int64_t count, uint64_t *const *rng, float *const *c);

#endif
