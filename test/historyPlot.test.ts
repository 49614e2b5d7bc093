/**
 * history.plot / plotHistory / writeLineChart: the SVG is a well-formed
 * document with a title, one panel per value, axes with ticks and labels,
 * a legend and one path per curve (gaps at non-finite values); it is
 * written atomically (no temporary file left, nothing half-written on
 * failure); PNG through @resvg/resvg-js.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layers, sequential, setBackend, setSeed, tensor, type Tensor } from '../lib/index.js';
import { Dense } from '../lib/layers/core/dense.js';
import { Random } from '../lib/random.js';
import { History } from '../lib/training/history.js';
import { historyChart, plotHistory, renderLineChartSvg, writeLineChart } from '../lib/training/plot.js';
import { parseTags, texts } from './helpers/svg.js';

let dir = '';
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatedrnn-plot-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('history.plot after a real fit', () => {
  it('writes an SVG with loss and val_loss curves, axes, legend and title; no temp file left', async () => {
    setBackend('js');
    setSeed(5);
    const m = sequential({ layers: [layers.gru({ units: 4, inputShape: [5, 2] }), new Dense({ units: 1 })] });
    m.compile({ optimizer: 'adam', loss: 'meanSquaredError', metrics: ['mae'] });
    const r = new Random(1);
    const rand = (shape: number[]): Tensor<'float32'> => tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.next()), shape);
    const history = await m.fit(rand([20, 5, 2]), rand([20, 1]), { epochs: 6, batchSize: 5, verbose: 0, validationSplit: 0.2 });
    const file = path.join(dir, 'out', 'history.svg');
    await history.plot(file, { title: 'Tiny GRU <test> & co' });
    expect(await fs.readdir(path.join(dir, 'out'))).toEqual(['history.svg']);
    const svg = await fs.readFile(file, 'utf8');
    const tags = parseTags(svg);
    const t = texts(svg);
    expect(t).toContain('Tiny GRU &lt;test&gt; &amp; co');
    // One panel per value: loss and mae, each with its train and val curve in the legend.
    for (const name of ['loss', 'val_loss', 'mae', 'val_mae']) expect(t).toContain(name);
    expect(t.filter((s) => s === 'epoch').length).toBe(2);
    // x ticks are whole epochs (1..6) as Keras numbers them.
    expect(t).toContain('1');
    expect(t).toContain('6');
    expect(t.some((s) => s.includes('.'))).toBe(true);
    // Four curves, each a path with a point per epoch.
    const paths = [...svg.matchAll(/<path d="([^"]+)"[^>]*><title>([^<]+)<\/title>/g)];
    expect(paths.map((p) => p[2])).toEqual(['loss', 'val_loss', 'mae', 'val_mae']);
    for (const [, d] of paths) expect((d.match(/[ML]/g) ?? []).length).toBe(6);
    expect(svg).toMatch(/stroke-dasharray/);
    expect(tags.filter((n) => n === 'circle').length).toBe(24);

    // Only some metrics; a metric that is not there is an error naming those that are.
    await history.plot(file, { metrics: ['mae'] });
    const only = await fs.readFile(file, 'utf8');
    expect(texts(only)).toContain('val_mae');
    expect(texts(only)).not.toContain('val_loss');
    await expect(history.plot(file, { metrics: ['accuracy'] })).rejects.toThrow(/no "accuracy" in the history; it has loss, mae/);
  });
});

describe('plot module', () => {
  it('lays out a history without validation, ordering loss first; an empty history is an error', () => {
    const h = new History();
    h.record(0, { mae: 0.5, loss: 1, learning_rate: 0.1 });
    h.record(1, { mae: 0.4, loss: 0.8, learning_rate: 0.1 });
    const spec = historyChart(h);
    expect(spec.panels.map((p) => p.title)).toEqual(['loss', 'mae', 'learning_rate']);
    expect(spec.panels[0].series.map((s) => [s.name, Array.from(s.x), Array.from(s.y)])).toEqual([['loss', [1, 2], [1, 0.8]]]);
    expect(() => historyChart(new History())).toThrow(/empty/);
  });

  it('writeLineChart: a generic chart (predictions vs truth), gaps at NaN, log scale', async () => {
    const x = Array.from({ length: 30 }, (_, i) => i);
    const truth = x.map((i) => Math.sin(i / 4));
    const pred = truth.map((v, i) => (i === 10 ? Number.NaN : v + 0.1));
    const svg = await renderLineChartSvg({
      title: 'Predictions',
      panels: [
        { title: 'series 0', xLabel: 'step', yLabel: 'value', series: [{ name: 'truth', x, y: truth }, { name: 'prediction', x, y: pred, dashed: true }] },
        { title: 'error', yScale: 'log', series: [{ name: '|err|', x, y: x.map((i) => 10 ** -(i / 10)) }] },
      ],
      columns: 1,
    });
    parseTags(svg);
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]);
    expect(paths.length).toBe(3);
    expect((paths[0].match(/M/g) ?? []).length).toBe(1);
    // The NaN splits the prediction into two pieces.
    expect((paths[1].match(/M/g) ?? []).length).toBe(2);
    // Log axis: ticks at powers of ten.
    expect(texts(svg)).toEqual(expect.arrayContaining(['step', 'value', 'truth', 'prediction', '|err|']));
    expect(svg).toMatch(/>1e-2<|>0\.01</);
    await expect(renderLineChartSvg({ panels: [{ series: [{ name: 'a', x: [1, 2], y: [1] }] }] })).rejects.toThrow(/x has 2 values, y 1/);
    await expect(renderLineChartSvg({ panels: [] })).rejects.toThrow(/non-empty/);
  });

  it('writes atomically: a failed write leaves no file and no temporary file', async () => {
    const target = path.join(dir, 'taken');
    await fs.mkdir(path.join(target, 'inside'), { recursive: true });
    const h = { epoch: [0, 1], history: { loss: [1, 0.5] } };
    // Renaming a file over a non-empty directory fails.
    await expect(plotHistory(h, target)).rejects.toThrow();
    expect((await fs.readdir(dir)).sort()).toEqual(['taken']);
    expect(await fs.readdir(target)).toEqual(['inside']);
  });

  it('writes a PNG when the path ends in .png', async () => {
    const file = path.join(dir, 'curves.png');
    await writeLineChart(file, { panels: [{ title: 'loss', series: [{ name: 'loss', x: [1, 2, 3], y: [3, 2, 1] }] }] });
    const png = await fs.readFile(file);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(await fs.readdir(dir)).toEqual(['curves.png']);
  });
});
