/** Layer factories with tfjs names: `layers.gru({...})`. */
import { GRU, type GRULayerArgs } from './recurrent/gru.js';

/** A GRU layer (Keras `GRU`): see {@link GRULayerArgs} for the options. */
export function gru(args: GRULayerArgs): GRU {
  return new GRU(args);
}
