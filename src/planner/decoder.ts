import type { Generation, GenerationStats } from "../lm/index.ts";
import { DecodingEngine } from "./engine.ts";
import { copySource, promptActions, rawTokenStrings, TurnGrammar } from "./grammar.ts";
import type { Planner } from "./planner.ts";
import type { Sampling } from "./local-policy.ts";
import { transcriptTokens } from "./transcript.ts";

/** One episode's request for its next turn, as a decoder takes it. */
export interface TurnRequest {
  prompt: string;
  /** 1-based number of the step to write. */
  step: number;
  /** The random stream this turn draws from (see LocalPolicy). */
  streamKey: string;
}

/**
 * Decodes many episodes' next turns: their transcripts as tokens, each under the
 * turn grammar, with each episode's keys and values kept between its turns (the
 * prefix cache). Runs on the main thread or in a worker, on the engine the
 * sampling names (see DecodingEngine).
 */
export class TurnDecoder {
  private readonly engine: DecodingEngine;

  constructor(
    private readonly planner: Planner,
    private readonly sampling: Sampling,
  ) {
    this.engine = new DecodingEngine(planner, sampling);
  }

  /** Generation's work and time so far. */
  get stats(): GenerationStats {
    return this.engine.stats;
  }

  decode(requests: TurnRequest[]): Promise<Generation[]> {
    const { tokenizer } = this.planner;
    const sequences = requests.map((r) => transcriptTokens(r.prompt, tokenizer));
    const vocabulary = rawTokenStrings(tokenizer);
    const constraints = this.sampling.grammar
      ? sequences.map(({ ids, mask }, i) => new TurnGrammar(vocabulary, copySource(ids, mask, vocabulary), requests[i].step, promptActions(requests[i].prompt)).constraint)
      : undefined;
    const options = { ...this.sampling, streamKeys: requests.map((r) => r.streamKey), constraints, stop: ["\nObservation"] };
    return this.engine.generate(sequences.map((s) => s.ids), options);
  }

  /** Frees the prefix cache and the kernels' memory; the decoder stays usable. */
  clear(): void {
    this.engine.clear();
  }
}
