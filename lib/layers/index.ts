/**
 * Layer factories with tfjs names: `layers.gru({...})`, `layers.lstm({...})`,
 * `layers.dense({...})`, `layers.embedding({...})`, ...
 */
import { Bidirectional, type BidirectionalLayerArgs } from './recurrent/bidirectional.js';
import { GRU, type GRULayerArgs } from './recurrent/gru.js';
import { LSTM, type LSTMLayerArgs } from './recurrent/lstm.js';
import { SimpleRNN, type SimpleRNNLayerArgs } from './recurrent/simpleRnn.js';
import { RNN, type RNNLayerArgs } from './recurrent/rnn.js';
import { GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells, type GRUCellArgs, type LSTMCellArgs, type SimpleRNNCellArgs, type StackedRNNCellsArgs } from './recurrent/cells.js';
import { Activation, type ActivationLayerArgs } from './core/activation.js';
import { BatchNormalization, type BatchNormalizationLayerArgs } from './core/batchNormalization.js';
import { Concatenate, type ConcatenateLayerArgs } from './core/concatenate.js';
import { Dense, type DenseLayerArgs } from './core/dense.js';
import { Dropout, type DropoutLayerArgs } from './core/dropout.js';
import { Embedding, type EmbeddingLayerArgs } from './core/embedding.js';
import { Flatten, type FlattenLayerArgs } from './core/flatten.js';
import { LayerNormalization, type LayerNormalizationLayerArgs } from './core/layerNormalization.js';
import { Masking, type MaskingLayerArgs } from './core/masking.js';
import { Permute, type PermuteLayerArgs } from './core/permute.js';
import { RepeatVector, type RepeatVectorLayerArgs } from './core/repeatVector.js';
import { Reshape, type ReshapeLayerArgs } from './core/reshape.js';
import { TimeDistributed, type TimeDistributedLayerArgs } from './core/timeDistributed.js';
import type { Tensor } from '../tensor.js';
import type { SymbolicTensor } from './symbolic.js';

/** A GRU layer (Keras `GRU`): see {@link GRULayerArgs} for the options. */
export function gru(args: GRULayerArgs): GRU {
  return new GRU(args);
}

/** An LSTM layer (Keras `LSTM`): see {@link LSTMLayerArgs} for the options. */
export function lstm(args: LSTMLayerArgs): LSTM {
  return new LSTM(args);
}

/** Runs a GRU or LSTM in both directions (Keras `Bidirectional`): see {@link BidirectionalLayerArgs}. */
export function bidirectional(args: BidirectionalLayerArgs): Bidirectional {
  return new Bidirectional(args);
}

/** A SimpleRNN layer (Keras `SimpleRNN`): see {@link SimpleRNNLayerArgs}. */
export function simpleRNN(args: SimpleRNNLayerArgs): SimpleRNN {
  return new SimpleRNN(args);
}

/**
 * Runs a cell over sequences (Keras `RNN`, tfjs `layers.rnn`): a built-in
 * cell, a stack of cells, or a cell written in TypeScript (a subclass of
 * `RNNCell`). See {@link RNNLayerArgs}.
 */
export function rnn(args: RNNLayerArgs): RNN {
  return new RNN(args);
}

/** A GRU cell for `layers.rnn` (Keras/tfjs `GRUCell`): see {@link GRUCellArgs}. */
export function gruCell(args: GRUCellArgs): GRUCell {
  return new GRUCell(args);
}

/** An LSTM cell for `layers.rnn` (Keras/tfjs `LSTMCell`): see {@link LSTMCellArgs}. */
export function lstmCell(args: LSTMCellArgs): LSTMCell {
  return new LSTMCell(args);
}

/** A SimpleRNN cell for `layers.rnn` (Keras `SimpleRNNCell`): see {@link SimpleRNNCellArgs}. */
export function simpleRNNCell(args: SimpleRNNCellArgs): SimpleRNNCell {
  return new SimpleRNNCell(args);
}

/** Cells stacked for one `layers.rnn` (Keras/tfjs `StackedRNNCells`): see {@link StackedRNNCellsArgs}. */
export function stackedRNNCells(args: StackedRNNCellsArgs): StackedRNNCells {
  return new StackedRNNCells(args);
}

/** A Dense layer (Keras `Dense`): see {@link DenseLayerArgs}. */
export function dense(args: DenseLayerArgs): Dense {
  return new Dense(args);
}

/** An Activation layer (Keras `Activation`): see {@link ActivationLayerArgs}. */
export function activation(args: ActivationLayerArgs): Activation {
  return new Activation(args);
}

/** An Embedding layer (Keras `Embedding`): see {@link EmbeddingLayerArgs}. */
export function embedding(args: EmbeddingLayerArgs): Embedding {
  return new Embedding(args);
}

/** A Dropout layer (Keras `Dropout`): see {@link DropoutLayerArgs}. */
export function dropout(args: DropoutLayerArgs): Dropout {
  return new Dropout(args);
}

/** A BatchNormalization layer (Keras `BatchNormalization`): see {@link BatchNormalizationLayerArgs}. */
export function batchNormalization(args: BatchNormalizationLayerArgs = {}): BatchNormalization {
  return new BatchNormalization(args);
}

/** A LayerNormalization layer (Keras `LayerNormalization`): see {@link LayerNormalizationLayerArgs}. */
export function layerNormalization(args: LayerNormalizationLayerArgs = {}): LayerNormalization {
  return new LayerNormalization(args);
}

/** A Flatten layer (Keras `Flatten`): see {@link FlattenLayerArgs}. */
export function flatten(args: FlattenLayerArgs = {}): Flatten {
  return new Flatten(args);
}

/**
 * A Concatenate layer (Keras `Concatenate`): see {@link ConcatenateLayerArgs}.
 * Given a list of (symbolic) tensors instead, applies a new Concatenate
 * (axis -1) to them at once, as tfjs does.
 */
export function concatenate(args?: ConcatenateLayerArgs): Concatenate;
export function concatenate(inputs: SymbolicTensor[]): SymbolicTensor;
export function concatenate(inputs: Tensor[]): Promise<Tensor>;
export function concatenate(args: ConcatenateLayerArgs | SymbolicTensor[] | Tensor[] = {}): Concatenate | SymbolicTensor | Promise<Tensor> {
  if (Array.isArray(args)) return new Concatenate().apply(args as never) as never;
  return new Concatenate(args);
}

/** A Masking layer (Keras `Masking`): see {@link MaskingLayerArgs}. */
export function masking(args: MaskingLayerArgs = {}): Masking {
  return new Masking(args);
}

/** A RepeatVector layer (Keras `RepeatVector`): see {@link RepeatVectorLayerArgs}. */
export function repeatVector(args: RepeatVectorLayerArgs): RepeatVector {
  return new RepeatVector(args);
}

/** A Reshape layer (Keras `Reshape`): see {@link ReshapeLayerArgs}. */
export function reshape(args: ReshapeLayerArgs): Reshape {
  return new Reshape(args);
}

/** A Permute layer (Keras `Permute`): see {@link PermuteLayerArgs}. */
export function permute(args: PermuteLayerArgs): Permute {
  return new Permute(args);
}

/** Applies a layer at every timestep (Keras `TimeDistributed`): see {@link TimeDistributedLayerArgs}. */
export function timeDistributed(args: TimeDistributedLayerArgs): TimeDistributed {
  return new TimeDistributed(args);
}
