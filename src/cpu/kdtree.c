/*
 * kdtree.c — an exact k-d tree for the CPU backend's nearest-neighbour
 * search and max-norm range counting in low dimension (docs/SPEC.md §5).
 *
 * Build.  Each node covers a run of the points in tree order; a node of
 * more than LEAF points is split at the median (quickselect) of the
 * coordinate along which its box is widest, so the tree is balanced
 * whatever the data, duplicates included.  The root and the leaves keep the
 * tight bounding box of their points, inner nodes their parent's box cut at
 * the median: boxes that hold their points, which is all exactness needs.
 *
 * Exactness.  A box's key, built from the per-coordinate gaps between the
 * query and the box in the same order and arithmetic as a point's key
 * (knn.h), is never larger than the key of any point inside: rounding is
 * monotone.  The search prunes a node only when that key is strictly
 * larger than the heap's worst, so an equal key with a smaller index still
 * gets in; results equal brute force bit for bit.  Likewise the range count
 * takes or drops a whole box only when both of its faces are strictly inside
 * (or one at or beyond) the radius, which is then true of every point in it.
 */
#include <stdlib.h>
#include <string.h>

#include "knn.h"
#include "../threads.h"

enum { LEAF = 16, SAMPLE = 512, BLOCK = 64, SORTED_K = 8 };

typedef struct {
  int64_t lo, hi; /* the run of points, in tree order */
  int64_t left, right; /* children; left = −1 for a leaf */
} kd_node;

struct ie__kdtree {
  int64_t n, d, nn; /* points, dimension, nodes */
  kd_node *node;
  double *box;  /* node b: d lows, then d highs, at box + 2 d b */
  double *pts;  /* the points in tree order, n × d */
  int64_t *id;  /* tree position → row */
  int64_t *pos; /* row → tree position */
};

/* ---- Build ------------------------------------------------------------------------------ */

#define KD_INLINE static inline __attribute__((always_inline))

/* Swap rows a and b of P (d values each) with their ids. */
KD_INLINE void swap_rows(double *P, int64_t *id, int64_t a, int64_t b, const int64_t d) {
  double *x = P + (size_t)a * (size_t)d, *y = P + (size_t)b * (size_t)d;
  for (int64_t u = 0; u < d; u++) {
    const double t = x[u];
    x[u] = y[u];
    y[u] = t;
  }
  const int64_t t = id[a];
  id[a] = id[b];
  id[b] = t;
}

/* Whether row x of P goes to the front: its coordinate c below piv (at
 * most piv with le). */
KD_INLINE int in_front(const double *P, int64_t x, double piv, int le, const int64_t d, int64_t c) {
  const double v = P[(size_t)x * (size_t)d + (size_t)c];
  return le ? v <= piv : v < piv;
}

/* Move the rows of P[lo .. hi) (with their ids) that go to the front
 * there; returns where the rest begin.  The tests are unpredictable, so no
 * branch depends on them: blocks at both ends note their rows on the wrong
 * side, which are then swapped in pairs (Edelkamp and Weiß's
 * BlockQuicksort); the rows left in the middle go one by one (Lomuto's
 * scheme, a swap every step, the boundary advanced by the test). */
KD_INLINE int64_t partition(double *P, int64_t *id, int64_t lo, int64_t hi, double piv, int le,
                            const int64_t d, int64_t c) {
  uint8_t wl[BLOCK], wr[BLOCK]; /* offsets of the wrong rows in the end blocks */
  int nl = 0, nr = 0, sl = 0, sr = 0;
  while (hi - lo > 2 * BLOCK) {
    if (!nl)
      for (int u = sl = 0; u < BLOCK; u++) {
        wl[nl] = (uint8_t)u;
        nl += !in_front(P, lo + u, piv, le, d, c);
      }
    if (!nr)
      for (int u = sr = 0; u < BLOCK; u++) {
        wr[nr] = (uint8_t)u;
        nr += in_front(P, hi - 1 - u, piv, le, d, c);
      }
    const int m = nl < nr ? nl : nr;
    for (int u = 0; u < m; u++) swap_rows(P, id, lo + wl[sl + u], hi - 1 - wr[sr + u], d);
    nl -= m, sl += m, nr -= m, sr += m;
    lo += nl ? 0 : BLOCK;
    hi -= nr ? 0 : BLOCK;
  }
  int64_t j = lo;
  for (int64_t i = lo; i < hi; i++) {
    const int front = in_front(P, i, piv, le, d, c);
    swap_rows(P, id, i, j, d);
    j += front;
  }
  return j;
}

