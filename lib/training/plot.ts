/**
 * Line charts as SVG (or PNG), for training curves (`history.plot(path)`)
 * and, reused by the CLI demo, predictions against truth. Scales, nice
 * ticks, tick labels and line paths come from d3-scale and d3-shape (the
 * d3 packages, small and without a DOM); this file only lays out the
 * panels, axes and legends as SVG elements. PNG goes through
 * @resvg/resvg-js when it is installed (an optional dependency).
 *
 * The d3 packages are ES modules only, so they are loaded with a dynamic
 * `import()` when a chart is drawn: the CommonJS build of the library
 * loads without them on any Node version.
 */
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import { atomicWriteFile } from '../io/atomicWrite.js';

/** One line: `y[i]` at `x[i]`; non-finite values leave a gap. */
export interface ChartSeries {
  /** Shown in the legend. */
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** A CSS colour (default: the next of ten distinct colours). */
  color?: string;
  /** Dashed line (default false). */
  dashed?: boolean;
  /** Dots at the points (default: when there are at most 60 points). */
  markers?: boolean;
}

/** One set of axes. */
export interface ChartPanel {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** `'linear'` (default) or `'log'` (only when every value is > 0; else linear). */
  yScale?: 'linear' | 'log';
  /** Ticks on whole numbers only on x (epochs, steps). Default false. */
  integerX?: boolean;
  series: ChartSeries[];
}

/** A chart: a title over one or more panels in a grid. */
export interface LineChartSpec {
  title?: string;
  panels: ChartPanel[];
  /** Panels per row (default: 1 for one panel, else 2). */
  columns?: number;
  /** Size of each panel in pixels (default 480 × 320). */
  panelWidth?: number;
  panelHeight?: number;
}

const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
/** Rough width of a character at 12px, for laying out legends and labels. */
const CHAR_W = 6.8;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function checkSpec(spec: LineChartSpec): void {
  if (spec === null || typeof spec !== 'object') throw new TypeError('writeLineChart: spec must be an object like {title, panels: [{series: [{name, x, y}]}]}');
  if (!Array.isArray(spec.panels) || spec.panels.length === 0) throw new TypeError('writeLineChart: panels must be a non-empty array');
  spec.panels.forEach((p, i) => {
    if (p === null || typeof p !== 'object' || !Array.isArray(p.series)) throw new TypeError(`writeLineChart: panels[${i}].series must be an array`);
    p.series.forEach((s, j) => {
      const where = `writeLineChart: panels[${i}].series[${j}]`;
      if (s === null || typeof s !== 'object' || typeof s.name !== 'string') throw new TypeError(`${where} must be {name: string, x: number[], y: number[]}`);
      if (!isNumbers(s.x) || !isNumbers(s.y)) throw new TypeError(`${where} (${JSON.stringify(s.name)}): x and y must be arrays of numbers`);
      if (s.x.length !== s.y.length) throw new RangeError(`${where} (${JSON.stringify(s.name)}): x has ${s.x.length} values, y ${s.y.length}`);
    });
  });
  for (const k of ['columns', 'panelWidth', 'panelHeight'] as const) {
    const v = spec[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) throw new TypeError(`writeLineChart: ${k} must be an integer >= 1`);
  }
}

function isNumbers(a: unknown): a is ArrayLike<number> {
  return (Array.isArray(a) && a.every((v) => typeof v === 'number')) || (ArrayBuffer.isView(a) && !(a instanceof DataView));
}

