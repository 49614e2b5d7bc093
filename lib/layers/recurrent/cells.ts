/**
 * The cells `layers.rnn({cell})` runs (Keras/tfjs `GRUCell`, `LSTMCell`,
 * `SimpleRNNCell`, `StackedRNNCells`), and the registry that turns a cell's
 * `{className, config}` back into a cell.
 *
 * The built-in cells hold a configuration only: the RNN layer that runs one
 * makes a GRU/LSTM/SimpleRNN layer from it (same options, same weights, the
 * same native and TypeScript kernels), and that layer holds the weights.
 * Cells written in TypeScript subclass {@link RNNCell} (see rnnCell.ts) and
 * hold their own weights.
 */
import { checkKnownOptions } from '../layer.js';
import { GRU, type GRULayerArgs } from './gru.js';
import { LSTM, type LSTMLayerArgs } from './lstm.js';
import { RNNCell } from './rnnCell.js';
import { SimpleRNN, type SimpleRNNLayerArgs } from './simpleRnn.js';
import { RECURRENT_OPTIONS } from './recurrentLayer.js';

/** The options a built-in cell shares with its layer (everything but the sequence options). */
type CellOptionNames =
  | 'units'
  | 'activation'
  | 'useBias'
  | 'kernelInitializer'
  | 'recurrentInitializer'
  | 'biasInitializer'
  | 'kernelRegularizer'
  | 'recurrentRegularizer'
  | 'biasRegularizer'
  | 'dropout'
  | 'recurrentDropout'
  | 'seed';

/** Options of {@link GRUCell}: those of `layers.gru` that concern one step (see {@link GRULayerArgs}). */
export type GRUCellArgs = Pick<GRULayerArgs, CellOptionNames | 'recurrentActivation' | 'resetAfter'>;
/** Options of {@link LSTMCell}: those of `layers.lstm` that concern one step (see {@link LSTMLayerArgs}). */
export type LSTMCellArgs = Pick<LSTMLayerArgs, CellOptionNames | 'recurrentActivation' | 'unitForgetBias'>;
/** Options of {@link SimpleRNNCell}: those of `layers.simpleRNN` that concern one step. */
export type SimpleRNNCellArgs = Pick<SimpleRNNLayerArgs, CellOptionNames>;

/**
 * The recurrent layer options a cell takes: all but those the RNN wrapping
 * it decides (sequence, state and direction handling); a cell adds its own
 * (recurrentActivation, resetAfter, unitForgetBias) where it has them.
 */
const CELL_OPTIONS: readonly string[] = RECURRENT_OPTIONS.filter((o) => !['recurrentActivation', 'returnSequences', 'returnState', 'goBackwards', 'stateful'].includes(o));

/** Options of the layer made from a built-in cell that the RNN decides. */
export interface CellLayerOptions {
  name: string;
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  stateful: boolean;
  batchInputShape?: Array<number | null>;
}

/** What a layer's config holds that a cell's does not. */
const LAYER_ONLY_KEYS = ['name', 'trainable', 'batchInputShape', 'returnSequences', 'returnState', 'goBackwards', 'stateful'];

/** The layer class a built-in cell runs on. */
type BuiltinLayer = GRU | LSTM | SimpleRNN;

/**
 * A built-in cell: its options, checked at once (by the layer that will
 * run it), and the layer it makes for an RNN.
 */
abstract class BuiltinCell {
  /** Size of the hidden state, H. */
  readonly units: number;
  private readonly config: Record<string, unknown>;

  protected constructor(args: object, own: readonly string[], label: string, make: (args: Record<string, unknown>) => BuiltinLayer) {
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new TypeError(`${label}(args): args must be an object like {units: 32}`);
    checkKnownOptions(args, [...CELL_OPTIONS, ...own], label);
    const given = args as Record<string, unknown>;
    // A probe layer checks the options and writes them in canonical form.
    // Its explicit name and seed keep it from consuming a unique-name count
    // or a draw from the global seed.
    const probe = make({ ...given, name: 'cell_probe', seed: given.seed ?? 0 });
    const config = probe.getConfig();
    for (const k of LAYER_ONLY_KEYS) delete config[k];
    if (given.seed === undefined) delete config.seed;
    this.config = config;
    this.units = probe.units;
  }

  /** Number of values per state: H, or [H, H] for an LSTM (tfjs). */
  abstract get stateSize(): number | number[];