static void sample_pivots(const double *P, int64_t n, int64_t nth, int64_t d, int64_t c,
                          double *plo, double *phi);

/* Reorder the rows P[0 .. n) so that row nth holds the one whose
 * coordinate c would be there in sorted order, no larger ones before it, no
 * smaller after.  Many rows: first a cut at two pivots from a sample, which
 * leaves few rows between them (Floyd and Rivest); then quickselect with a
 * median-of-three pivot.  When no row is below the pivot, the rows equal to
 * it go first: duplicates stay linear.  Rows move whole: the scans stay
 * sequential. */
KD_INLINE void select_nth(double *P, int64_t *id, int64_t n, int64_t nth, const int64_t d,
                          int64_t c) {
#define V(x) P[(size_t)(x) * (size_t)d + (size_t)c]
  int64_t lo = 0, hi = n;
  if (n >= 16 * SAMPLE) { /* rows below plo, then those up to phi, then the rest */
    double plo, phi;
    sample_pivots(P, n, nth, d, c, &plo, &phi);
    const int64_t j = partition(P, id, 0, n, plo, 0, d, c);
    if (nth < j) hi = j;
    else {
      const int64_t j2 = partition(P, id, j, n, phi, 1, d, c);
      lo = nth < j2 ? j : j2;
      hi = nth < j2 ? j2 : n;
    }
  }
  while (hi - lo > 1) {
    const double a = V(lo), b = V(lo + (hi - lo) / 2), e = V(hi - 1);
    const double piv = a < b ? (b < e ? b : a < e ? e : a) : (a < e ? a : b < e ? e : b);
    const int64_t j = partition(P, id, lo, hi, piv, 0, d, c);
    if (nth < j) hi = j;
    else if (j > lo) lo = j;
    else { /* the pivot is the least: its copies first */
      lo = partition(P, id, lo, hi, piv, 1, d, c);
      if (nth < lo) break;
    }
  }
#undef V
}

/* Two pivots about the nth smallest coordinate c of the rows P[0 .. n):
 * order statistics of an evenly spaced sample some two standard deviations
 * either side of the nth's place in it. */
static void sample_pivots(const double *P, int64_t n, int64_t nth, int64_t d, int64_t c,
                          double *plo, double *phi) {
  double v[SAMPLE];
  int64_t id[SAMPLE];
  for (int64_t j = 0; j < SAMPLE; j++) {
    v[j] = P[(size_t)(j * (n / SAMPLE)) * (size_t)d + (size_t)c];
    id[j] = j;
  }
  const int64_t q = nth / (n / SAMPLE), r = q < SAMPLE - 1 ? q : SAMPLE - 1, g = 24;
  const int64_t rl = r - g > 0 ? r - g : 0, rh = r + g < SAMPLE - 1 ? r + g : SAMPLE - 1;
  select_nth(v, id, SAMPLE, rl, 1, 0);
  select_nth(v + rl, id + rl, SAMPLE - rl, rh - rl, 1, 0);
  *plo = v[rl];
  *phi = v[rh];
}

/* Nodes of the subtree over c points: they are numbered in preorder, so a
 * node's right child follows its left subtree. */
static int64_t subtree_nodes(int64_t c) {
  return c <= LEAF ? 1 : 1 + subtree_nodes(c / 2) + subtree_nodes(c - c / 2);
}