/** The chart as an SVG document. */
export async function renderLineChartSvg(spec: LineChartSpec): Promise<string> {
  checkSpec(spec);
  const { scaleLinear, scaleLog } = await import('d3-scale');
  const { line } = await import('d3-shape');
  const n = spec.panels.length;
  const columns = Math.min(n, spec.columns ?? (n === 1 ? 1 : 2));
  const rows = Math.ceil(n / columns);
  const pw = spec.panelWidth ?? 480;
  const ph = spec.panelHeight ?? 320;
  const top = spec.title ? 40 : 8;
  const width = columns * pw;
  const height = top + rows * ph + 8;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  if (spec.title) out.push(`<text x="${width / 2}" y="26" text-anchor="middle" font-size="18" font-weight="bold">${esc(spec.title)}</text>`);

  spec.panels.forEach((panel, pi) => {
    const ox = (pi % columns) * pw;
    const oy = top + Math.floor(pi / columns) * ph;
    // Legend entries, wrapped into rows under the panel title.
    const entries = panel.series.map((s, si) => ({ s, color: s.color ?? COLORS[si % COLORS.length], w: 30 + s.name.length * CHAR_W + 14 }));
    const legendRows: (typeof entries)[] = [[]];
    let rowW = 0;
    const maxLegendW = pw - 80;
    for (const e of entries) {
      if (rowW + e.w > maxLegendW && legendRows[legendRows.length - 1].length > 0) {
        legendRows.push([]);
        rowW = 0;
      }
      legendRows[legendRows.length - 1].push(e);
      rowW += e.w;
    }
    const titleH = panel.title ? 22 : 6;
    const legendH = entries.length ? legendRows.length * 16 + 4 : 0;
    const m = { left: 70, right: 18, top: titleH + legendH + 6, bottom: 46 };
    const iw = pw - m.left - m.right;
    const ih = ph - m.top - m.bottom;
    out.push(`<g transform="translate(${ox},${oy})">`);
    if (panel.title) out.push(`<text x="${m.left + iw / 2}" y="16" text-anchor="middle" font-size="14" font-weight="bold">${esc(panel.title)}</text>`);
    legendRows.forEach((row, ri) => {
      const total = row.reduce((a, e) => a + e.w, 0);
      let lx = m.left + (iw - total) / 2;
      const ly = titleH + 10 + ri * 16;
      for (const e of row) {
        out.push(`<line x1="${fmt(lx)}" y1="${ly}" x2="${fmt(lx + 24)}" y2="${ly}" stroke="${esc(e.color)}" stroke-width="2"${e.s.dashed ? ' stroke-dasharray="6 3"' : ''}/>`);
        out.push(`<text x="${fmt(lx + 30)}" y="${ly + 4}">${esc(e.s.name)}</text>`);
        lx += e.w;
      }
    });

    // Domains from the finite values.
    const xs: number[] = [];
    const ys: number[] = [];
    for (const s of panel.series) {
      for (let i = 0; i < s.x.length; i++) {
        if (Number.isFinite(s.x[i]) && Number.isFinite(s.y[i])) {
          xs.push(s.x[i]);
          ys.push(s.y[i]);
        }
      }
    }
    let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
    if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
    let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
    const log = panel.yScale === 'log' && ys.length > 0 && y0 > 0;
    if (y0 === y1) [y0, y1] = log ? [y0 / 2, y1 * 2] : [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
    const x = scaleLinear().domain([x0, x1]).range([0, iw]);
    const y = log ? scaleLog().domain([y0, y1]).range([ih, 0]).nice() : scaleLinear().domain([y0, y1]).range([ih, 0]).nice();

    out.push(`<g transform="translate(${m.left},${m.top})">`);
    // Grid and y axis.
    // A log axis labels (and grids) only the ticks d3 gives a label; '~g' rather than d3's SI prefixes (200m).
    const yTicks = y.ticks(6);
    // '~f': no thousands separators (years read 1991, not 1,991), no trailing zeros.
    const yFormat = log ? y.tickFormat(6, '~g') : y.tickFormat(6, '~f');
    for (const t of yTicks) {
      const py = fmt(y(t));
      const label = yFormat(t);
      if (label !== '') out.push(`<line x1="0" y1="${py}" x2="${iw}" y2="${py}" stroke="#e6e6e6"/>`);
      out.push(`<line x1="${label === '' ? -3 : -5}" y1="${py}" x2="0" y2="${py}" stroke="#333"/>`);
      if (label !== '') out.push(`<text x="-8" y="${py}" dy="0.32em" text-anchor="end" fill="#333">${esc(label)}</text>`);
    }
    // x axis.
    let xTicks = x.ticks(Math.min(8, Math.max(2, Math.floor(iw / 60))));
    if (panel.integerX) {
      xTicks = xTicks.filter(Number.isInteger);
      if (xTicks.length === 0) xTicks = [Math.ceil(x0)].filter((v) => v <= x1);
    }
    const xFormat = x.tickFormat(8, panel.integerX ? 'd' : '~f');
    for (const t of xTicks) {
      const px = fmt(x(t));
      out.push(`<line x1="${px}" y1="${ih}" x2="${px}" y2="${ih + 5}" stroke="#333"/>`);
      out.push(`<text x="${px}" y="${ih + 18}" text-anchor="middle" fill="#333">${esc(xFormat(t))}</text>`);
    }
    out.push(`<rect x="0" y="0" width="${iw}" height="${ih}" fill="none" stroke="#333"/>`);
    if (panel.xLabel) out.push(`<text x="${iw / 2}" y="${ih + 38}" text-anchor="middle">${esc(panel.xLabel)}</text>`);
    if (panel.yLabel) out.push(`<text transform="translate(${-m.left + 16},${ih / 2}) rotate(-90)" text-anchor="middle">${esc(panel.yLabel)}</text>`);

    // The lines, clipped to the plot area.
    const clip = `clip${pi}`;
    out.push(`<clipPath id="${clip}"><rect x="-4" y="-4" width="${iw + 8}" height="${ih + 8}"/></clipPath>`);
    out.push(`<g clip-path="url(#${clip})">`);
    entries.forEach(({ s, color }) => {
      const pts: Array<[number, number]> = Array.from({ length: s.x.length }, (_, i) => [s.x[i], s.y[i]]);
      const ok = (p: [number, number]) => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!log || p[1] > 0);
      const d = line<[number, number]>()
        .defined(ok)
        .x((p) => x(p[0]))
        .y((p) => y(p[1]))
        .digits(2)(pts);
      if (d) out.push(`<path d="${d}" fill="none" stroke="${esc(color)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''}><title>${esc(s.name)}</title></path>`);
      if (s.markers ?? pts.length <= 60) {
        for (const p of pts) if (ok(p)) out.push(`<circle cx="${fmt(x(p[0]))}" cy="${fmt(y(p[1]))}" r="2.5" fill="${esc(color)}"/>`);
      }
    });
    out.push('</g></g></g>');
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * Writes a line chart: SVG, or PNG when `path` ends in `.png` (needs the
 * optional package @resvg/resvg-js). The file appears whole or not at all
 * (written beside it, then renamed); missing parent directories are made.
 *
 * ```ts
 * await writeLineChart('pred.svg', {title: 'Test set', panels: [{title: 'series 0', xLabel: 'step', yLabel: 'value',
 *   series: [{name: 'truth', x: t, y: truth}, {name: 'prediction', x: t, y: pred, dashed: true}]}]});
 * ```
 */
export async function writeLineChart(path: string, spec: LineChartSpec): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new TypeError('writeLineChart: path must be a non-empty string');
  const svg = await renderLineChartSvg(spec);
  const data = /\.png$/i.test(path) ? await svgToPng(svg) : svg;
  await fs.mkdir(nodePath.dirname(path), { recursive: true });
  await atomicWriteFile(path, data);
}

async function svgToPng(svg: string): Promise<Buffer> {
  let resvg: typeof import('@resvg/resvg-js');
  try {
    resvg = await import('@resvg/resvg-js');
  } catch {
    throw new Error('writing a PNG chart needs the optional package @resvg/resvg-js (npm install @resvg/resvg-js); or give a path ending in .svg');
  }
  const Resvg = resvg.Resvg ?? (resvg as unknown as { default: typeof import('@resvg/resvg-js') }).default.Resvg;
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

/** Options of {@link plotHistory} and `history.plot`. */
export interface PlotHistoryOptions {
  /** Which values to draw, by name without `val_` (default: every one logged, loss first). */
  metrics?: string[];
  /** The chart's title (default `'Training history'`). */
  title?: string;
  /** `'linear'` (default) or `'log'` y axes. */
  yScale?: 'linear' | 'log';
}

/** What plotHistory reads of a History. */
export interface HistoryLike {
  epoch: readonly number[];
  history: Readonly<Record<string, readonly number[]>>;
}

/**
 * Draws a History's curves: one panel per value (loss, each metric, the
 * learning rate if logged), the training curve solid and the validation
 * curve (`val_…`) dashed, against the epoch (from 1, as Keras prints it).
 */
export function historyChart(history: HistoryLike, options: PlotHistoryOptions = {}): LineChartSpec {
  if (history === null || typeof history !== 'object' || !Array.isArray(history.epoch) || typeof history.history !== 'object') {
    throw new TypeError('plotHistory: expected the History that fit resolves to');
  }
  if (options === null || typeof options !== 'object') throw new TypeError('plot: options must be an object like {metrics, title}');
  const keys = Object.keys(history.history);
  const bases: string[] = [];
  for (const k of keys) {
    const b = k.startsWith('val_') && keys.includes(k.slice(4)) ? k.slice(4) : k;
    if (!bases.includes(b)) bases.push(b);
  }
  bases.sort((a, b) => Number(b === 'loss') - Number(a === 'loss'));
  let chosen = bases;
  if (options.metrics !== undefined) {
    if (!Array.isArray(options.metrics) || options.metrics.some((m) => typeof m !== 'string')) throw new TypeError('plot: metrics must be an array of names');
    for (const m of options.metrics) {
      if (!bases.includes(m)) throw new RangeError(`plot: no ${JSON.stringify(m)} in the history; it has ${bases.join(', ') || 'nothing (no epoch ran)'}`);
    }
    chosen = options.metrics;
  }
  if (chosen.length === 0) throw new RangeError('plot: the history is empty (no epoch ran)');
  const epochs = history.epoch.map((e) => e + 1);
  const seriesOf = (name: string, color: string, dashed: boolean): ChartSeries => {
    const y = history.history[name];
    const len = Math.min(y.length, epochs.length);
    return { name, x: epochs.slice(0, len), y: y.slice(0, len), color, dashed };
  };
  return {
    title: options.title ?? 'Training history',
    panels: chosen.map((m) => ({
      title: m,
      xLabel: 'epoch',
      yLabel: m,
      integerX: true,
      yScale: options.yScale,
      series: [...(m in history.history ? [seriesOf(m, COLORS[0], false)] : []), ...(`val_${m}` in history.history ? [seriesOf(`val_${m}`, COLORS[1], true)] : [])],
    })),
  };
}

/** Writes a History's curves to `path` (.svg, or .png with @resvg/resvg-js); see {@link historyChart}. */
export async function plotHistory(history: HistoryLike, path: string, options: PlotHistoryOptions = {}): Promise<void> {
  await writeLineChart(path, historyChart(history, options));
}
