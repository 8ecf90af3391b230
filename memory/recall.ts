import { z } from "zod";
import { defineTool, type Tool } from "../tools/tool.ts";
import type { EpisodicMemory, Recollection } from "./episodic.ts";

export interface RecallToolOptions {
  /** Episodes shown per call (default 3). */
  k?: number;
  /** Only episodes that earned a reward (default false: failures teach too). */
  successOnly?: boolean;
}

/** `Recall[query]`: the most similar past episodes, one compact paragraph each. */
export function recallTool(memory: EpisodicMemory, options: RecallToolOptions = {}): Tool<string> {
  const { k = 3, successOnly = false } = options;
  return defineTool({
    name: "Recall",
    description:
      "Returns the past episodes whose questions are most like the query: " +
      "how each went, the actions taken and the thoughts behind them.",
    schema: z.string().describe("query"),
    call: async (query) => recallObservation(await memory.recall(query, k, { successOnly })),
  });
}

/**
 * What the agent reads, e.g.
 * `1. (success, reward 1, similarity 0.82) Which magazine was started first?`
 * then the action path and the thoughts, indented.
 */
function recallObservation(recollections: readonly Recollection[]): string {
  if (recollections.length === 0) return "No similar past episodes.";
  return recollections
    .map(({ episode, score }, i) =>
      [
        `${i + 1}. (${episode.outcome}, reward ${round(episode.reward)}, similarity ${score.toFixed(2)}) ${episode.question}`,
        `   ${episode.path}`,
        `   Thoughts: ${episode.thoughts.join(" | ")}`,
      ].join("\n"),
    )
    .join("\n");
}

/** One entry of a `Recall` observation, as the agent reads it back. */
export interface RecalledEpisode {
  outcome: "success" | "failure";
  reward: number;
  similarity: number;
  question: string;
  /** The answer the episode finished with; undefined when it never finished. */
  answer: string | undefined;
}

const ENTRY_HEAD = /^\d+\. \((success|failure), reward (-?[\d.]+), similarity (-?[\d.]+)\) (.*)$/;
const FINISHED_WITH = /(?:^| -> )Finish\[(.*)\]$/;

/** The episodes a `recallObservation` lists, in its order; none for any other text (a miss, an invalid action). */
export function parseRecallObservation(observation: string): RecalledEpisode[] {
  const lines = observation.split("\n");
  return lines.flatMap((line, i) => {
    const head = ENTRY_HEAD.exec(line);
    if (!head) return [];
    const path = (lines[i + 1] ?? "").trim();
    return [
      {
        outcome: head[1] as RecalledEpisode["outcome"],
        reward: Number(head[2]),
        similarity: Number(head[3]),
        question: head[4]!,
        answer: FINISHED_WITH.exec(path)?.[1],
      },
    ];
  });
}

function round(x: number): string {
  return String(Math.round(x * 100) / 100);
}
