/**
 * Helpers the TS recurrent kernels share (native/kernels/sequence.cpp is
 * their C++ twin).
 */

/** output (B, T, H) -> the states after the last step (B, H). */
export function lastStates(output: Float32Array, B: number, T: number, H: number): Float32Array {
  const last = new Float32Array(B * H);
  for (let b = 0; b < B; b++) last.set(output.subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
  return last;
}

/** A skipped step: the state (and so the output) repeats the previous one. */
export function carryOver(dst: Float32Array, at: number, prev: Float32Array, from: number, H: number): void {
  for (let j = 0; j < H; j++) dst[at + j] = prev[from + j];
}

/** h (B, H, row stride ldh) * scale (B, H): the state as the recurrent matmul reads it under recurrent dropout. */
export function scaleState(h: Float32Array, ldh: number, scale: Float32Array, B: number, H: number): Float32Array {
  const out = new Float32Array(B * H);
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) out[b * H + j] = h[b * ldh + j] * scale[b * H + j];
  return out;
}

/** dh += dOutput at a skipped step (its gate gradients stay 0). */
export function passThrough(dh: Float32Array, d: number, dOutput: Float32Array | null, o: number, H: number): void {
  if (dOutput) for (let j = 0; j < H; j++) dh[d + j] += dOutput[o + j];
}

/**
 * hPrev (B, T, H): the state each step started from (h0 at t = 0), times
 * the recurrent-dropout scale when there is one: the left operand of
 * dRecurrentKernel = hPrev^T dG.
 */
export function previousStates(B: number, T: number, H: number, h0: Float32Array, output: Float32Array, scale: Float32Array | null): Float32Array {
  const hPrev = new Float32Array(B * T * H);
  for (let b = 0; b < B; b++) {
    if (T > 0) hPrev.set(h0.subarray(b * H, (b + 1) * H), b * T * H);
    if (T > 1) hPrev.set(output.subarray(b * T * H, (b * T + T - 1) * H), (b * T + 1) * H);
  }
  if (scale) for (let r = 0; r < B * T; r++) for (let j = 0; j < H; j++) hPrev[r * H + j] *= scale[Math.floor(r / T) * H + j];
  return hPrev;
}

/** Sums of the columns of m (rows, cols), in double. */
export function columnSums(m: Float32Array, rows: number, cols: number): Float32Array {
  const acc = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) acc[j] += m[i * cols + j];
  return Float32Array.from(acc);
}
