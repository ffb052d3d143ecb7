/*
 * knn.cl — exact k-nearest-neighbour search and max-norm range counting
 * (docs/SPEC.md §5) for the OpenCL backend.  Every name here starts with knn_ (the
 * .cl files are one program).  Needs cl_khr_fp64: distances are computed in
 * double from coordinate differences of the float32 points, the same
 * arithmetic as the CPU backend and a float64 NumPy reference.
 *
 * One work-item a query.  A work-group stages tiles of the references in
 * local memory (when they fit); each work-item keeps a bounded max-heap of
 * its k best (key, index) pairs, in lexicographic order, in its own rows of
 * the output buffers, and abandons a candidate's key as soon as it exceeds
 * the heap's worst.  The heap is sorted at the end: (distance, index).
 */
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

/* (a, ia) after (b, ib) in the (key, index) order. */
inline int knn_after(double a, long ia, double b, long ib) {
  return a > b || (a == b && ia > ib);
}

inline void knn_sift_down(__global double *hd, __global long *hi, long cnt, long p) {
  const double d = hd[p];
  const long x = hi[p];
  for (;;) {
    long c = 2 * p + 1;
    if (c >= cnt) break;
    if (c + 1 < cnt && knn_after(hd[c + 1], hi[c + 1], hd[c], hi[c])) c++;
    if (!knn_after(hd[c], hi[c], d, x)) break;
    hd[p] = hd[c];
    hi[p] = hi[c];
    p = c;
  }
  hd[p] = d;
  hi[p] = x;
}

inline void knn_offer(__global double *hd, __global long *hi, long *cnt, long k, double d, long j) {
  if (*cnt < k) {
    long p = (*cnt)++;
    while (p > 0) {
      long u = (p - 1) / 2;
      if (!knn_after(d, j, hd[u], hi[u])) break;
      hd[p] = hd[u];
      hi[p] = hi[u];
      p = u;
    }
    hd[p] = d;
    hi[p] = j;
  } else if (knn_after(hd[0], hi[0], d, j)) {
    hd[0] = d;
    hi[0] = j;
    knn_sift_down(hd, hi, k, 0);
  }
}

/* Queries q0 .. q0 + m − 1 of Q against all n rows of R (both compact,
 * d columns).  Outputs for query q0 + i at rows i of dist / idx (k each).
 * tile_rows > 0: stage that many reference rows at a time in `tile`. */
__kernel void knn_search(__global const float *Q, __global const float *R, long q0, long m, long n,
                         int d, long k, int cheb, int self, __global double *dist,
                         __global long *idx, __local float *tile, int tile_rows) {
  const long li = get_global_id(0), i = q0 + li;
  const int lid = get_local_id(0), lsz = get_local_size(0);
  const int live = li < m;
  __global double *hd = dist + (live ? li : 0) * k;
  __global long *hi = idx + (live ? li : 0) * k;
  __global const float *qi = Q + (live ? i : 0) * d;
  long cnt = 0;
  const long step = tile_rows > 0 ? tile_rows : n;
  for (long r0 = 0; r0 < n; r0 += step) {
    const int br = (int)min(step, n - r0);
    if (tile_rows > 0) {
      barrier(CLK_LOCAL_MEM_FENCE);
      for (int t = lid; t < br * d; t += lsz) tile[t] = R[r0 * d + t];
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!live) continue;
    for (int jj = 0; jj < br; jj++) {
      const long j = r0 + jj;
      if (self && j == i) continue;
      const double w = cnt < k ? INFINITY : hd[0];
      double key = 0;
      if (tile_rows > 0) {
        __local const float *rj = tile + jj * d;
        if (cheb)
          for (int c = 0; c < d && key <= w; c++) key = fmax(key, fabs((double)qi[c] - (double)rj[c]));
        else
          for (int c = 0; c < d && key <= w; c++) {
            const double t = (double)qi[c] - (double)rj[c];
            key += t * t;
          }
      } else {
        __global const float *rj = R + j * d;
        if (cheb)
          for (int c = 0; c < d && key <= w; c++) key = fmax(key, fabs((double)qi[c] - (double)rj[c]));
        else
          for (int c = 0; c < d && key <= w; c++) {
            const double t = (double)qi[c] - (double)rj[c];
            key += t * t;
          }
      }
      if (key <= w) knn_offer(hd, hi, &cnt, k, key, j);
    }
  }
  if (!live) return;
  /* heapsort to ascending (key, index); Euclidean keys are squared */
  for (long e = cnt - 1; e > 0; e--) {
    const double td = hd[0];
    const long ti = hi[0];
    hd[0] = hd[e];
    hi[0] = hi[e];
    hd[e] = td;
    hi[e] = ti;
    knn_sift_down(hd, hi, e, 0);
  }
  if (!cheb)
    for (long t = 0; t < cnt; t++) hd[t] = sqrt(hd[t]);
}

/* count[i] = #{j (≠ i when self) : max_c |R_jc − Q_ic| < radius[i]}. */
__kernel void knn_range_count(__global const float *Q, __global const float *R, long m, long n,
                              int d, __global const double *radius, int self,
                              __global long *count, __local float *tile, int tile_rows) {
  const long i = get_global_id(0);
  const int lid = get_local_id(0), lsz = get_local_size(0);
  const int live = i < m;
  __global const float *qi = Q + (live ? i : 0) * d;
  const double rad = live ? radius[i] : 0;
  long cnt = 0;
  const long step = tile_rows > 0 ? tile_rows : n;
  for (long r0 = 0; r0 < n; r0 += step) {
    const int br = (int)min(step, n - r0);
    if (tile_rows > 0) {
      barrier(CLK_LOCAL_MEM_FENCE);
      for (int t = lid; t < br * d; t += lsz) tile[t] = R[r0 * d + t];
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!live || !(rad > 0)) continue;
    for (int jj = 0; jj < br; jj++) {
      const long j = r0 + jj;
      if (self && j == i) continue;
      int in = 1;
      if (tile_rows > 0) {
        __local const float *rj = tile + jj * d;
        for (int c = 0; c < d && in; c++) in = fabs((double)rj[c] - (double)qi[c]) < rad;
      } else {
        __global const float *rj = R + j * d;
        for (int c = 0; c < d && in; c++) in = fabs((double)rj[c] - (double)qi[c]) < rad;
      }
      cnt += in;
    }
  }
  if (live) count[i] = cnt;
}

#endif /* cl_khr_fp64 */
