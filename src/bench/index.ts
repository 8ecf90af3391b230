export { runWithMemory, type MemoryBenchmarkOptions } from "./memory.ts";
export { forgetOtherWeights, madeBy, runBenchmark, type BenchmarkOptions, type BenchmarkProgress, type BenchmarkResult, type FailedEpisode } from "./run.ts";
export { scorePredictions, type PredictionScores } from "./score.ts";
