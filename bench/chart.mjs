#!/usr/bin/env node
// The benchmark's rows as an SVG chart (bench/gru.mjs --svg FILE), or, run
// alone, the chart of a JSON file that bench/gru.mjs --json wrote:
//
//   node bench/chart.mjs peers.json peers.svg
//
// One block per OpenBLAS section (the rows' `config`, e.g. "env as is
// (Haswell)" and "vars unset (Cooperlake)"), one group of bars per row
// (shape, threads, mode):
// - left: gatedrnn's speed against each peer, peer ms ÷ gatedrnn ms, as
//   horizontal bars from 1× on a log scale (right of 1×: gatedrnn faster),
//   with a diamond at the performance issue's goal for that peer;
// - right: gatedrnn's GFLOP/s as a % of the SGEMM peak of its section and
//   thread count.
// The rows are the peer-comparison rows; a run without them (--no-peers)
// charts the native rows of the first table (% of SGEMM peak only).
//
// Scales come from d3-scale and the goal markers from d3-shape, as in
// lib/training/plot.ts; the SVG elements are written here by hand.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { scaleBand, scaleLinear, scaleLog } from 'd3-scale';
import { symbol, symbolDiamond } from 'd3-shape';
import { CHECK_TOL, PEERS } from './peers/peers.mjs';

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
/** Colours and legend names of the peers (the colours of lib/training/plot.ts). */
const PEER_STYLE = {
  ort: { color: '#4e79a7', name: 'ONNX Runtime' },
  torch: { color: '#f28e2b', name: 'PyTorch' },
  tfjs: { color: '#59a14f', name: 'TensorFlow.js wasm' },
};
const PCT_COLOR = '#9c755f';
/**
 * The performance issue's goals (README "Performance"): gatedrnn 1.2× ONNX
 * Runtime; 2× PyTorch, except the training step on 1 thread (1.5×); the
 * forward pass at L at 85% of the SGEMM peak. null: no goal.
 */
const GOALS = {
  ort: () => 1.2,
  torch: (row) => (row.mode === 'train' && row.threads === 1 ? 1.5 : 2),
  tfjs: () => null,
};
const pctGoal = (row) => (row.shape === 'L' && row.mode === 'fwd' ? 85 : null);
/** Labelled ticks of the log axis (those inside its domain). */
const LOG_TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

// Layout, in pixels.
const WIDTH = 820;
const LABEL_W = 120; // row labels, left of the speed panel
const SPEED_W = 450;
const GAP = 40;
const PCT_W = 160;
const BAR_H = 9; // one bar's slot; the bar is 2 px thinner
const GROUP_PAD = 8;

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A coordinate or size for an attribute: at most one decimal. */
function num(v) {
  if (!Number.isFinite(v)) throw new Error(`chart: non-finite coordinate ${v}`);
  return String(Math.round(v * 10) / 10);
}

