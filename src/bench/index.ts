export {
  ARITHMETIC_PROMPT,
  ARITHMETIC_SIZES,
  arithmeticEnvironment,
  ArithmeticOptionsSchema,
  arithmeticTasks,
  type ArithmeticOptions,
} from "./arithmetic.ts";
export { loadDataset, tasksById, type DatasetFormat } from "./datasets.ts";
export { runWithMemory, type MemoryBenchmarkOptions } from "./memory.ts";
export { runBenchmark, type BenchmarkOptions, type BenchmarkProgress, type BenchmarkResult, type FailedEpisode } from "./run.ts";
export { HOTPOTQA_SAMPLE } from "./sample.ts";
export { scorePredictions, type PredictionScores } from "./score.ts";