/* The subtree of node nd over rows [lo .. hi) of t->pts; big halves are
 * OpenMP tasks. */
static void build(ie__kdtree *t, int64_t nd, int64_t lo, int64_t hi) {
  const int64_t d = t->d;
  double *P = t->pts;
  double *blo = t->box + 2 * (size_t)d * (size_t)nd, *bhi = blo + d;
  if (nd == 0 || hi - lo <= LEAF) { /* tight boxes at the root and the leaves */
    for (int64_t c = 0; c < d; c++) blo[c] = bhi[c] = P[(size_t)lo * (size_t)d + (size_t)c];
    for (int64_t p = lo + 1; p < hi; p++) {
      const double *r = P + (size_t)p * (size_t)d;
      for (int64_t c = 0; c < d; c++) {
        blo[c] = r[c] < blo[c] ? r[c] : blo[c];
        bhi[c] = r[c] > bhi[c] ? r[c] : bhi[c];
      }
    }
  }
  t->node[nd].lo = lo;
  t->node[nd].hi = hi;
  t->node[nd].left = -1;
  if (hi - lo <= LEAF) return;
  int64_t cs = 0;
  for (int64_t c = 1; c < d; c++)
    if (bhi[c] - blo[c] > bhi[cs] - blo[cs]) cs = c;
  const int64_t mid = lo + (hi - lo) / 2;
  double *const run = P + (size_t)lo * (size_t)d;
  switch (d) { /* a constant d unrolls the row moves */
  case 1: select_nth(run, t->id + lo, hi - lo, mid - lo, 1, cs); break;
  case 2: select_nth(run, t->id + lo, hi - lo, mid - lo, 2, cs); break;
  case 3: select_nth(run, t->id + lo, hi - lo, mid - lo, 3, cs); break;
  case 4: select_nth(run, t->id + lo, hi - lo, mid - lo, 4, cs); break;
  default: select_nth(run, t->id + lo, hi - lo, mid - lo, d, cs); break;
  }
  const int64_t left = nd + 1, right = left + subtree_nodes(mid - lo);
  t->node[nd].left = left;
  t->node[nd].right = right;
  /* Inner children get this box cut at the median: it holds their points. */
  const double cut = P[(size_t)mid * (size_t)d + (size_t)cs];
  double *l = t->box + 2 * (size_t)d * (size_t)left, *r = t->box + 2 * (size_t)d * (size_t)right;
  memcpy(l, blo, 2 * (size_t)d * sizeof *l);
  memcpy(r, blo, 2 * (size_t)d * sizeof *r);
  l[d + cs] = cut;
  r[cs] = cut;
  if (hi - lo > 8192) {
#pragma omp task
    build(t, left, lo, mid);
    build(t, right, mid, hi);
#pragma omp taskwait
  } else {
    build(t, left, lo, mid);
    build(t, right, mid, hi);
  }
}

void ie__kd_free(ie__kdtree *t) {
  if (!t) return;
  free(t->node);
  free(t->box);
  free(t->pts);
  free(t->id);
  free(t->pos);
  free(t);
}

ie__kdtree *ie__kd_build(const double *R, int64_t n, int64_t d, int threads) {
  ie__kdtree *t = ie__malloc(sizeof *t);
  if (!t) return NULL;
  memset(t, 0, sizeof *t);
  /* Every leaf holds at least LEAF/2 points, so at most n/(LEAF/2) leaves. */
  const int64_t cap = 2 * (n / (LEAF / 2)) + 1;
  t->n = n;
  t->d = d;
  t->node = ie__malloc((size_t)cap * sizeof *t->node);
  t->box = ie__malloc((size_t)cap * 2 * (size_t)d * sizeof *t->box);
  t->pts = ie__malloc(((size_t)n * (size_t)d + 1) * sizeof *t->pts);
  t->id = ie__malloc(((size_t)n + 1) * sizeof *t->id);
  t->pos = ie__malloc(((size_t)n + 1) * sizeof *t->pos);
  if (!t->node || !t->box || !t->pts || !t->id || !t->pos) {
    ie__kd_free(t);
    return NULL;
  }
  memcpy(t->pts, R, (size_t)n * (size_t)d * sizeof *t->pts);
  for (int64_t j = 0; j < n; j++) t->id[j] = j;
  if (n > 0) {
#pragma omp parallel num_threads(threads)
#pragma omp single
    build(t, 0, 0, n);
  }
  for (int64_t p = 0; p < n; p++) t->pos[t->id[p]] = p;
  t->nn = n > 0 ? subtree_nodes(n) : 0;
  return t;
}

