/**
 * Forecasting windows over a multivariate series: each sample is `window`
 * consecutive rows of the input columns, and its target the next `horizon`
 * values of the target column. Two representations, chosen by
 * `difference`:
 *
 * - plain: inputs are the values z-scored per column, targets the future
 *   target values z-scored (one mean/std per horizon step);
 * - differenced: inputs are the `window - 1` first differences z-scored per
 *   column, targets the change of the target from the window's last value
 *   (y[t+h] - y[t]) z-scored per h. Trends and levels the training data
 *   never saw stay in range; the forecast is the last value plus the
 *   predicted change.
 *
 * The statistics come from the training part only and are saved with the
 * model (preprocessing.json), so predict applies exactly the same.
 */

/** How a forecasting model sees its data; saved in preprocessing.json. */
export interface ForecastTransform {
  /** Input columns, in order (the target is one of them). */
  columns: string[];
  target: string;
  targetIndex: number;
  /** Raw rows per input window. */
  window: number;
  /** Future steps predicted. */
  horizon: number;
  difference: boolean;
  inputMean: number[];
  inputStd: number[];
  outputMean: number[];
  outputStd: number[];
}

/** A series: `rows` rows of `columns` values, row-major. */
export interface Series {
  values: Float64Array;
  rows: number;
  columns: number;
}

/** Steps the model sees per window. */
export function modelSteps(t: Pick<ForecastTransform, 'window' | 'difference'>): number {
  return t.difference ? t.window - 1 : t.window;
}

/** Number of windows (samples) in a series of `rows` rows. */
export function windowCount(rows: number, window: number, horizon: number): number {
  return Math.max(0, rows - window - horizon + 1);
}

function meanStd(sum: number, sumSq: number, n: number): [number, number] {
  const mean = n > 0 ? sum / n : 0;
  const variance = n > 1 ? Math.max(0, sumSq / n - mean * mean) : 0;
  const std = Math.sqrt(variance);
  return [mean, std > 1e-12 ? std : 1];
}

/**
 * The statistics from the windows whose index is below `trainWindows`
 * (windows start at row i; window i covers rows i .. i+window+horizon-1).
 */
export function fitForecastTransform(
  series: Series,
  spec: { columns: string[]; target: string; targetIndex: number; window: number; horizon: number; difference: boolean },
  trainWindows: number,
): ForecastTransform {
  const F = series.columns;
  const v = series.values;
  const { window: W, horizon: H, difference: diff, targetIndex: ti } = spec;
  // Input statistics over the rows the training windows read.
  const lastRow = Math.min(series.rows, trainWindows + W - 1);
  const inputMean: number[] = [];
  const inputStd: number[] = [];
  for (let f = 0; f < F; f++) {
    let s = 0;
    let ss = 0;
    let n = 0;
    for (let r = diff ? 1 : 0; r < lastRow; r++) {
      const x = diff ? v[r * F + f] - v[(r - 1) * F + f] : v[r * F + f];
      s += x;
      ss += x * x;
      n++;
    }
    const [m, sd] = meanStd(s, ss, n);
    inputMean.push(m);
    inputStd.push(sd);
  }
  const outputMean: number[] = [];
  const outputStd: number[] = [];
  for (let h = 0; h < H; h++) {
    let s = 0;
    let ss = 0;
    for (let i = 0; i < trainWindows; i++) {
      const y = v[(i + W + h) * F + ti] - (diff ? v[(i + W - 1) * F + ti] : 0);
      s += y;
      ss += y * y;
    }
    const [m, sd] = meanStd(s, ss, trainWindows);
    outputMean.push(m);
    outputStd.push(sd);
  }
  return { ...spec, inputMean, inputStd, outputMean, outputStd };
}

/**
 * Writes the model input for one raw window (`window` rows × columns,
 * row-major) into `out` at `offset` ((window or window-1) × columns).
 */
export function encodeWindow(t: ForecastTransform, raw: ArrayLike<number>, rawOffset: number, out: Float32Array, offset: number): void {
  const F = t.columns.length;
  const T = modelSteps(t);
  for (let s = 0; s < T; s++) {
    for (let f = 0; f < F; f++) {
      const x = t.difference ? raw[rawOffset + (s + 1) * F + f] - raw[rawOffset + s * F + f] : raw[rawOffset + s * F + f];
      out[offset + s * F + f] = (x - t.inputMean[f]) / t.inputStd[f];
    }
  }
}

/** The model's training targets for the window starting at row i. */
export function encodeTargets(t: ForecastTransform, series: Series, i: number, out: Float32Array, offset: number): void {
  const F = series.columns;
  const v = series.values;
  for (let h = 0; h < t.horizon; h++) {
    const y = v[(i + t.window + h) * F + t.targetIndex] - (t.difference ? v[(i + t.window - 1) * F + t.targetIndex] : 0);
    out[offset + h] = (y - t.outputMean[h]) / t.outputStd[h];
  }
}

/** The forecasts (in the target's units) from the model's outputs for a window whose last target value is `lastTarget`. */
export function decodeForecast(t: ForecastTransform, modelOut: ArrayLike<number>, offset: number, lastTarget: number): number[] {
  const y: number[] = [];
  for (let h = 0; h < t.horizon; h++) y.push(modelOut[offset + h] * t.outputStd[h] + t.outputMean[h] + (t.difference ? lastTarget : 0));
  return y;
}

/** The model inputs and targets of windows [from, to) of a series: x (n, T, F), y (n, horizon). */
export function windowTensors(t: ForecastTransform, series: Series, from: number, to: number): { x: Float32Array; y: Float32Array; n: number; steps: number } {
  const n = Math.max(0, to - from);
  const F = series.columns;
  const T = modelSteps(t);
  const x = new Float32Array(n * T * F);
  const y = new Float32Array(n * t.horizon);
  for (let k = 0; k < n; k++) {
    encodeWindow(t, series.values, (from + k) * F, x, k * T * F);
    encodeTargets(t, series, from + k, y, k * t.horizon);
  }
  return { x, y, n, steps: T };
}
