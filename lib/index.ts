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
export { Dense, type DenseLayerArgs } from './layers/core/dense.js';
export { Activation, type ActivationLayerArgs } from './layers/core/activation.js';
export type { ActivationIdentifier } from './layers/core/activations.js';
export { Embedding, type EmbeddingLayerArgs } from './layers/core/embedding.js';
export { Dropout, type DropoutLayerArgs } from './layers/core/dropout.js';
export { BatchNormalization, type BatchNormalizationLayerArgs } from './layers/core/batchNormalization.js';
export { LayerNormalization, type LayerNormalizationLayerArgs } from './layers/core/layerNormalization.js';
export { Flatten, type FlattenLayerArgs } from './layers/core/flatten.js';
export { Concatenate, type ConcatenateLayerArgs } from './layers/core/concatenate.js';
export { Masking, type MaskingLayerArgs } from './layers/core/masking.js';
export { RepeatVector, type RepeatVectorLayerArgs } from './layers/core/repeatVector.js';
export { Reshape, type ReshapeLayerArgs } from './layers/core/reshape.js';
export { Permute, type PermuteLayerArgs } from './layers/core/permute.js';
export { TimeDistributed, type TimeDistributedLayerArgs } from './layers/core/timeDistributed.js';
export { RNN, type RNNLayerArgs, type RNNBackwardResult } from './layers/recurrent/rnn.js';
export { GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells, registerCell, serializeCell, deserializeCell, type Cell, type CellConstructor, type SerializedCell, type GRUCellArgs, type LSTMCellArgs, type SimpleRNNCellArgs, type StackedRNNCellsArgs } from './layers/recurrent/cells.js';
export { RNNCell, matmul, matmulAccumulate, type RNNCellArgs, type CellWeight, type CellStepContext, type CellStepResult, type CellBackwardResult, type MatmulOptions } from './layers/recurrent/rnnCell.js';
export { RecurrentLayer, type RecurrentLayerArgs, type RecurrentCallArgs } from './layers/recurrent/recurrentLayer.js';
export { gruWeightsFromTorch, gruWeightsToTorch, lstmWeightsFromTorch, lstmWeightsToTorch, type TorchRecurrentWeights } from './io/torchLayout.js';
export { SymbolicTensor } from './layers/symbolic.js';
export { input, InputLayer, type InputArgs } from './models/inputLayer.js';
export { model, LayersModel, type ModelArgs, type ModelPredictArgs } from './models/layersModel.js';
export { sequential, Sequential, type SequentialArgs } from './models/sequential.js';
export type { ModelData } from './models/data.js';
export type { CompileArgs, LossIdentifier, MetricIdentifier } from './training/trainer.js';
export type { ModelFitArgs, ModelEvaluateArgs } from './training/fit.js';
export { History } from './training/history.js';
export { callbacks, EarlyStopping, ModelCheckpoint, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN, CSVLogger, type EarlyStoppingArgs, type ModelCheckpointArgs, type LearningRateSchedulerFn, type ReduceLROnPlateauArgs, type TerminateOnNaNArgs, type CSVLoggerArgs } from './training/callbacks/index.js';
export { plotHistory, writeLineChart, renderLineChartSvg, type LineChartSpec, type ChartPanel, type ChartSeries, type PlotHistoryOptions } from './training/plot.js';
export { Callback, type CallbackHooks, type Logs, type TrainingParams } from './training/callbacks/callback.js';
export { train, optimizers, getOptimizer } from './training/optimizers.js';
export { Optimizer, type OptimizerVariable, type OptimizerWeight, type BaseOptimizerArgs } from './training/optimizer.js';
export { losses, getLoss, type Loss, type LossResult } from './training/losses.js';
export { metrics, getMetric, type Metric } from './training/metrics.js';
export * as schedules from './training/schedules.js';
export { setSeed } from './random.js';
export { loadLayersModel, loadModel, modelFromJSON, type LoadOptions } from './io/loadModel.js';
export type { SaveConfig, SaveResult } from './io/saveModel.js';
export { registerLayerClass } from './io/layerRegistry.js';
export { loadKerasModel, modelFromKerasArchive, modelFromKerasH5, type LoadKerasOptions } from './io/keras/loadKerasModel.js';
export { modelToKeras } from './io/keras/saveKeras.js';
export { modelToOnnx, type ExportOnnxOptions } from './io/onnx/exportOnnx.js';
export { readSafetensors, writeSafetensors, parseSafetensors, serializeSafetensors, type TensorMap } from './io/torch/safetensors.js';
export { fromTorchStateDict, toTorchStateDict, torchSpecOf, type TorchModelSpec, type TorchLayerSpec } from './io/torch/stateDict.js';
export { readTorchCheckpoint, parseTorchCheckpoint, type ReadTorchOptions } from './io/torch/torchCheckpoint.js';
export { getBackend, setBackend, setNumThreads, getNumThreads, backendInfo } from './backend/index.js';
export type { BackendInfo, BackendName } from './backend/types.js';
export type { CandidateActivation, GateActivation } from './backend/types.js';
export { BackendUnavailableError, DisposedTensorError, NonFiniteError, ModelFileError } from './errors.js';
export { version } from './version.js';
