export { checkTrainingFile, FINE_TUNE_METHODS, type FineTuneMethod, type TrainingFile } from "./file.ts";
export {
  followFineTune,
  startFineTune,
  type FineTuneRequest,
  type FineTuningJob,
  type FineTuningJobEvent,
  type FollowOptions,
} from "./openai.ts";
