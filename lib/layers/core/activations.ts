/**
 * The activations Dense and Activation take (Keras's, with tfjs names),
 * forward and derivative. Computed per element in float64 and rounded once;
 * softmax and logSoftmax act on the last axis. Derivatives at kinks are 0
 * from the flat side (relu'(0) = 0, as TensorFlow).
 *
 * Two hard sigmoids, as the recurrent layers: `'hardSigmoid'` is
 * clip(0.2x + 0.5, 0, 1) (tfjs, Keras 2); `'hardSigmoidKeras3'` is
 * clip(x/6 + 0.5, 0, 1) (Keras 3's `hard_sigmoid`). `'gelu'` is the exact
 * erf form (Keras's default `approximate=False`, tfjs `'gelu'`); `'geluNew'`
 * the tanh approximation (tfjs `'gelu_new'`).
 */

/** Names of the activations (tfjs spelling; the snake_case of the Keras ones is accepted too). */
export type ActivationIdentifier =
  | 'linear'
  | 'relu'
  | 'relu6'
  | 'leakyRelu'
  | 'elu'
  | 'selu'
  | 'sigmoid'
  | 'hardSigmoid'
  | 'hardSigmoidKeras3'
  | 'tanh'
  | 'softmax'
  | 'logSoftmax'
  | 'softplus'
  | 'softsign'
  | 'swish'
  | 'silu'
  | 'hardSilu'
  | 'hardSwish'
  | 'mish'
  | 'gelu'
  | 'geluNew'
  | 'exponential';

export const ACTIVATIONS: readonly ActivationIdentifier[] = [
  'linear',
  'relu',
  'relu6',
  'leakyRelu',
  'elu',
  'selu',
  'sigmoid',
  'hardSigmoid',
  'hardSigmoidKeras3',
  'tanh',
  'softmax',
  'logSoftmax',
  'softplus',
  'softsign',
  'swish',
  'silu',
  'hardSilu',
  'hardSwish',
  'mish',
  'gelu',
  'geluNew',
  'exponential',
];

const ALIASES: Record<string, ActivationIdentifier> = {
  leaky_relu: 'leakyRelu',
  log_softmax: 'logSoftmax',
  hard_silu: 'hardSilu',
  hard_swish: 'hardSwish',
  gelu_new: 'geluNew',
};

/** Checks an activation option; returns its canonical name. */
export function checkActivation(value: unknown, option = 'activation'): ActivationIdentifier {
  if (value === undefined || value === null) return 'linear';
  if (typeof value === 'string') {
    if ((ACTIVATIONS as readonly string[]).includes(value)) return value as ActivationIdentifier;
    if (value in ALIASES) return ALIASES[value];
    if (value === 'hard_sigmoid') {
      throw new TypeError(`${option} 'hard_sigmoid' is ambiguous: use 'hardSigmoid' (clip(0.2x+0.5, 0, 1): tfjs, Keras 2) or 'hardSigmoidKeras3' (clip(x/6+0.5, 0, 1): Keras 3)`);
    }
  }
  throw new TypeError(`${option} must be one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`);
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;
const LEAKY_SLOPE = 0.2; // Keras 3 leaky_relu's default negative_slope
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * erfc(x) for x >= 2.5 by its continued fraction
 * e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated
 * from the tail: full double precision there, and no cancellation.
 */
function erfcTail(x: number): number {
  let t = x;
  for (let k = 80; k >= 1; k--) t = x + k / 2 / t;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * t);
}

/**
 * The error function, to about 1e-15 relative. Below 2.5 by the series
 * erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1)),
 * whose terms are all positive; above, 1 - erfc by its continued fraction.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let r: number;
  if (a < 2.5) {
    const a2 = a * a;
    let term = a, sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (2 * a2) / (2 * n + 1);
      sum += term;
      if (term <= sum * 1e-17) break;
    }
    r = TWO_OVER_SQRT_PI * Math.exp(-a2) * sum;
  } else {
    r = a > 27 ? 1 : 1 - erfcTail(a);
  }
  return x < 0 ? -r : r;
}

/** The complementary error function 1 - erf(x), accurate in the tail (x large). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 2.5) return x > 27 ? 0 : erfcTail(x);
  return 1 - erf(x);
}

/** f(x) and f'(x) (given x and y = f(x)) of an element-wise activation. */
interface Elementwise {
  f(x: number): number;
  df(x: number, y: number): number;
}

