/**
 * The graph of a model: the nodes between its inputs and outputs in an order
 * where every node comes after the nodes it reads, a forward run that keeps
 * each tensor's value and mask, and a backward run that sums the gradients
 * flowing into each tensor before passing them on.
 */
import { formatShape } from '../errors.js';
import { float32Tensor, type Tensor } from '../tensor.js';
import type { Layer } from '../layers/layer.js';
import type { Node, SymbolicTensor } from '../layers/symbolic.js';
import { InputLayer } from './inputLayer.js';

/** What a forward run computed: each symbolic tensor's value and mask, by id. */
export interface GraphValues {
  values: Map<number, Tensor>;
  masks: Map<number, Tensor | null>;
}

/** A layer that can backpropagate from the gradient of its logits (before a sigmoid/softmax). */
export interface LogitsBackward {
  backwardFromLogits(dLogits: Tensor): Promise<Array<Tensor | null>>;
}

export class Graph {
  /** Nodes in execution order (input nodes first). */
  readonly nodes: Node[];
  /** Layers in the order Keras lists them (first use), inputs included. */
  readonly layers: Layer[];

  constructor(
    readonly inputs: SymbolicTensor[],
    readonly outputs: SymbolicTensor[],
  ) {
    this.nodes = orderNodes(inputs, outputs);
    const layers: Layer[] = [];
    for (const node of this.nodes) if (!layers.includes(node.layer)) layers.push(node.layer);
    this.layers = layers;
    const names = new Set<string>();
    for (const l of layers) {
      if (names.has(l.name)) throw new Error(`model: two layers are named ${JSON.stringify(l.name)}; layer names must be unique within a model`);
      names.add(l.name);
    }
  }

  /**
   * Runs the nodes on `inputs` (one tensor per model input). Masks given
   * for inputs start there; layers add or pass them on.
   */
  async forward(inputs: Tensor[], training: boolean, inputMasks: Array<Tensor | null> = []): Promise<GraphValues> {
    const values = new Map<number, Tensor>();
    const masks = new Map<number, Tensor | null>();
    this.inputs.forEach((s, i) => {
      values.set(s.id, (s.sourceLayer as InputLayer).check(inputs[i]));
      masks.set(s.id, inputMasks[i] ?? null);
    });
    for (const node of this.nodes) {
      if (node.layer instanceof InputLayer) continue;
      const ins = node.inputs.map((s) => values.get(s.id) as Tensor);
      const inMasks = node.inputs.map((s) => masks.get(s.id) ?? null);
      const outs = await node.layer.forwardNode(ins, { training, masks: inMasks });
      if (outs.length !== node.outputs.length) {
        throw new Error(`internal: layer ${node.layer.name} produced ${outs.length} outputs, its node expects ${node.outputs.length}`);
      }
      const outMasks = node.layer.computeMask(ins, inMasks);
      node.outputs.forEach((s, i) => {
        checkDims(s, outs[i]);
        values.set(s.id, outs[i]);
        masks.set(s.id, outMasks[i] ?? null);
      });
    }
    return { values, masks };
  }

