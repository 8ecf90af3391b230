import { z } from "zod";
import { succeeded, type Trajectory } from "./schema.ts";

export const SummarySchema = z.object({
  n: z.number().int().nonnegative(),
  em: z.number().min(0).max(1),
  f1: z.number().min(0).max(1),
  fuzzy: z.number().min(0).max(1),
  reward: z.number(),
  avgSteps: z.number().nonnegative(),
  /** Share of episodes that hit the step limit without finishing. */
  haltedRate: z.number().min(0).max(1),
  /** Share of all steps whose action was unreadable or named no tool. */
  invalidRate: z.number().min(0).max(1),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  /** Sum of the episodes' own wall times (not the run's elapsed time under concurrency). */
  episodeMs: z.number().nonnegative(),
});

export type Summary = z.infer<typeof SummarySchema>;

/** Aggregates a set of trajectories into the figures every report shows. */
export function summarize(trajectories: readonly Trajectory[]): Summary {
  const n = trajectories.length;
  const average = (pick: (t: Trajectory) => number) => mean(trajectories.map(pick));
  const steps = total(trajectories, (t) => t.metrics.steps);
  const usage = (pick: (u: { promptTokens: number; completionTokens: number }) => number) =>
    total(trajectories, (t) => total(t.steps, (s) => (s.usage ? pick(s.usage) : 0)));
  return {
    n,
    em: average((t) => t.metrics.em),
    f1: average((t) => t.metrics.f1),
    fuzzy: average((t) => t.metrics.fuzzy),
    reward: average((t) => t.reward),
    avgSteps: average((t) => t.metrics.steps),
    haltedRate: average((t) => (t.metrics.halted ? 1 : 0)),
    invalidRate: steps === 0 ? 0 : total(trajectories, (t) => t.metrics.invalid) / steps,
    promptTokens: usage((u) => u.promptTokens),
    completionTokens: usage((u) => u.completionTokens),
    episodeMs: total(trajectories, (t) => t.meta.wallMs),
  };
}

/** Renders a summary as an aligned two-column table for the terminal. */
export function formatSummary(summary: Summary, extra: Record<string, string> = {}): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows: [string, string][] = [
    ["episodes", String(summary.n)],
    ["EM", summary.em.toFixed(3)],
    ["F1", summary.f1.toFixed(3)],
    ["fuzzy reward", summary.fuzzy.toFixed(3)],
    ["avg steps", summary.avgSteps.toFixed(2)],
    ["halted", pct(summary.haltedRate)],
    ["invalid actions", pct(summary.invalidRate)],
    ["tokens (prompt / completion)", `${summary.promptTokens} / ${summary.completionTokens}`],
    ...Object.entries(extra),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** After − before EM on the same questions, and its standard error. */
export interface Gain {
  em: number;
  standardError: number;
}

/**
 * The EM gain of `after` over `before` with its standard error, paired by question id:
 * both answer the same questions, so the spread of the per-question differences (not
 * of each EM) says whether a gain is more than chance (beyond about 2 standard errors).
 */
export function pairedGain(before: readonly Trajectory[], after: readonly Trajectory[]): Gain {
  const was = new Map(before.map((episode) => [episode.id, episode.metrics.em]));
  const differences = after.filter((episode) => was.has(episode.id)).map((episode) => episode.metrics.em - was.get(episode.id)!);
  const n = differences.length;
  const em = mean(differences);
  const variance = n < 2 ? 0 : total(differences, (d) => (d - em) ** 2) / (n - 1);
  return { em, standardError: Math.sqrt(variance / Math.max(1, n)) };
}

function total<T>(items: readonly T[], pick: (item: T) => number): number {
  let sum = 0;
  for (const item of items) sum += pick(item);
  return sum;
}

export function sum(values: readonly number[]): number {
  return total(values, (value) => value);
}

/** Items grouped by their key, groups in order of their first item. */
export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Episodes grouped by their question's id, in order of first appearance. */
export function byQuestion<T extends { id: string }>(episodes: readonly T[]): Map<string, T[]> {
  return groupBy(episodes, (episode) => episode.id);
}

/** The share of episodes that succeeded (`succeeded`), 0 for none. */
export function successRate(episodes: readonly Trajectory[]): number {
  return mean(episodes.map((episode) => (succeeded(episode) ? 1 : 0)));
}

/** The mean, 0 for no values. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : sum(values) / values.length;
}