/* ---- k nearest neighbours ------------------------------------------------------------------- */

typedef struct {
  const ie__kdtree *t;
  const double *q;
  int64_t k, spos; /* spos: the tree position of the point to skip, or −1 */
  double *hd;
  int64_t *hi, cnt;
  double worst; /* +inf until k are held, then the worst key of them */
} kd_query;

/* Offer (kp, j) to the query's k best.  For k ≤ SORTED_K they are an
 * array kept sorted, which an offer enters by conditional moves, every slot
 * from the last taking the pair before it, (kp, j) or its own: no branch
 * on the comparisons, which are unpredictable (a new slot first holds a
 * sentinel after every pair).  For larger k, the heap of knn.h. */
KD_INLINE void kd_offer(kd_query *s, double kp, int64_t j) {
  if (s->k <= SORTED_K) {
    double *hd = s->hd;
    int64_t *hi = s->hi, t = s->cnt;
    if (t < s->k) {
      hd[t] = INFINITY;
      hi[t] = INT64_MAX;
      s->cnt++;
    } else
      t--;
    for (; t > 0; t--) {
      const int up = knn_after(hd[t - 1], hi[t - 1], kp, j), in = knn_after(hd[t], hi[t], kp, j);
      const double dv = up ? hd[t - 1] : in ? kp : hd[t];
      const int64_t iv = up ? hi[t - 1] : in ? j : hi[t];
      hd[t] = dv;
      hi[t] = iv;
    }
    const int in = knn_after(hd[0], hi[0], kp, j);
    hd[0] = in ? kp : hd[0];
    hi[0] = in ? j : hi[0];
    if (s->cnt == s->k) s->worst = hd[s->k - 1];
    return;
  }
  knn_offer(s->hd, s->hi, &s->cnt, s->k, kp, j);
  if (s->cnt == s->k) s->worst = s->hd[0];
}

/* The k best in (distance, index) order: square roots for Euclidean keys. */
KD_INLINE void kd_finish(kd_query *s, const int cheb) {
  if (s->k > SORTED_K) knn_heap_finish(s->hd, s->hi, s->cnt, !cheb);
  else if (!cheb)
    for (int64_t u = 0; u < s->cnt; u++) s->hd[u] = sqrt(s->hd[u]);
}

/* The key of the box of node nd: gaps in place of differences (see top). */
KD_INLINE double box_key(const kd_query *s, int64_t nd, const int64_t d, const int cheb) {
  const double *blo = s->t->box + 2 * (size_t)d * (size_t)nd, *bhi = blo + d, *q = s->q;
  double key = 0;
  for (int64_t c = 0; c < d; c++) {
    const double a = blo[c] - q[c], b = q[c] - bhi[c], ab = a > b ? a : b, g = ab > 0 ? ab : 0;
    if (cheb) key = g > key ? g : key;
    else key += g * g;
  }
  return key;
}

/* Offer the points of leaf n to the heap: their keys first, in a loop
 * free of branches, then the few at most the worst. */
