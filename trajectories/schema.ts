import { z } from "zod";

/** Bumped whenever a field changes meaning; readers reject versions they do not know. */
export const TRAJECTORY_VERSION = 1;

export const UsageSchema = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});

export const StepSchema = z.object({
  thought: z.string(),
  /** The action as written, e.g. `Search[Paris]`; empty when none could be read. */
  action: z.string(),
  observation: z.string(),
  /** False for an unreadable action or an unknown tool. */
  valid: z.boolean(),
  /** The policy's raw output for this step. */
  raw: z.string(),
  tokens: z.array(z.number().int()).optional(),
  logprobs: z.array(z.number()).optional(),
  usage: UsageSchema.optional(),
  latencyMs: z.number().nonnegative(),
});

export const MetricsSchema = z.object({
  em: z.number().min(0).max(1),
  f1: z.number().min(0).max(1),
  fuzzy: z.number().min(0).max(1),
  steps: z.number().int().nonnegative(),
  invalid: z.number().int().nonnegative(),
  halted: z.boolean(),
});

export const RunMetaSchema = z.object({
  policy: z.string(),
  model: z.string().optional(),
  /** A digest of the model's weights, where the policy knows them (the embedded planner's checkpoint as loaded); older logs lack it. */
  weightsDigest: z.string().optional(),
  dataset: z.string().optional(),
  temperature: z.number().optional(),
  seed: z.number().int().optional(),
  /** The episode's step limit (older logs lack it). */
  maxSteps: z.number().int().positive().optional(),
  /** The digest of the prompt the run started from (`promptDigest`; exemplars recalled per question come on top); older logs lack it. */
  prompt: z.string().optional(),
  /** Exemplars recalled per question from an episodic memory (`bench --memory --shots`), 0 for none; older logs lack it. */
  recall: z.number().int().nonnegative().optional(),
  codeVersion: z.string(),
  startedAt: z.string(),
  wallMs: z.number().nonnegative(),
});

export const TrajectorySchema = z.object({
  version: z.literal(TRAJECTORY_VERSION),
  id: z.string(),
  /** Which of several episodes on the same question this is (collection runs), from 0. */
  sample: z.number().int().nonnegative().optional(),
  question: z.string(),
  /** The task's type: a hopworld question family, HotpotQA's bridge or comparison. */
  type: z.string().optional(),
  gold: z.string().optional(),
  steps: z.array(StepSchema),
  /** The Finish argument; null when the episode halted without one. */
  answer: z.string().nullable(),
  reward: z.number(),
  metrics: MetricsSchema,
  meta: RunMetaSchema,
});

/**
 * A trajectory as a script hands one over (to a trainer, an exporter): its fields checked, its
 * steps and meta by shape alone. Logs were checked line by line when read, and parsing each
 * step's tokens and logprobs again made an export several times slower.
 */
export const TrajectoryShapeSchema = TrajectorySchema.extend({ steps: z.array(z.looseObject({ thought: z.string(), action: z.string(), observation: z.string() })), meta: z.looseObject({}) });

export type Usage = z.infer<typeof UsageSchema>;
export type Step = z.infer<typeof StepSchema>;
export type Metrics = z.infer<typeof MetricsSchema>;
export type RunMeta = z.infer<typeof RunMetaSchema>;
export type Trajectory = z.infer<typeof TrajectorySchema>;

/** One key per episode: the question, and which sample of it (a log without samples holds sample 0). */
export function episodeKey(id: string, sample: number): string {
  return `${id}#${sample}`;
}

/** Whether an episode succeeded, as the trainers, the viewer and memory count it: a positive reward. */
export function succeeded(episode: Pick<Trajectory, "reward">): boolean {
  return episode.reward > 0;
}

/** Whether an episode ran with exemplars recalled for its question (`bench --memory --shots`): no one template's exemplars are the ones it saw. */
export function recalledExemplars(episode: Pick<Trajectory, "meta">): boolean {
  return (episode.meta.recall ?? 0) > 0;
}

/** The first prompt (its digest, `meta.prompt`) episodes record other than `digest`; episodes that record none pass. */
export function otherPrompt(episodes: readonly Trajectory[], digest: string): string | undefined {
  return episodes.map((episode) => episode.meta.prompt).find((recorded) => recorded !== undefined && recorded !== digest);
}

/** A logged episode's `episodeKey`. */
export function trajectoryKey(trajectory: Pick<Trajectory, "id" | "sample">): string {
  return episodeKey(trajectory.id, trajectory.sample ?? 0);
}
