/**
 * bench/chart.mjs, the SVG chart of bench/gru.mjs (--svg) and of its JSON
 * (node bench/chart.mjs IN.json OUT.svg): from fake rows of both sections,
 * with peers missing ('—' cells), a disturbed row and a failed output check,
 * the SVG is a well-formed document with one bar per (row, peer that ran),
 * one % of SGEMM peak bar per row, the labels, and finite numbers only.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child';
import { parseTags, texts } from './helpers/svg.js';

const CHART = path.join(ROOT, 'bench', 'chart.mjs');

/* eslint-disable @typescript-eslint/no-explicit-any */
let chart: any; // bench/chart.mjs (plain .mjs: imported by path, untyped)
let tmp: string;

beforeAll(async () => {
  chart = await import(pathToFileURL(CHART).href);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-bench-chart-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Peer = { ms: number; speedup: number; check?: number };

/** A peer-comparison row as bench/peers/peers.mjs makes it (gatedrnn at `ms`). */
function peerRow(config: string, shape: string, threads: number, mode: string, ms: number, speedups: Record<string, number>, extra: Record<string, unknown> = {}) {
  const peers: Record<string, Peer> = {};
  for (const [k, s] of Object.entries(speedups)) peers[k] = { ms: ms * s, speedup: s, check: 1e-7 };
  const gflops = 50;
  return { config, threads, shape, mode, ms, runs: 10, gflops, peak: 100 * threads, pct: (100 * gflops) / (100 * threads), others: 0.01, peers, ...extra };
}

const HASWELL = 'env as is (Haswell)';
const COOPER = 'vars unset (Cooperlake)';

/** Two sections; tfjs only at 1 thread fwd, ORT only fwd; one row where no peer ran. */
function fakeRows() {
  return [
    peerRow(HASWELL, 'S', 1, 'fwd', 3, { ort: 0.5, torch: 2, tfjs: 17.5 }),
    peerRow(HASWELL, 'S', 1, 'train', 12, { torch: 1.14 }),
    peerRow(HASWELL, 'S', 2, 'fwd', 3, { ort: 1.19, torch: 2.33 }, { others: 0.5 }), // disturbed: '?'
    peerRow(HASWELL, 'M', 1, 'fwd', 50, {}), // no peer ran: all '—'
    peerRow(COOPER, 'S', 1, 'fwd', 2, { ort: 0.98, torch: 1.5, tfjs: 58 }),
    peerRow(COOPER, 'L', 2, 'train', 170, { torch: 3.88 }, { pct: null, peak: null }), // no peak: 'n/a'
  ];
}

/** Every attribute value of every tag. */
function attributes(svg: string): Array<[string, string]> {
  return [...svg.matchAll(/\s([\w:-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]);
}

/** The bars: peer, x, width, and the ratio in their tooltip. */
function bars(svg: string) {
  return [...svg.matchAll(/<rect class="bar" data-peer="(\w+)" x="([^"]+)" y="[^"]+" width="([^"]+)"[^>]*><title>([^<]*)<\/title>/g)].map((m) => ({
    peer: m[1],
    x: Number(m[2]),
    width: Number(m[3]),
    title: m[4],
  }));
}

