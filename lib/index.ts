/**
 * gatedrnn: GRU and LSTM networks for Node.js with TensorFlow.js
 * layers names and Keras semantics, on a C++/OpenBLAS engine with a
 * pure-TypeScript fallback.
 *
 * Async (return Promises): `layer.apply`, `layer.call`, `layer.backward`,
 * `tensor.data()`, `tensor.array()`. Everything else is synchronous.
 */
export { tensor, zeros, Tensor, type DataType, type TensorLike, type TypedArray, type NestedArray } from './tensor.js';
export * as layers from './layers/index.js';
export { Layer, type LayerArgs, type CallArgs, type Shape } from './layers/layer.js';
export type { InitializerConfig, InitializerIdentifier, InitializerName } from './layers/initializers.js';
export type { RegularizerIdentifier } from './layers/regularizers.js';
export { GRU, type GRULayerArgs, type GRUCallArgs, type GRUBackwardResult } from './layers/recurrent/gru.js';
export { LSTM, type LSTMLayerArgs, type LSTMCallArgs, type LSTMBackwardResult } from './layers/recurrent/lstm.js';
export { SimpleRNN, type SimpleRNNLayerArgs, type SimpleRNNCallArgs, type SimpleRNNBackwardResult } from './layers/recurrent/simpleRnn.js';
export { Bidirectional, type BidirectionalLayerArgs, type BidirectionalBackwardResult, type MergeMode } from './layers/recurrent/bidirectional.js';
export { RecurrentLayer, type RecurrentLayerArgs, type RecurrentCallArgs } from './layers/recurrent/recurrentLayer.js';
export { gruWeightsFromTorch, gruWeightsToTorch, lstmWeightsFromTorch, lstmWeightsToTorch, type TorchRecurrentWeights } from './io/torchLayout.js';
export { getBackend, setBackend, setNumThreads, getNumThreads, backendInfo } from './backend/index.js';
export type { BackendInfo, BackendName } from './backend/types.js';
export type { CandidateActivation, GateActivation } from './backend/types.js';
export { BackendUnavailableError, DisposedTensorError } from './errors.js';
export { version } from './version.js';