  /**
   * Backpropagates `dOutputs` (one per model output; null: none) through the
   * training forward that gave `forward`. Every layer whose node ran backward has fresh
   * gradients afterwards; the returned set names them (the others got no
   * gradient this step).
   */
  async backward(forward: GraphValues, dOutputs: Array<Tensor | null>, dLogits: Map<number, Tensor> = new Map(), logitLayers: Array<LogitsBackward | null> = []): Promise<Set<Layer>> {
    const grads = new Map<number, Float32Array>();
    const add = (s: SymbolicTensor, d: Tensor) => {
      const v = d.view() as Float32Array;
      const acc = grads.get(s.id);
      if (!acc) grads.set(s.id, v.slice());
      else for (let i = 0; i < acc.length; i++) acc[i] += v[i];
    };
    this.outputs.forEach((s, i) => {
      const d = dOutputs[i];
      if (d) add(s, d);
    });
    const reached = new Set<Layer>();
    for (let n = this.nodes.length - 1; n >= 0; n--) {
      const node = this.nodes[n];
      if (node.layer instanceof InputLayer) continue;
      const fusedId = node.outputs.length === 1 && dLogits.has(node.outputs[0].id) ? node.outputs[0].id : null;
      if (fusedId !== null) {
        // The loss gave dL/d(logits) directly (sigmoid/softmax + crossentropy).
        const layer = logitLayers.find((l) => l === (node.layer as unknown)) as LogitsBackward;
        const dIns = await layer.backwardFromLogits(dLogits.get(fusedId) as Tensor);
        reached.add(node.layer);
        node.inputs.forEach((s, i) => {
          const d = dIns[i];
          if (d && !(s.sourceLayer instanceof InputLayer)) add(s, d);
        });
        continue;
      }
      const dOuts = node.outputs.map((s) => {
        const g = grads.get(s.id);
        return g ? float32Tensor(g, (forward.values.get(s.id) as Tensor).shape) : null;
      });
      if (dOuts.every((d) => d === null)) continue;
      const dIns = await node.layer.backwardNode(dOuts);
      reached.add(node.layer);
      node.inputs.forEach((s, i) => {
        const d = dIns[i];
        if (d && !(s.sourceLayer instanceof InputLayer)) add(s, d);
      });
    }
    return reached;
  }

  /** Layers applied more than once (shared layers). */
  sharedLayers(): Layer[] {
    const counts = new Map<Layer, number>();
    for (const node of this.nodes) counts.set(node.layer, (counts.get(node.layer) ?? 0) + 1);
    return [...counts].filter(([, c]) => c > 1).map(([l]) => l);
  }
}

/**
 * Nodes from the inputs to the outputs, each after the nodes it reads
 * (depth-first from the outputs). Fails clearly when an output does not
 * depend on the given inputs only.
 */
function orderNodes(inputs: SymbolicTensor[], outputs: SymbolicTensor[]): Node[] {
  const order: Node[] = [];
  const done = new Set<Node>();
  const visiting = new Set<Node>();
  const inputNodes = new Set(inputs.map((s) => s.node));
  const visit = (node: Node, path: string): void => {
    if (done.has(node)) return;
    if (visiting.has(node)) throw new Error(`model: the graph has a cycle at layer ${node.layer.name}`);
    if (node.layer instanceof InputLayer && !inputNodes.has(node)) {
      throw new Error(`model: output depends on input ${JSON.stringify(node.layer.name)}, which is not among the model's inputs (${path})`);
    }
    visiting.add(node);
    for (const s of node.inputs) visit(s.node, `${s.sourceLayer.name} -> ${path}`);
    visiting.delete(node);
    done.add(node);
    order.push(node);
  };
  // Inputs first, in the order given (as Keras lists them), then everything the outputs need.
  for (const s of inputs) {
    done.add(s.node);
    order.push(s.node);
  }
  const used = new Set<Node>();
  const mark = (node: Node): void => {
    if (used.has(node)) return;
    used.add(node);
    for (const s of node.inputs) mark(s.node);
  };
  for (const o of outputs) mark(o.node);
  for (const o of outputs) visit(o.node, o.sourceLayer.name);
  const unused = inputs.filter((s) => !used.has(s.node));
  if (unused.length > 0) throw new Error(`model: input ${JSON.stringify(unused[0].sourceLayer.name)} is not used by any output`);
  return order;
}

/** Checks a computed tensor against the dimensions the graph inferred for it. */
function checkDims(s: SymbolicTensor, t: Tensor): void {
  const ok = t.shape.length === s.shape.length && s.shape.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) throw new RangeError(`layer ${s.sourceLayer.name} produced shape ${formatShape(t.shape)}, expected ${formatShape(s.shape)}`);
}
