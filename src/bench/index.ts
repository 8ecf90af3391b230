export { runWithMemory, type MemoryBenchmarkOptions } from "./memory.ts";
export { predictionsOf, scorePredictions, type Predictions, type PredictionScores } from "./score.ts";