KD_INLINE void kd_leaf(kd_query *s, const kd_node *n, const int64_t d, const int cheb) {
  const ie__kdtree *t = s->t;
  const double *r = t->pts + (size_t)n->lo * (size_t)d;
  const int64_t c = n->hi - n->lo;
  double key[LEAF];
  for (int64_t u = 0; u < c; u++)
    key[u] = cheb ? ie__knn_key_cheb(s->q, r + (size_t)u * (size_t)d, d)
                  : ie__knn_key_euclid(s->q, r + (size_t)u * (size_t)d, d);
  for (int64_t u = 0; u < c; u++)
    if (key[u] <= s->worst && n->lo + u != s->spos) kd_offer(s, key[u], t->id[n->lo + u]);
}

/* The subtree of node nd (box key kn), depth first, the nearer child
 * first, with an explicit stack of nodes still to visit and their box keys:
 * a node is entered only while its key is at most the heap's worst (or the
 * heap is not full). */
KD_INLINE void kd_descend(kd_query *s, int64_t nd, double kn, const int64_t d, const int cheb) {
  const ie__kdtree *t = s->t;
  int64_t node[128]; /* the depth is at most log2(n / (LEAF / 2)) + 1 < 64 */
  double key[128];
  int top = 0;
  node[0] = nd;
  key[0] = kn;
  while (top >= 0) {
    const kd_node *n = t->node + node[top];
    kn = key[top--];
    if (!(kn <= s->worst)) continue;
    if (n->left < 0) {
      kd_leaf(s, n, d, cheb);
      continue;
    }
    const double ka = box_key(s, n->left, d, cheb), kb = box_key(s, n->right, d, cheb);
    const int near_left = !(kb < ka);
    node[top + 1] = near_left ? n->right : n->left; /* the far child waits */
    key[top + 1] = near_left ? kb : ka;
    node[top + 2] = near_left ? n->left : n->right;
    key[top + 2] = near_left ? ka : kb;
    top += 2;
  }
}

/* The key of the nearest point outside the box of node nd that holds the
 * query: the least gap from the query to a face.  Every point outside the
 * node's subtree lies in a sibling's box, beyond or on one of these faces,
 * so its key is at least this (rounding is monotone, see top). */
KD_INLINE double inside_key(const kd_query *s, int64_t nd, const int64_t d, const int cheb) {
  const double *blo = s->t->box + 2 * (size_t)d * (size_t)nd, *bhi = blo + d, *q = s->q;
  double key = INFINITY;
  for (int64_t c = 0; c < d; c++) {
    const double a = q[c] - blo[c], b = bhi[c] - q[c], g = a < b ? a : b, gk = cheb ? g : g * g;
    key = gk < key ? gk : key;
  }
  return key;
}

/* The k nearest neighbours of the points of leaf path[depth] among the
 * tree's own points (self queries), path holding the leaf's ancestors from
 * the root.  Each query goes bottom-up: its own leaf, then the sibling of
 * each ancestor, nearest ancestors first, until every point outside the
 * ancestor is farther than the heap's worst.  The heap fills at once with
 * near points, so little is visited beyond the leaf's neighbourhood. */
KD_INLINE void kd_leaf_queries(const ie__kdtree *t, const int64_t *path, int depth, int64_t k,
                               double *dist, int64_t *idx, const int64_t d, const int cheb) {
  const kd_node *ln = t->node + path[depth];
  for (int64_t p = ln->lo; p < ln->hi; p++) {
    const int64_t i = t->id[p];
    kd_query s = {t, t->pts + (size_t)p * (size_t)d, k, p, dist + (size_t)i * (size_t)k,
                  idx + (size_t)i * (size_t)k, 0, INFINITY};
    kd_leaf(&s, ln, d, cheb);
    for (int l = depth; l > 0 && !(inside_key(&s, path[l], d, cheb) > s.worst); l--) {
      const kd_node *up = t->node + path[l - 1];
      const int64_t sib = up->left == path[l] ? up->right : up->left;
      const double kb = box_key(&s, sib, d, cheb);
      if (kb <= s.worst) kd_descend(&s, sib, kb, d, cheb);
    }
    kd_finish(&s, cheb);
  }
}

