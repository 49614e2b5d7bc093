/**
 * `model.summary()`: the Keras table of layers, output shapes and parameter
 * counts (with "Connected to" for functional models), then the totals.
 */
import type { Layer, Shape } from '../layers/layer.js';
import type { Graph } from './graph.js';
import type { LayersModel } from './layersModel.js';
import { InputLayer } from './inputLayer.js';

export interface SummaryOptions {
  /** Total width (default 65, or 98 with the "Connected to" column). */
  lineLength?: number;
  /** Column ends as fractions (≤ 1) or characters. */
  positions?: number[];
}

function shapeText(shapes: Shape[]): string {
  const one = (s: Shape) => `[${s.map((d) => (d === null ? 'null' : d)).join(',')}]`;
  return shapes.length === 1 ? one(shapes[0]) : shapes.map(one).join(', ');
}

function row(fields: string[], positions: number[]): string {
  let line = '';
  fields.forEach((f, i) => {
    if (i > 0) line = line.slice(0, positions[i - 1] - 1) + ' ';
    line += f;
    line = line.slice(0, positions[i]);
    line += ' '.repeat(Math.max(0, positions[i] - line.length));
  });
  return line.trimEnd();
}

/** The lines of the summary of a model's graph. */
export function summaryLines(model: LayersModel, graph: Graph, options: SummaryOptions = {}): string[] {
  const sequential = (model.constructor as { className?: string }).className === 'Sequential';
  const lineLength = options.lineLength ?? (sequential ? 65 : 98);
  let positions = options.positions ?? (sequential ? [0.45, 0.85, 1] : [0.33, 0.55, 0.67, 1]);
  if (positions[positions.length - 1] <= 1) positions = positions.map((p) => Math.floor(lineLength * p));
  const headers = sequential ? ['Layer (type)', 'Output shape', 'Param #'] : ['Layer (type)', 'Output shape', 'Param #', 'Connected to'];
  const lines: string[] = [`Model: "${model.name}"`, '_'.repeat(lineLength), row(headers, positions), '='.repeat(lineLength)];
  const layers = graph.layers.filter((l) => !(sequential && l instanceof InputLayer));
  layers.forEach((layer, i) => {
    const nodes = layer.inboundNodes.filter((n) => graph.nodes.includes(n));
    const outShapes = nodes.length > 0 ? nodes[0].outputs.map((s) => s.shape) : [];
    const type = (layer.constructor as { className?: string }).className ?? layer.constructor.name;
    const fields = [`${layer.name} (${type})`, shapeText(outShapes), String(layer.countParams())];
    if (!sequential) {
      const inbound = nodes.flatMap((n) => n.inputs.map((s) => `${s.sourceLayer.name}[${nodeIndex(s.sourceLayer, s.node)}][${s.outputIndex}]`));
      fields.push(inbound[0] ?? '');
      lines.push(row(fields, positions));
      for (const extra of inbound.slice(1)) lines.push(row(['', '', '', extra], positions));
    } else {
      lines.push(row(fields, positions));
    }
    lines.push(i === layers.length - 1 ? '='.repeat(lineLength) : '_'.repeat(lineLength));
  });
  let trainable = 0;
  let total = 0;
  for (const layer of layers) {
    if (!layer.built) continue;
    const flags = layer.trainableWeightFlags();
    layer.getWeights().forEach((w, k) => {
      total += w.size;
      if (flags[k]) trainable += w.size;
    });
  }
  lines.push(`Total params: ${total}`, `Trainable params: ${trainable}`, `Non-trainable params: ${total - trainable}`, '_'.repeat(lineLength));
  return lines;
}

function nodeIndex(layer: Layer, node: unknown): number {
  return Math.max(0, layer.inboundNodes.indexOf(node as never));
}