function ratioText(v) {
  return `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;
}

/**
 * The rows the chart shows, grouped by section (`config`, in order of
 * appearance): the peer-comparison rows (they have `peers`), or, when there
 * are none, the native rows of the first table.
 */
function chartSections(rows) {
  const peerRows = rows.filter((r) => r && typeof r === 'object' && r.peers && typeof r.peers === 'object');
  const shown = peerRows.length ? peerRows : rows.filter((r) => r && r.backend === 'native');
  const sections = [];
  for (const row of shown) {
    let s = sections.find((x) => x.config === row.config);
    if (!s) {
      s = { config: row.config, rows: [] };
      sections.push(s);
    }
    s.rows.push(row);
  }
  return { sections, withPeers: peerRows.length > 0 };
}

/**
 * The chart of bench/gru.mjs's rows as an SVG document (a string). `rows`:
 * any mix of the first table's rows and the peer-comparison rows, of one or
 * both sections, as in the JSON (`sections[].rows`, `sections[].peerRows`).
 * Throws when there is nothing to chart.
 */
export function benchChartSvg(rows, { title = 'gatedrnn GRU: speed against peers and % of SGEMM peak', subtitle = '' } = {}) {
  if (!Array.isArray(rows)) throw new TypeError('benchChartSvg: rows must be an array');
  const { sections, withPeers } = chartSections(rows);
  if (sections.length === 0) throw new Error('no peer-comparison or native GRU rows to chart (a --variants run has neither)');
  const peers = PEERS.filter((p) => sections.some((s) => s.rows.some((r) => r.peers?.[p.key])));
  const slots = Math.max(1, peers.length);
  const groupH = slots * BAR_H + GROUP_PAD;

  // One log scale for every block, so the blocks compare.
  const ratios = sections.flatMap((s) => s.rows.flatMap((r) => peers.map((p) => r.peers?.[p.key]?.speedup))).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.min(0.5, ...ratios) / 2; // room for the value labels left of the bars
  const hi = Math.max(3, ...ratios) * 1.8; // room for the value labels right of the bars
  const x = scaleLog().domain([lo, hi]).range([0, SPEED_W]);
  const pcts = sections.flatMap((s) => s.rows.map((r) => r.pct)).filter(Number.isFinite);
  // 0-100% (more if a row is above the peak), ticks every 25%.
  const pMax = Math.ceil(Math.max(100, ...pcts) / 25) * 25;
  const p = scaleLinear().domain([0, pMax]).range([0, PCT_W]);
  const pctTicks = Array.from({ length: pMax / 25 + 1 }, (_, i) => i * 25);
  const speedX = LABEL_W;
  const pctX = LABEL_W + SPEED_W + GAP;
  const diamond = symbol(symbolDiamond, 36);

  const out = [];
  let y = 0;
  // Title, subtitle, legend.
  const head = [];
  head.push(`<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="17" font-weight="bold">${esc(title)}</text>`);
  y = 30;
  if (subtitle) {
    head.push(`<text x="${WIDTH / 2}" y="46" text-anchor="middle" font-size="11" fill="#555">${esc(subtitle)}</text>`);
    y = 50;
  }
  y += 18;
  let lx = speedX;
  for (const peer of peers) {
    const st = PEER_STYLE[peer.key] ?? { color: '#999', name: peer.title };
    head.push(`<rect x="${lx}" y="${y - 9}" width="18" height="10" fill="${st.color}"/>`);
    head.push(`<text x="${lx + 24}" y="${y}">${esc(st.name)}</text>`);
    lx += 24 + st.name.length * 6.8 + 20;
  }
  head.push(`<rect x="${lx}" y="${y - 9}" width="18" height="10" fill="${PCT_COLOR}"/>`);
  head.push(`<text x="${lx + 24}" y="${y}">% of SGEMM peak</text>`);
  y += 18;
  head.push(`<line x1="${speedX + 9}" y1="${y - 11}" x2="${speedX + 9}" y2="${y + 2}" stroke="#222" stroke-width="1.5"/>`);
  head.push(`<text x="${speedX + 24}" y="${y}">1× = same speed</text>`);
  head.push(`<path transform="translate(${speedX + 150},${y - 4})" d="${diamond()}" fill="white" stroke="#222" stroke-width="1.2"/>`);
  head.push(`<text x="${speedX + 162}" y="${y}">goal: 1.2× ONNX Runtime; 2× PyTorch (train on 1 thread: 1.5×); 85% peak (L fwd)</text>`);
  y += 16;
  head.push(`<text x="${speedX}" y="${y}" font-size="11" fill="#555">no bar = not run (—); ? = others &gt; 0.2 CPU during the row; ! = the peer's output differed from gatedrnn's</text>`);
  out.push(...head);
  y += 14;

  const tickValues = LOG_TICKS.filter((t) => t >= lo && t <= hi);
  for (const section of sections) {
    const n = section.rows.length;
    const h = n * groupH;
    y += 22;
    out.push(`<text x="8" y="${y}" font-size="14" font-weight="bold">${esc(section.config)}</text>`);
    y += 8;
    out.push(`<g transform="translate(0,${y})">`);
    const band = scaleBand()
      .domain(section.rows.map((_, i) => i))
      .range([0, h]);
    // Shape bands: a light background on every other shape, the shape's name once.
    let start = 0;
    let shade = false;
    for (let i = 1; i <= n; i++) {
      if (i < n && section.rows[i].shape === section.rows[start].shape) continue;
      const y0 = band(start);
      const y1 = band(i - 1) + band.bandwidth();
      if (shade) out.push(`<rect x="0" y="${num(y0)}" width="${WIDTH}" height="${num(y1 - y0)}" fill="#f3f3f3"/>`);
      out.push(`<text x="10" y="${num((y0 + y1) / 2)}" dy="0.35em" font-size="13" font-weight="bold">${esc(section.rows[start].shape)}</text>`);
      shade = !shade;
      start = i;
    }
    // Grids and the 1× line.
    for (const t of tickValues) {
      out.push(`<line x1="${num(speedX + x(t))}" y1="0" x2="${num(speedX + x(t))}" y2="${h}" stroke="#e0e0e0"/>`);
    }
    for (const t of pctTicks) out.push(`<line x1="${num(pctX + p(t))}" y1="0" x2="${num(pctX + p(t))}" y2="${h}" stroke="#e0e0e0"/>`);
    // Rows.
    section.rows.forEach((row, i) => {
      const gy = band(i) + GROUP_PAD / 2;
      const label = `${row.threads} thr ${row.mode}`;
      out.push(`<text x="${LABEL_W - 8}" y="${num(gy + (slots * BAR_H) / 2)}" dy="0.35em" text-anchor="end">${esc(label)}</text>`);
      const mark = row.others > 0.2 ? '?' : '';
      peers.forEach((peer, k) => {
        const r = row.peers?.[peer.key];
        if (!r || !Number.isFinite(r.speedup) || r.speedup <= 0) return;
        const st = PEER_STYLE[peer.key] ?? { color: '#999', name: peer.title };
        const by = gy + k * BAR_H + 1;
        const x0 = x(1);
        const x1 = x(r.speedup);
        const bad = r.check !== undefined && r.check > CHECK_TOL ? '!' : '';
        const tip = `${st.name}, ${row.config}, ${row.shape} ${label}: ${ratioText(r.speedup)} (${st.name} ${r.ms.toFixed(2)} ms, gatedrnn ${row.ms.toFixed(2)} ms)`;
        out.push(
          `<rect class="bar" data-peer="${peer.key}" x="${num(speedX + Math.min(x0, x1))}" y="${num(by)}" width="${num(Math.max(1, Math.abs(x1 - x0)))}" height="${BAR_H - 2}" fill="${st.color}"><title>${esc(tip)}</title></rect>`,
        );
        const goal = (GOALS[peer.key] ?? (() => null))(row);
        if (goal !== null) {
          out.push(`<path class="goal" transform="translate(${num(speedX + x(goal))},${num(by + (BAR_H - 2) / 2)})" d="${diamond()}" fill="white" stroke="#222" stroke-width="1.2"/>`);
        }
        // The value: right of the bar (and of a goal it has not reached), or left of a bar below 1×.
        const right = r.speedup >= 1;
        const tx = right ? Math.max(x1, goal === null ? x1 : x(goal) + 4) + 4 : x1 - 4;
        out.push(
          `<text x="${num(speedX + tx)}" y="${num(by + (BAR_H - 2) / 2)}" dy="0.35em" font-size="9" fill="#333" text-anchor="${right ? 'start' : 'end'}">${ratioText(r.speedup)}${mark}${bad}</text>`,
        );
      });
      // % of SGEMM peak: one bar per row, as tall as the row's peer bars.
      const ph = slots * BAR_H - 2;
      const g = pctGoal(row);
      if (g !== null && g <= pMax) {
        out.push(`<path class="goal" transform="translate(${num(pctX + p(g))},${num(gy + 1 + ph / 2)})" d="${diamond()}" fill="white" stroke="#222" stroke-width="1.2"/>`);
      }
      if (Number.isFinite(row.pct)) {
        out.push(
          `<rect class="pct-bar" x="${pctX}" y="${num(gy + 1)}" width="${num(Math.max(1, p(row.pct)))}" height="${ph}" fill="${PCT_COLOR}"><title>${esc(`${row.config}, ${row.shape} ${label}: ${row.pct.toFixed(1)}% of SGEMM peak (${row.gflops.toFixed(1)} of ${row.peak.toFixed(1)} GFLOP/s)`)}</title></rect>`,
        );
        const tx = Math.max(p(row.pct), g === null ? 0 : p(g) + 4) + 4;
        out.push(`<text x="${num(pctX + tx)}" y="${num(gy + 1 + ph / 2)}" dy="0.35em" font-size="9" fill="#333">${row.pct.toFixed(0)}%${mark}</text>`);
      } else {
        out.push(`<text x="${pctX + 4}" y="${num(gy + 1 + ph / 2)}" dy="0.35em" font-size="9" fill="#777">n/a</text>`);
      }
    });
    // Frames, the 1× line, axes.
    out.push(`<line x1="${num(speedX + x(1))}" y1="0" x2="${num(speedX + x(1))}" y2="${h}" stroke="#222" stroke-width="1.5"/>`);
    out.push(`<rect x="${speedX}" y="0" width="${SPEED_W}" height="${h}" fill="none" stroke="#333"/>`);
    out.push(`<rect x="${pctX}" y="0" width="${PCT_W}" height="${h}" fill="none" stroke="#333"/>`);
    if (!withPeers) {
      out.push(`<text x="${speedX + SPEED_W / 2}" y="${h / 2}" text-anchor="middle" fill="#777">no peer comparison in these rows</text>`);
    }
    for (const t of tickValues) {
      out.push(`<line x1="${num(speedX + x(t))}" y1="${h}" x2="${num(speedX + x(t))}" y2="${h + 5}" stroke="#333"/>`);
      out.push(`<text x="${num(speedX + x(t))}" y="${h + 17}" text-anchor="middle" fill="#333">${t}×</text>`);
    }
    for (const t of pctTicks) {
      out.push(`<line x1="${num(pctX + p(t))}" y1="${h}" x2="${num(pctX + p(t))}" y2="${h + 5}" stroke="#333"/>`);
      out.push(`<text x="${num(pctX + p(t))}" y="${h + 17}" text-anchor="middle" fill="#333">${t}%</text>`);
    }
    out.push(`<text x="${speedX + SPEED_W / 2}" y="${h + 33}" text-anchor="middle">peer ms ÷ gatedrnn ms (log scale; right of 1×: gatedrnn faster)</text>`);
    out.push(`<text x="${pctX + PCT_W / 2}" y="${h + 33}" text-anchor="middle">gatedrnn, % of SGEMM peak</text>`);
    out.push('</g>');
    y += h + 40;
  }
  const height = Math.round(y + 8);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

/** A subtitle from the `meta` of bench/gru.mjs's JSON: date, CPU, Node, source. */
export function chartSubtitle(meta) {
  if (!meta || typeof meta !== 'object') return '';
  const parts = [];
  if (meta.date) parts.push(String(meta.date).slice(0, 10));
  if (meta.cpu) parts.push(`${meta.cpu}${meta.logicalCpus ? `, ${meta.logicalCpus} CPUs` : ''}`);
  if (meta.node) parts.push(`Node ${meta.node}`);
  if (meta.source) parts.push(meta.source);
  return parts.join(' · ');
}

/** Writes `text` to `file` whole or not at all: a temporary file beside it, then a rename. */
export function writeFileAtomic(file, text) {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const temp = path.join(path.dirname(path.resolve(file)), `.gatedrnn-tmp-${path.basename(file)}-${process.pid}`);
  try {
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, file);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
}

// ---------------------------------------------------------------- command line

function usage(code) {
  console.log('usage: node bench/chart.mjs IN.json OUT.svg\n  the chart of a JSON file written by node bench/gru.mjs --json (what --svg writes)');
  process.exit(code);
}

function main() {
  let parsed;
  try {
    parsed = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: { help: { type: 'boolean', short: 'h', default: false } } });
  } catch (e) {
    console.error(e.message);
    usage(2);
  }
  if (parsed.values.help) usage(0);
  if (parsed.positionals.length !== 2) usage(2);
  const [input, output] = parsed.positionals;
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(input, 'utf8'));
  } catch (e) {
    console.error(`cannot read ${input}: ${e.message}`);
    process.exit(1);
  }
  if (!doc || !Array.isArray(doc.sections)) {
    console.error(`${input} is not a JSON file of bench/gru.mjs --json (no "sections")`);
    process.exit(1);
  }
  const rows = doc.sections.flatMap((s) => [...(s.rows ?? []), ...(s.peerRows ?? [])]);
  let svg;
  try {
    svg = benchChartSvg(rows, { subtitle: chartSubtitle(doc.meta) });
  } catch (e) {
    console.error(`${input}: ${e.message}`);
    process.exit(1);
  }
  writeFileAtomic(output, svg);
  console.log(`SVG written to ${output}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