#define KD_SEARCH(D)                                                                               \
  static void kd_search_e##D(kd_query *s) { kd_descend(s, 0, 0, D, 0); }                          \
  static void kd_search_c##D(kd_query *s) { kd_descend(s, 0, 0, D, 1); }                          \
  static void kd_leafq_e##D(const ie__kdtree *t, const int64_t *pa, int l, int64_t k, double *dd, \
                            int64_t *ii) {                                                         \
    kd_leaf_queries(t, pa, l, k, dd, ii, D, 0);                                                    \
  }                                                                                                \
  static void kd_leafq_c##D(const ie__kdtree *t, const int64_t *pa, int l, int64_t k, double *dd, \
                            int64_t *ii) {                                                         \
    kd_leaf_queries(t, pa, l, k, dd, ii, D, 1);                                                    \
  }
KD_SEARCH(1)
KD_SEARCH(2)
KD_SEARCH(3)
KD_SEARCH(4)
KD_SEARCH(5)
KD_SEARCH(6)
KD_SEARCH(7)
KD_SEARCH(8)
#undef KD_SEARCH

typedef void (*kd_search_fn)(kd_query *s);
typedef void (*kd_leafq_fn)(const ie__kdtree *t, const int64_t *path, int depth, int64_t k,
                            double *dist, int64_t *idx);

/* Any other dimension: d read from the tree. */
static void kd_search_en(kd_query *s) { kd_descend(s, 0, 0, s->t->d, 0); }
static void kd_search_cn(kd_query *s) { kd_descend(s, 0, 0, s->t->d, 1); }
static void kd_leafq_en(const ie__kdtree *t, const int64_t *pa, int l, int64_t k, double *dd,
                        int64_t *ii) {
  kd_leaf_queries(t, pa, l, k, dd, ii, t->d, 0);
}
static void kd_leafq_cn(const ie__kdtree *t, const int64_t *pa, int l, int64_t k, double *dd,
                        int64_t *ii) {
  kd_leaf_queries(t, pa, l, k, dd, ii, t->d, 1);
}

/* The search for the dimension and the metric. */
static kd_search_fn kd_search_for(int64_t d, int cheb) {
  static const kd_search_fn euclid[8] = {kd_search_e1, kd_search_e2, kd_search_e3, kd_search_e4,
                                         kd_search_e5, kd_search_e6, kd_search_e7, kd_search_e8};
  static const kd_search_fn cheby[8] = {kd_search_c1, kd_search_c2, kd_search_c3, kd_search_c4,
                                        kd_search_c5, kd_search_c6, kd_search_c7, kd_search_c8};
  if (d < 1 || d > 8) return cheb ? kd_search_cn : kd_search_en;
  return cheb ? cheby[d - 1] : euclid[d - 1];
}

static kd_leafq_fn kd_leafq_for(int64_t d, int cheb) {
  static const kd_leafq_fn euclid[8] = {kd_leafq_e1, kd_leafq_e2, kd_leafq_e3, kd_leafq_e4,
                                        kd_leafq_e5, kd_leafq_e6, kd_leafq_e7, kd_leafq_e8};
  static const kd_leafq_fn cheby[8] = {kd_leafq_c1, kd_leafq_c2, kd_leafq_c3, kd_leafq_c4,
                                       kd_leafq_c5, kd_leafq_c6, kd_leafq_c7, kd_leafq_c8};
  if (d < 1 || d > 8) return cheb ? kd_leafq_cn : kd_leafq_en;
  return cheb ? cheby[d - 1] : euclid[d - 1];
}

/* The nodes from the root down to leaf `leaf` in path[0 .. depth]; the
 * depth. */
static int kd_path(const ie__kdtree *t, int64_t leaf, int64_t *path) {
  const int64_t lo = t->node[leaf].lo;
  int depth = 0;
  int64_t nd = 0;
  while (nd != leaf) {
    const kd_node *n = t->node + nd;
    path[depth++] = nd;
    nd = lo < t->node[n->right].lo ? n->left : n->right;
  }
  path[depth] = leaf;
  return depth;
}

