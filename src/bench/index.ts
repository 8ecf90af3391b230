export { loadDataset, tasksById, type DatasetFormat } from "./datasets.ts";
export { runBenchmark, type BenchmarkOptions, type BenchmarkProgress, type BenchmarkResult } from "./run.ts";
export { HOTPOTQA_SAMPLE } from "./sample.ts";
export { scorePredictions, type PredictionScores } from "./score.ts";