const ELEMENTWISE: Record<Exclude<ActivationIdentifier, 'softmax' | 'logSoftmax'>, Elementwise> = {
  linear: { f: (x) => x, df: () => 1 },
  relu: { f: (x) => (x > 0 ? x : 0), df: (x) => (x > 0 ? 1 : 0) },
  relu6: { f: (x) => (x > 0 ? (x < 6 ? x : 6) : 0), df: (x) => (x > 0 && x < 6 ? 1 : 0) },
  leakyRelu: { f: (x) => (x > 0 ? x : LEAKY_SLOPE * x), df: (x) => (x > 0 ? 1 : LEAKY_SLOPE) },
  elu: { f: (x) => (x > 0 ? x : Math.expm1(x)), df: (x) => (x > 0 ? 1 : Math.exp(x)) },
  selu: { f: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)), df: (x) => SELU_SCALE * (x > 0 ? 1 : SELU_ALPHA * Math.exp(x)) },
  sigmoid: { f: sigmoid, df: (x) => { const s = sigmoid(x); return s * (1 - s); } },
  hardSigmoid: { f: (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)), df: (x) => (x > -2.5 && x < 2.5 ? 0.2 : 0) },
  hardSigmoidKeras3: { f: (x) => Math.min(1, Math.max(0, x / 6 + 0.5)), df: (x) => (x > -3 && x < 3 ? 1 / 6 : 0) },
  tanh: { f: Math.tanh, df: (x) => { const t = Math.tanh(x); return 1 - t * t; } },
  softplus: { f: softplus, df: sigmoid },
  softsign: { f: (x) => x / (1 + Math.abs(x)), df: (x) => 1 / ((1 + Math.abs(x)) * (1 + Math.abs(x))) },
  swish: { f: (x) => x * sigmoid(x), df: (x) => { const s = sigmoid(x); return s + x * s * (1 - s); } },
  silu: { f: (x) => x * sigmoid(x), df: (x) => { const s = sigmoid(x); return s + x * s * (1 - s); } },
  // Keras 3 hard_silu: x * relu6(x + 3) / 6.
  hardSilu: { f: (x) => (x <= -3 ? 0 : x >= 3 ? x : (x * (x + 3)) / 6), df: (x) => (x <= -3 ? 0 : x >= 3 ? 1 : (2 * x + 3) / 6) },
  hardSwish: { f: (x) => (x <= -3 ? 0 : x >= 3 ? x : (x * (x + 3)) / 6), df: (x) => (x <= -3 ? 0 : x >= 3 ? 1 : (2 * x + 3) / 6) },
  mish: {
    f: (x) => x * Math.tanh(softplus(x)),
    df: (x) => {
      const t = Math.tanh(softplus(x));
      return t + x * (1 - t * t) * sigmoid(x);
    },
  },
  // 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2), the latter exact for x << 0.
  gelu: { f: (x) => 0.5 * x * erfc(-x / Math.SQRT2), df: (x) => 0.5 * erfc(-x / Math.SQRT2) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x) },
  geluNew: {
    f: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
    df: (x) => {
      const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    },
  },
  exponential: { f: Math.exp, df: (_x, y) => y },
};

/**
 * y = act(z) for z of any shape whose last axis has `lastDim` entries.
 * 'linear' returns z itself (no copy).
 */
export function activationForward(name: ActivationIdentifier, z: Float32Array, lastDim: number): Float32Array {
  if (name === 'linear') return z;
  const n = z.length;
  const y = new Float32Array(n);
  if (name === 'softmax' || name === 'logSoftmax') {
    const log = name === 'logSoftmax';
    for (let o = 0; o < n; o += lastDim) {
      let max = -Infinity;
      for (let j = 0; j < lastDim; j++) if (z[o + j] > max) max = z[o + j];
      let sum = 0;
      for (let j = 0; j < lastDim; j++) sum += Math.exp(z[o + j] - max);
      if (log) {
        const lse = max + Math.log(sum);
        for (let j = 0; j < lastDim; j++) y[o + j] = z[o + j] - lse;
      } else {
        for (let j = 0; j < lastDim; j++) y[o + j] = Math.exp(z[o + j] - max) / sum;
      }
    }
    return y;
  }
  if (name === 'relu') {
    for (let i = 0; i < n; i++) y[i] = z[i] > 0 ? z[i] : 0;
    return y;
  }
  const { f } = ELEMENTWISE[name];
  for (let i = 0; i < n; i++) y[i] = f(z[i]);
  return y;
}

/**
 * dL/dz from dL/dy, given z and y = act(z) from the forward. For softmax:
 * dz = y (dy - sum(dy y)); logSoftmax: dz = dy - exp(y) sum(dy), per row of
 * the last axis.
 */
export function activationBackward(name: ActivationIdentifier, z: Float32Array, y: Float32Array, dy: Float32Array, lastDim: number): Float32Array {
  const n = z.length;
  const dz = new Float32Array(n);
  if (name === 'linear') {
    dz.set(dy);
    return dz;
  }
  if (name === 'softmax' || name === 'logSoftmax') {
    const log = name === 'logSoftmax';
    for (let o = 0; o < n; o += lastDim) {
      let s = 0;
      if (log) {
        for (let j = 0; j < lastDim; j++) s += dy[o + j];
        for (let j = 0; j < lastDim; j++) dz[o + j] = dy[o + j] - Math.exp(y[o + j]) * s;
      } else {
        for (let j = 0; j < lastDim; j++) s += dy[o + j] * y[o + j];
        for (let j = 0; j < lastDim; j++) dz[o + j] = y[o + j] * (dy[o + j] - s);
      }
    }
    return dz;
  }
  if (name === 'relu') {
    for (let i = 0; i < n; i++) dz[i] = z[i] > 0 ? dy[i] : 0;
    return dz;
  }
  const { df } = ELEMENTWISE[name];
  for (let i = 0; i < n; i++) dz[i] = dy[i] * df(z[i], y[i]);
  return dz;
}