/* In a parallel loop: 1 (and *stop set) once the caller cancels. */
static inline int kd_cancelled(const ie_context *ctx, int *stop) {
  if (!ie__cancelled(ctx)) return 0;
#pragma omp atomic write
  *stop = 1;
  return 1;
}

int ie__kd_knn(const ie_context *ctx, const ie__kdtree *t, const double *Q, int64_t m, int64_t k,
               int cheb, int self, int64_t *idx, double *dist) {
  const int64_t d = t->d;
  int stop = 0;
  if (self) { /* the tree's own points (m = n): a leaf's queries at a time */
    const kd_leafq_fn leafq = kd_leafq_for(d, cheb);
#pragma omp parallel for schedule(dynamic, 16) num_threads(ie__threads(ctx))
    for (int64_t nd = 0; nd < t->nn; nd++)
      if (t->node[nd].left < 0 && !kd_cancelled(ctx, &stop)) {
        int64_t path[64]; /* the depth is below log2(n / (LEAF / 2)) + 1 < 64 */
        leafq(t, path, kd_path(t, nd, path), k, dist, idx);
      }
    return stop;
  }
  const kd_search_fn search = kd_search_for(d, cheb);
#pragma omp parallel for schedule(dynamic, 64) num_threads(ie__threads(ctx))
  for (int64_t i = 0; i < m; i++) {
    if (kd_cancelled(ctx, &stop)) continue;
    kd_query s = {t, Q + (size_t)i * (size_t)d, k, -1, dist + (size_t)i * (size_t)k,
                  idx + (size_t)i * (size_t)k, 0, INFINITY};
    search(&s);
    kd_finish(&s, cheb);
  }
  return stop;
}

/* ---- Range counting ------------------------------------------------------------------------- */

static int64_t count_node(const ie__kdtree *t, int64_t nd, const double *q, double rad, int64_t spos) {
  const int64_t d = t->d;
  const kd_node *n = t->node + nd;
  const double *blo = t->box + 2 * (size_t)d * (size_t)nd, *bhi = blo + d;
  int inside = 1;
  for (int64_t c = 0; c < d; c++) {
    const double a = blo[c] - q[c], b = q[c] - bhi[c];
    if (a >= rad || b >= rad) return 0; /* every point at or beyond the radius */
    inside &= fabs(a) < rad && fabs(b) < rad;
  }
  if (inside) return (n->hi - n->lo) - (spos >= n->lo && spos < n->hi);
  if (n->left >= 0)
    return count_node(t, n->left, q, rad, spos) + count_node(t, n->right, q, rad, spos);
  int64_t cnt = 0;
  for (int64_t p = n->lo; p < n->hi; p++) {
    if (p == spos) continue;
    const double *r = t->pts + (size_t)p * (size_t)d;
    int in = 1;
    for (int64_t c = 0; c < d && in; c++) in = fabs(r[c] - q[c]) < rad;
    cnt += in;
  }
  return cnt;
}

int ie__kd_range_count(const ie_context *ctx, const ie__kdtree *t, const double *Q, int64_t m,
                       const double *radius, int self, int64_t *count) {
  const int64_t d = t->d;
  const int order = self && m == t->n;
  int stop = 0;
#pragma omp parallel for schedule(dynamic, 64) num_threads(ie__threads(ctx))
  for (int64_t u = 0; u < m; u++) {
    if (kd_cancelled(ctx, &stop)) continue;
    const int64_t i = order ? t->id[u] : u;
    const double rad = radius[i];
    const int64_t spos = self && i < t->n ? t->pos[i] : -1;
    count[i] = rad > 0 ? count_node(t, 0, Q + (size_t)i * (size_t)d, rad, spos) : 0;
  }
  return stop;
}
