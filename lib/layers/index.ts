/** Layer factories with tfjs names: `layers.gru({...})`, `layers.lstm({...})`, `layers.bidirectional({...})`. */
import { Bidirectional, type BidirectionalLayerArgs } from './recurrent/bidirectional.js';
import { GRU, type GRULayerArgs } from './recurrent/gru.js';
import { LSTM, type LSTMLayerArgs } from './recurrent/lstm.js';
import { SimpleRNN, type SimpleRNNLayerArgs } from './recurrent/simpleRnn.js';

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
