// The benchmarks' seeded inputs: every script draws the same numbers for the
// same seed, so runs and scripts compare on identical data.

/** mulberry32: a small seeded PRNG, uniform in [-1, 1). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** n values from rng(seed), uniform in [-scale, scale). */
export function randomArray(n, seed, scale = 1) {
  const next = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * next();
  return a;
}
