export { dawnStarted, describeBackend, gpuAdapter, selectBackend, BACKENDS, GPU_BACKENDS, type BackendChoice, type BackendName } from "./backend.ts";
export { Tokenizer, TextStream, TokenizerJson, trainTokenizer, type TrainTokenizerOptions } from "./tokenizer.ts";
export {
  createModel,
  DEFAULT_MODEL_CONFIG,
  describeShape,
  disposeModel,
  forward,
  maskedLoss,
  MODEL_PRESET_NAMES,
  MODEL_PRESETS,
  ModelConfig,
  pack,
  parameterCount,
  parameters,
  presetConfig,
  tokenLogprobs,
  type LanguageModel,
  type ModelConfigInput,
  type ModelPreset,
  type PackedSequences,
} from "./model.ts";
export {
  AdamW,
  applyGradients,
  batchLoss,
  learningRateAt,
  lossGradients,
  outOfMemoryAsUserError,
  readTensors,
  stepMetrics,
  targetCount,
  targetMask,
  trainLM,
  TrainOptions,
  trainStep,
  type BatchStep,
  type LossFunction,
  type LossGradients,
  type StepMetrics,
  type TokenBatch,
  type TrainOptionsInput,
} from "./train.ts";
export { generate, GenerateOptions, generateTokens, type GenerateOptionsInput } from "./generate.ts";
export {
  addStats,
  emptyGenerationStats,
  Sequence,
  type Generation,
  type GenerationStats,
  type SequenceSampling,
  type TokenConstraint,
} from "./sequence.ts";
export { ContinuousBatch } from "./continuous.ts";
export { PrefixCache, type CachedSequence } from "./prefix-cache.ts";
export { InferenceModel, type Feed, type KvSequence } from "./inference.ts";
export { loadCheckpoint, recoverCheckpoint, saveCheckpoint, type Checkpoint, type CheckpointInput } from "./checkpoint.ts";