  /** The cell's options as plain JSON, as the factory takes them. */
  getConfig(): Record<string, unknown> {
    return JSON.parse(JSON.stringify(this.config)) as Record<string, unknown>;
  }

  /** @internal The recurrent layer that runs this cell inside an RNN. */
  abstract makeLayer(options: CellLayerOptions): BuiltinLayer;
}

/** A GRU cell (Keras/tfjs `GRUCell`); `layers.rnn({cell})` runs it exactly as `layers.gru` with the same options. */
export class GRUCell extends BuiltinCell {
  static readonly className = 'GRUCell';
  constructor(args: GRUCellArgs) {
    super(args, ['recurrentActivation', 'resetAfter'], 'GRUCell', (a) => new GRU(a as unknown as GRULayerArgs));
  }
  /** H. */
  get stateSize(): number {
    return this.units;
  }
  makeLayer(options: CellLayerOptions): GRU {
    return new GRU({ ...this.getConfig(), ...options } as unknown as GRULayerArgs);
  }
}

/** An LSTM cell (Keras/tfjs `LSTMCell`): states [h, c]. */
export class LSTMCell extends BuiltinCell {
  static readonly className = 'LSTMCell';
  constructor(args: LSTMCellArgs) {
    super(args, ['recurrentActivation', 'unitForgetBias'], 'LSTMCell', (a) => new LSTM(a as unknown as LSTMLayerArgs));
  }
  /** [H, H]: h then c. */
  get stateSize(): number[] {
    return [this.units, this.units];
  }
  makeLayer(options: CellLayerOptions): LSTM {
    return new LSTM({ ...this.getConfig(), ...options } as unknown as LSTMLayerArgs);
  }
}

/** A SimpleRNN cell (Keras `SimpleRNNCell`, tfjs `simpleRNNCell`). */
export class SimpleRNNCell extends BuiltinCell {
  static readonly className = 'SimpleRNNCell';
  constructor(args: SimpleRNNCellArgs) {
    super(args, [], 'SimpleRNNCell', (a) => new SimpleRNN(a as unknown as SimpleRNNLayerArgs));
  }
  /** H. */
  get stateSize(): number {
    return this.units;
  }
  makeLayer(options: CellLayerOptions): SimpleRNN {
    return new SimpleRNN({ ...this.getConfig(), ...options } as unknown as SimpleRNNLayerArgs);
  }
}

/** A cell as `getConfig()` writes it. */
export interface SerializedCell {
  className: string;
  config: Record<string, unknown>;
}

/** Anything `layers.rnn({cell})` runs. */
export type Cell = GRUCell | LSTMCell | SimpleRNNCell | StackedRNNCells | RNNCell;

/** Options of {@link StackedRNNCells}. */
export interface StackedRNNCellsArgs {
  /** The cells, first (reading the input) to last (giving the output); cells or their `{className, config}`. */
  cells: Array<Cell | SerializedCell>;
}

/**
 * Cells stacked one on the other (Keras/tfjs `StackedRNNCells`): at each
 * step cell k reads cell k-1's output. An RNN runs it as one recurrent layer
 * per cell, the sequence passed from each to the next.
 *
 * States are every cell's states, in cell order (Keras 2.2+ and Keras 3;
 * tfjs lists them in reverse cell order). Weights are every cell's, in
 * cell order.
 */
export class StackedRNNCells {
  static readonly className = 'StackedRNNCells';
  /** The cells, first to last (nested stacks flattened). */
  readonly cells: Array<GRUCell | LSTMCell | SimpleRNNCell | RNNCell>;

  constructor(args: StackedRNNCellsArgs) {
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new TypeError('stackedRNNCells(args): args must be an object like {cells: [...]}');
    checkKnownOptions(args, ['cells'], 'StackedRNNCells');
    if (!Array.isArray(args.cells) || args.cells.length === 0) throw new TypeError('StackedRNNCells: cells must be a non-empty array of cells');
    const flat: Array<GRUCell | LSTMCell | SimpleRNNCell | RNNCell> = [];
    args.cells.forEach((c, i) => {
      const cell = toCell(c, `StackedRNNCells cells[${i}]`);
      if (cell instanceof StackedRNNCells) flat.push(...cell.cells);
      else flat.push(cell);
    });
    this.cells = flat;
  }

  /** Every cell's state sizes, in cell order. */
  get stateSize(): number[] {
    return this.cells.flatMap((c) => stateSizes(c));
  }

