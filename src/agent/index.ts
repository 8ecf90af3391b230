export { parseStep, type ParsedStep } from "./parse.ts";
export { renderPrompt, withToolList } from "./prompt.ts";
export { DEFAULT_MAX_STEPS, promptOf, runEpisode, type EpisodeOptions } from "./episode.ts";
export type { Completion, Policy, PolicyRequest } from "./policy.ts";
export { failedEpisodesMessage, forgetOtherWeights, madeBy, runBenchmark, type BenchmarkOptions, type BenchmarkProgress, type BenchmarkResult, type FailedEpisode } from "./run.ts";
