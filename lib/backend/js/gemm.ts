/**
 * Reference SGEMM in TypeScript: C (m,n) = alpha op(A) @ op(B) + beta C,
 * row-major with leading dimensions, the same contract as the native
 * wrapper (native/kernels/gemm.h). Sums run in float64 and are rounded once.
 */
import type { SgemmArgs } from '../types.js';

export function sgemm(args: SgemmArgs): void {
  const { transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc } = args;
  const acc = new Float64Array(n);
  const aRow = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    // Row i of op(A), gathered once.
    if (transA) for (let p = 0; p < k; p++) aRow[p] = a[p * lda + i];
    else for (let p = 0; p < k; p++) aRow[p] = a[i * lda + p];
    acc.fill(0);
    if (!transB) {
      for (let p = 0; p < k; p++) {
        const aip = aRow[p];
        if (aip === 0) continue;
        const off = p * ldb;
        for (let j = 0; j < n; j++) acc[j] += aip * b[off + j];
      }
    } else {
      for (let j = 0; j < n; j++) {
        const off = j * ldb;
        let s = 0;
        for (let p = 0; p < k; p++) s += aRow[p] * b[off + p];
        acc[j] = s;
      }
    }
    const cOff = i * ldc;
    if (beta === 0) for (let j = 0; j < n; j++) c[cOff + j] = alpha * acc[j];
    else for (let j = 0; j < n; j++) c[cOff + j] = alpha * acc[j] + beta * c[cOff + j];
  }
}
