export { BASE_PLANNER, checkpointName, ensureBackend, loadPlanner, trainedPrompt, type Planner } from "./planner.ts";
export { decodingOn, defaultDecoding, LocalPolicy, SamplingSchema, type Sampling, type SamplingInput } from "./local-policy.ts";
export { episodeText, episodeTokens, promptTokens, transcriptTokens, type TokenSequence } from "./transcript.ts";
export { promptActions, REACT_ACTIONS, turnConstraint, type ActionArguments } from "./grammar.ts";
export { MicroBatcher } from "./batcher.ts";
export { DecodingEngine, ENGINES, type EngineName, type EngineSettings } from "./engine.ts";
