import { z } from "zod";
import { exactMatch, f1Score, type QaTask } from "../../tools/wiki/index.ts";
import type { Trajectory } from "../../trajectories/index.ts";
import { describeZodError, UserError } from "../errors.ts";

/** HotpotQA's official prediction file: `answer` maps ids to texts; other keys (`sp`) are ignored. */
const PredictionsSchema = z.object({ answer: z.record(z.string(), z.string()) });
export type Predictions = z.infer<typeof PredictionsSchema>;

/** Episodes' final answers as a prediction file, one per question; an episode that never finished answers "". */
export function predictionsOf(episodes: readonly Trajectory[]): Predictions {
  const answer: Record<string, string> = {};
  for (const episode of episodes) {
    if (episode.id in answer) throw new UserError(`question ${episode.id} has several episodes (collect --samples?): a prediction file holds one answer per question`);
    answer[episode.id] = episode.answer ?? "";
  }
  return { answer };
}

export interface PredictionScores {
  em: number;
  f1: number;
  /** Gold questions scored: all of them. */
  n: number;
  /** Gold questions with no prediction; each scores 0. */
  missing: number;
  /** Predicted ids that no gold question has (the official evaluator ignores them too): many say the gold file is another's. */
  unknown: string[];
}

/** Answer EM and F1 as hotpot_evaluate_v1.py reports them: averaged over every gold question. */
export function scorePredictions(gold: readonly QaTask[], predictions: unknown): PredictionScores {
  const parsed = PredictionsSchema.safeParse(predictions);
  if (!parsed.success) throw new UserError(`bad predictions: ${describeZodError(parsed.error)}`);
  const answers = new Map(Object.entries(parsed.data.answer));
  let em = 0;
  let f1 = 0;
  let missing = 0;
  for (const task of gold) {
    const answer = answers.get(task.id);
    if (answer === undefined) {
      missing += 1;
      continue;
    }
    em += exactMatch(answer, task.answer);
    f1 += f1Score(answer, task.answer).f1;
  }
  const n = gold.length;
  const ids = new Set(gold.map((task) => task.id));
  const unknown = [...answers.keys()].filter((id) => !ids.has(id));
  return { em: n > 0 ? em / n : 0, f1: n > 0 ? f1 / n : 0, n, missing, unknown };
}
