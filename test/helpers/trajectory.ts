import { TRAJECTORY_VERSION, type Trajectory } from "../../trajectories/index.ts";

/** A valid trajectory with the given id and outcome, for tests that need logs. */
export function makeTrajectory(id: string, em: 0 | 1, steps = 2): Trajectory {
  return {
    version: TRAJECTORY_VERSION,
    id,
    question: `question ${id}?`,
    gold: "gold",
    steps: Array.from({ length: steps }, (_, i) => ({
      thought: `thought ${i + 1}`,
      action: i === steps - 1 ? "Finish[gold]" : "Search[x]",
      observation: "obs",
      valid: true,
      raw: "raw",
      usage: { promptTokens: 10, completionTokens: 3 },
      latencyMs: 1,
    })),
    answer: em ? "gold" : "other",
    reward: em,
    metrics: { em, f1: em, fuzzy: em, steps, invalid: 0, halted: false },
    meta: { policy: "scripted", codeVersion: "0.0.0", startedAt: new Date(0).toISOString(), wallMs: 5 },
  };
}
