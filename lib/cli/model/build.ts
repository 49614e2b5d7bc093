/**
 * The networks the CLI trains, one per task, from the hyper-parameters:
 *
 * - forecast: [GRU|LSTM](units) × layers → Dense(horizon), mean squared error;
 * - classify: [Masking(padValue)] → [GRU|LSTM] × layers → Dense(classes, softmax),
 *   sparse categorical crossentropy, accuracy;
 * - text: Embedding(vocabulary, dim, maskZero) → [GRU|LSTM] × layers → Dense(classes, softmax).
 *
 * Every recurrent layer takes sequences of any length (timesteps null).
 */
import * as layers from '../../layers/index.js';
import type { Layer } from '../../layers/layer.js';
import { sequential, type Sequential } from '../../models/sequential.js';
import { optimizers } from '../../training/optimizers.js';

/** Hyper-parameters of the network and its training (flags / --config). */
export interface HyperParams {
  cell: 'gru' | 'lstm';
  units: number;
  layers: number;
  dropout: number;
  recurrentDropout: number;
  learningRate: number;
  clipnorm: number | null;
  embeddingDim: number;
}

function recurrentStack(hp: HyperParams, first: { inputShape?: Array<number | null> }): Layer[] {
  const out: Layer[] = [];
  for (let i = 0; i < hp.layers; i++) {
    const args = {
      units: hp.units,
      returnSequences: i < hp.layers - 1,
      dropout: hp.dropout,
      recurrentDropout: hp.recurrentDropout,
      ...(i === 0 ? first : {}),
    };
    out.push(hp.cell === 'lstm' ? layers.lstm(args) : layers.gru(args));
  }
  return out;
}

function compile(model: Sequential, hp: HyperParams, loss: string, metrics: string[]): Sequential {
  const opt = optimizers.adam({ learningRate: hp.learningRate, ...(hp.clipnorm !== null ? { clipnorm: hp.clipnorm } : {}) });
  model.compile({ optimizer: opt, loss, metrics });
  return model;
}

/** A forecaster of `horizon` values from sequences of `features` per step. */
export function forecastModel(hp: HyperParams, features: number, horizon: number): Sequential {
  const model = sequential({ layers: [...recurrentStack(hp, { inputShape: [null, features] }), layers.dense({ units: horizon })] });
  return compile(model, hp, 'meanSquaredError', ['mae']);
}

/** A classifier of sequences of `features` per step into `classes` classes. */
export function classifyModel(hp: HyperParams, features: number, classes: number, padValue: number | null): Sequential {
  const stack: Layer[] = padValue === null
    ? recurrentStack(hp, { inputShape: [null, features] })
    : [layers.masking({ maskValue: padValue, inputShape: [null, features] } as never), ...recurrentStack(hp, {})];
  const model = sequential({ layers: [...stack, layers.dense({ units: classes, activation: 'softmax' })] });
  return compile(model, hp, 'sparseCategoricalCrossentropy', ['accuracy']);
}

/** A text classifier over token ids in [0, vocabularySize). */
export function textModel(hp: HyperParams, vocabularySize: number, classes: number): Sequential {
  const model = sequential({
    layers: [
      layers.embedding({ inputDim: vocabularySize, outputDim: hp.embeddingDim, maskZero: true, inputShape: [null] } as never),
      ...recurrentStack(hp, {}),
      layers.dense({ units: classes, activation: 'softmax' }),
    ],
  });
  return compile(model, hp, 'sparseCategoricalCrossentropy', ['accuracy']);
}
