/**
 * Symbolic tensors: the placeholders of the functional API. `input({shape})`
 * makes one; applying a layer to symbolic tensors records a Node (the layer
 * and the tensors it was applied to) and returns new symbolic tensors. A
 * model is the graph of Nodes between its inputs and outputs; nothing is
 * computed until the model runs.
 */
import type { DataType } from '../tensor.js';
import type { Layer, Shape } from './layer.js';

let symbolicCount = 0;

/** A placeholder for a tensor in a model graph (tfjs `SymbolicTensor`). */
export class SymbolicTensor {
  /** Unique id, for ordering and lookups. */
  readonly id: number;
  /** @internal The node that produces this tensor. */
  readonly node: Node;

  /**
   * @param shape shape with the batch dimension first, null where unknown
   * @param outputIndex which of the node's outputs this is
   */
  constructor(
    readonly dtype: DataType,
    readonly shape: Shape,
    node: Node,
    readonly outputIndex: number,
    readonly name: string,
  ) {
    this.id = symbolicCount++;
    this.node = node;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** The layer that produced this tensor. */
  get sourceLayer(): Layer {
    return this.node.layer;
  }

  toString(): string {
    return `SymbolicTensor ${this.name} [${this.shape.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
  }
}

/**
 * One application of a layer in a graph: the symbolic tensors it read (in
 * the order the layer's `forwardNode` takes them: the main input(s) first,
 * then, for recurrent layers, the initial states) and the ones it produced.
 */
export class Node {
  readonly inputs: SymbolicTensor[];
  outputs: SymbolicTensor[] = [];

  /**
   * @param callArgs the non-tensor keyword arguments of the call, kept so the
   *   graph can be serialised (e.g. `{training: false}` pinned by the user)
   */
  constructor(
    readonly layer: Layer,
    inputs: SymbolicTensor[],
    readonly callArgs: Record<string, unknown> = {},
  ) {
    this.inputs = inputs;
  }
}

/** True for a SymbolicTensor or a non-empty array of them. */
export function isSymbolic(value: unknown): value is SymbolicTensor | SymbolicTensor[] {
  if (value instanceof SymbolicTensor) return true;
  return Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof SymbolicTensor);
}