describe('benchChartSvg', () => {
  it('draws one bar per row and peer that ran, one % peak bar per row with a peak, in a well-formed SVG', () => {
    const rows = fakeRows();
    const svg: string = chart.benchChartSvg(rows, { subtitle: 'a test run' });
    const tags = parseTags(svg);
    expect(tags[0]).toBe('svg');

    const expected = rows.reduce((n, r) => n + Object.keys(r.peers).length, 0);
    expect(expected).toBe(10);
    const b = bars(svg);
    expect(b).toHaveLength(expected);
    for (const peer of ['ort', 'torch', 'tfjs']) {
      expect(b.filter((x) => x.peer === peer)).toHaveLength(rows.filter((r) => peer in r.peers).length);
    }
    expect((svg.match(/class="pct-bar"/g) ?? []).length).toBe(rows.filter((r) => r.pct !== null).length);

    const t = texts(svg);
    for (const label of [HASWELL, COOPER, 'ONNX Runtime', 'PyTorch', 'TensorFlow.js wasm', '% of SGEMM peak', 'a test run', '1 thr fwd', '1 thr train', '2 thr fwd', '2 thr train', 'S', 'M', 'L', '1×']) {
      expect(t, label).toContain(label);
    }
    expect(t.some((s) => s.startsWith('peer ms ÷ gatedrnn ms'))).toBe(true);
    expect(t.some((s) => s.startsWith('gatedrnn, % of SGEMM peak'))).toBe(true);
    // The values, with the table's marks: '?' for the disturbed row, 'n/a' without a peak.
    expect(t).toContain('17.5×');
    expect(t).toContain('2.33×?');
    expect(t).toContain('n/a');
    // Each section once, in the order of the rows.
    expect(t.indexOf(HASWELL)).toBeLessThan(t.indexOf(COOPER));
    expect(t.filter((s) => s === HASWELL)).toHaveLength(1);

    // Numbers only where numbers belong: no NaN/undefined/Infinity anywhere, finite coordinates.
    expect(svg).not.toMatch(/NaN|undefined|Infinity|null/);
    for (const [name, value] of attributes(svg)) {
      if (['x', 'y', 'x1', 'x2', 'y1', 'y2', 'width', 'height', 'cx', 'cy', 'r'].includes(name)) {
        expect(Number.isFinite(Number(value)), `${name}="${value}"`).toBe(true);
      }
      if (name === 'width' || name === 'height') expect(Number(value), `${name}="${value}"`).toBeGreaterThan(0);
    }
  });

  it('draws the ratios on a log scale from the 1× line: 2× and 0.5× are as long, on either side', () => {
    const svg: string = chart.benchChartSvg(fakeRows());
    const b = bars(svg);
    const half = b.find((x) => x.peer === 'ort' && x.title.includes(HASWELL) && x.title.includes(': 0.50×'));
    const double = b.find((x) => x.peer === 'torch' && x.title.includes(HASWELL) && x.title.includes('S 1 thr fwd: 2.00×'));
    expect(half && double).toBeTruthy();
    expect(half!.width).toBeCloseTo(double!.width, 0);
    // 0.5× ends at the 1× line, where 2× starts.
    expect(half!.x + half!.width).toBeCloseTo(double!.x, 0);
    // Longer for a larger ratio: 17.5× (tfjs) against 2× (PyTorch) in the same row.
    const tfjs = b.find((x) => x.peer === 'tfjs' && x.title.includes(HASWELL))!;
    expect(tfjs.x).toBeCloseTo(double!.x, 0);
    expect(tfjs.width / double!.width).toBeCloseTo(Math.log(17.5) / Math.log(2), 1);
  });

  it("marks a peer whose output differed with '!', and leaves out the legend of a peer that never ran", () => {
    const rows = fakeRows().map((r) => ({ ...r, peers: Object.fromEntries(Object.entries(r.peers).filter(([k]) => k !== 'tfjs')) }));
    rows[0].peers.torch = { ...rows[0].peers.torch, check: 1e-2 };
    const svg: string = chart.benchChartSvg(rows);
    parseTags(svg);
    const t = texts(svg);
    expect(t).toContain('2.00×!');
    expect(t).not.toContain('TensorFlow.js wasm');
    expect(bars(svg)).toHaveLength(8);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it("ignores the first table's rows beside peer rows, and charts them (% of peak only) without peer rows", () => {
    const native = [
      { config: HASWELL, backend: 'native', threads: 1, shape: 'S', mode: 'fwd+bwd', ms: 12, gflops: 40, peak: 100, pct: 40, others: 0 },
      { config: HASWELL, backend: 'native', threads: 2, shape: 'S', mode: 'fwd', ms: 3, gflops: 60, peak: 200, pct: 30, others: 0 },
      { config: HASWELL, backend: 'js', threads: 1, shape: 'S', mode: 'fwd', ms: 90, gflops: 2, peak: 100, pct: 2, others: 0 },
    ];
    const both: string = chart.benchChartSvg([...native, ...fakeRows()]);
    expect(both).toBe(chart.benchChartSvg(fakeRows()));
    expect(texts(both)).not.toContain('1 thr fwd+bwd');

    const alone: string = chart.benchChartSvg(native);
    parseTags(alone);
    expect(bars(alone)).toHaveLength(0);
    expect((alone.match(/class="pct-bar"/g) ?? []).length).toBe(2); // native only, not js
    expect(texts(alone)).toContain('1 thr fwd+bwd');
    expect(texts(alone)).toContain('no peer comparison in these rows');
    expect(alone).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('throws when there is nothing to chart', () => {
    expect(() => chart.benchChartSvg([])).toThrow(/no peer-comparison or native GRU rows/);
    expect(() => chart.benchChartSvg([{ config: HASWELL, variant: 'LSTM', mode: 'fwd', ms: 1 }])).toThrow(/no peer-comparison/);
    expect(() => chart.benchChartSvg('rows')).toThrow(TypeError);
  });
});

describe('node bench/chart.mjs IN.json OUT.svg', () => {
  it('writes the chart of a --json file (both sections), atomically, with the run in the subtitle', () => {
    const rows = fakeRows();
    const meta = { date: '2026-11-26T04:41:01.371Z', cpu: 'AMD EPYC', logicalCpus: 2, node: 'v20.20.2', source: 'git abc1234' };
    const doc = {
      meta,
      sections: [
        { config: HASWELL, rows: [], variantRows: [], peerRows: rows.filter((r) => r.config === HASWELL) },
        { config: COOPER, rows: [], variantRows: [], peerRows: rows.filter((r) => r.config === COOPER) },
      ],
    };
    const input = path.join(tmp, 'peers.json');
    fs.writeFileSync(input, JSON.stringify(doc));
    const out = path.join(tmp, 'sub', 'peers.svg');
    const r = spawnSync(process.execPath, [CHART, input, out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`SVG written to ${out}`);
    const svg = fs.readFileSync(out, 'utf8');
    expect(svg).toBe(chart.benchChartSvg(rows, { subtitle: chart.chartSubtitle(meta) }));
    expect(texts(svg)).toContain('2026-11-26 · AMD EPYC, 2 CPUs · Node v20.20.2 · git abc1234');
    expect(bars(svg)).toHaveLength(10);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['peers.svg']); // no temporary file left
  });

  it('exits 2 with the usage on wrong arguments, 1 on a file that is not the JSON of a run', () => {
    const r = spawnSync(process.execPath, [CHART, 'only-one.json'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/usage: node bench\/chart\.mjs IN\.json OUT\.svg/);
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, '{"rows": []}');
    const out = path.join(tmp, 'bad.svg');
    const r2 = spawnSync(process.execPath, [CHART, bad, out], { encoding: 'utf8' });
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/no "sections"/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