  getConfig(): Record<string, unknown> {
    return { cells: this.cells.map((c) => serializeCell(c)) };
  }
}

/** A registered cell class: it takes the config its `getConfig()` wrote (its own argument type). */
export type CellConstructor = new (config: never) => RNNCell;

const BUILTIN: Record<string, (config: Record<string, unknown>) => Cell> = {
  GRUCell: (c) => new GRUCell(c as GRUCellArgs),
  LSTMCell: (c) => new LSTMCell(c as LSTMCellArgs),
  SimpleRNNCell: (c) => new SimpleRNNCell(c as SimpleRNNCellArgs),
  StackedRNNCells: (c) => new StackedRNNCells(c as unknown as StackedRNNCellsArgs),
};
const custom = new Map<string, CellConstructor>();

/**
 * Registers a cell class written in TypeScript (a subclass of
 * {@link RNNCell}) under `className`, so that an RNN's `getConfig()` names
 * it `{className, config: cell.getConfig()}` and `new RNN(config)` (or a
 * model loaded from its config) makes it again with `new ctor(config)`.
 */
export function registerCell(className: string, ctor: CellConstructor): void {
  if (typeof className !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(className)) {
    throw new TypeError(`registerCell: className must be an identifier like 'MyCell', got ${JSON.stringify(className)}`);
  }
  if (typeof ctor !== 'function' || !(ctor.prototype instanceof RNNCell)) throw new TypeError(`registerCell(${JSON.stringify(className)}): ctor must be a class that extends RNNCell`);
  if (className in BUILTIN) throw new TypeError(`registerCell: ${className} is a built-in cell`);
  const had = custom.get(className);
  if (had && had !== ctor) throw new TypeError(`registerCell: another class is already registered as ${JSON.stringify(className)}`);
  custom.set(className, ctor);
}

/** The cell's `{className, config}` (a custom cell: the name it was registered under, else its class's name). */
export function serializeCell(cell: Cell): SerializedCell {
  if (cell instanceof RNNCell) {
    const ctor = cell.constructor as CellConstructor;
    const registered = [...custom].find(([, c]) => c === ctor)?.[0];
    return { className: registered ?? ((ctor as unknown as { className?: string }).className ?? ctor.name), config: cell.getConfig() };
  }
  return { className: (cell.constructor as unknown as { className: string }).className, config: cell.getConfig() };
}

/** Makes a cell from its `{className, config}`. */
export function deserializeCell(serialized: SerializedCell, what = 'cell'): Cell {
  const { className, config } = serialized;
  if (typeof className !== 'string' || config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new TypeError(`${what} must be {className, config}, got ${JSON.stringify(serialized)}`);
  }
  const builtin = BUILTIN[className];
  if (builtin) return builtin(config);
  const ctor = custom.get(className);
  if (!ctor) {
    throw new TypeError(`${what}: unknown cell class ${JSON.stringify(className)}; the built-in cells are ${Object.keys(BUILTIN).join(', ')}; register a cell written in TypeScript with registerCell(${JSON.stringify(className)}, ${className})`);
  }
  return new (ctor as unknown as new (config: Record<string, unknown>) => RNNCell)(config);
}

/** A cell from what `layers.rnn({cell})` was given: a cell, an array of cells (stacked), or `{className, config}`. */
export function toCell(value: unknown, what = 'cell'): Cell {
  if (value instanceof GRUCell || value instanceof LSTMCell || value instanceof SimpleRNNCell || value instanceof StackedRNNCells || value instanceof RNNCell) {
    return value;
  }
  if (Array.isArray(value)) return new StackedRNNCells({ cells: value as Cell[] });
  if (value !== null && typeof value === 'object' && 'className' in value && 'config' in value) return deserializeCell(value as SerializedCell, what);
  const got = value === null ? 'null' : typeof value === 'object' ? `an object with keys ${Object.keys(value as object).join(', ') || '(none)'}` : typeof value;
  throw new TypeError(
    `${what} must be a cell: layers.gruCell({units}), layers.lstmCell, layers.simpleRNNCell, layers.stackedRNNCells, an instance of a class that extends RNNCell, an array of cells, or {className, config}; got ${got}`,
  );
}

/** The sizes of a cell's states, as a list. */
export function stateSizes(cell: Cell): number[] {
  const s = cell.stateSize;
  return Array.isArray(s) ? [...s] : [s];
}
