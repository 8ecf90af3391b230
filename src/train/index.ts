export { bootstrapFewShot, type BootstrapOptions, type BootstrapResult, type CandidateScore } from "./bootstrap.ts";
export {
  DpoConfig,
  DpoSettings,
  loadConfig,
  MissingSettingError,
  PolicyGradientConfig,
  PolicyGradientSettings,
  RejectionConfig,
  RejectionSettings,
  REWARDS,
  RewardModelConfig,
  type RunSettings,
  RewardModelSettings,
  RM_OBJECTIVES,
  TRAINING_WORLD_SEED,
} from "./config.ts";
export { dpo, preferencePairs, type DpoOptions, type PreferencePair } from "./dpo.ts";
export { adaptKlCoefficient, ADVANTAGE_ESTIMATORS, groupAdvantages, klK3, type AdvantageEstimator, type KlControl } from "./losses.ts";
export { objectiveStep, trainingThreads } from "./data-parallel.ts";
export { dpoLoss, objectiveLoss, policyGradientLoss, type DpoLoss, type LossTerms, type Objective } from "./objectives.ts";
export { policyGradient, type EpisodeScorer, type PolicyGradientOptions } from "./policy-gradient.ts";
export { broughtBack, distinctRewarded, rejectionSampling, withHint, type RejectionOptions } from "./rejection.ts";
export {
  bestOfN,
  evaluateRewardModel,
  RewardModel,
  trainRewardModel,
  type BestOfN,
  type RewardModelEvaluation,
  type RewardModelOptions,
} from "./reward-model.ts";
export { questionsFor, sampleRollouts, trainingRows, type RolloutOptions, type Rollouts } from "./rollouts.ts";
export { frozenCopy, TrainingRun, type EpisodeTrainingOptions, type MetricsRecord, type SamplingTrainingOptions, type TrainingProgress, type TrainingResult } from "./runs.ts";
export { corpusRows } from "./pretrain.ts";
export { trainSupervised, type SupervisedOptions } from "./supervised.ts";
export { klToReference } from "./kl.ts";
