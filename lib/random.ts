/**
 * Random numbers: one small seeded generator, and the global seed that makes
 * everything drawn without an explicit seed (weight initialisation, dropout
 * masks, shuffling in `fit`) reproducible, as `tf.random.set_seed` /
 * `keras.utils.set_random_seed` do.
 */

/** mulberry32: small, fast, good enough for weights, masks and shuffles. */
export class Random {
  private state: number;
  /** @param seed a 32-bit seed; without one, the next seed from the global seed (or Math.random when none is set). */
  constructor(seed?: number) {
    this.state = (seed ?? nextSeed()) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

let globalSeed: Random | null = null;

/**
 * Sets the global seed: from then on, every layer created without its own
 * `seed`, every dropout mask and every shuffle in `fit` draws from a
 * sequence fixed by this seed, so the same script gives the same model on
 * either backend. `null` goes back to unseeded randomness.
 */
export function setSeed(seed: number | null): void {
  if (seed === null) {
    globalSeed = null;
    return;
  }
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
    throw new TypeError(`setSeed: seed must be an integer in [0, 2^32), got ${JSON.stringify(seed)}`);
  }
  globalSeed = new Random(seed);
}

/** The next 32-bit seed: from the global seed when set, else from Math.random. */
export function nextSeed(): number {
  return globalSeed ? Math.floor(globalSeed.next() * 2 ** 32) : Math.floor(Math.random() * 2 ** 32);
}
