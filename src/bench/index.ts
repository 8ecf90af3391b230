export { runWithMemory, type MemoryBenchmarkOptions } from "./memory.ts";
export { forgetOtherWeights, madeBy, runBenchmark, type BenchmarkOptions, type BenchmarkProgress, type BenchmarkResult, type FailedEpisode } from "./run.ts";
export { predictionsOf, scorePredictions, type Predictions, type PredictionScores } from "./score.ts";
