import { mean } from "../../trajectories/index.ts";
import { QUESTION_TYPES, SPLITS, type QuestionType, type Split, type World } from "./schema.ts";

export type SplitCounts = { pages: number; questions: number } & Record<QuestionType, number>;

export interface WorldStats {
  /** Per split, and over all of them. */
  counts: Record<Split | "all", SplitCounts>;
  /** As Search shows a page: its sentences joined. */
  meanPageChars: number;
  meanQuestionChars: number;
}

/** Pages, questions and questions of each type per split, and mean lengths in characters. */
export function worldStats(world: World): WorldStats {
  const counts = (split: Split | "all"): SplitCounts => {
    const inSplit = (item: { split: Split }) => split === "all" || item.split === split;
    const questions = world.questions.filter(inSplit);
    const byType = Object.fromEntries(QUESTION_TYPES.map((type) => [type, questions.filter((q) => q.type === type).length]));
    return { pages: world.pages.filter(inSplit).length, questions: questions.length, ...(byType as Record<QuestionType, number>) };
  };
  return {
    counts: Object.fromEntries([...SPLITS, "all" as const].map((split) => [split, counts(split)])) as WorldStats["counts"],
    meanPageChars: mean(world.pages.map((page) => page.sentences.join(" ").length)),
    meanQuestionChars: mean(world.questions.map((question) => question.question.length)),
  };
}
