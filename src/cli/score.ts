import { z } from "zod";
import { loadDataset } from "../suites/datasets.ts";
import { scorePredictions } from "../bench/score.ts";
import { readJsonFile } from "../files.ts";
import { defineCommand } from "./command.ts";

export const scoreCommand = defineCommand({
  name: "score",
  summary: "score predictions in HotpotQA's official format (EM and F1)",
  usage: `react-rl score --gold FILE --pred FILE

  --gold FILE   the questions with gold answers (official JSON or JSONL)
  --pred FILE   predictions: {"answer": {"<id>": "<text>", ...}} (other keys ignored)

Prints {"em": ..., "f1": ..., "n": ...} on its last line.`,
  flags: z.object({
    gold: z.string({ error: "required" }),
    pred: z.string({ error: "required" }),
  }),
  async run(flags) {
    const gold = await loadDataset(flags.gold);
    const predictions = await readJsonFile(flags.pred, z.unknown());
    const result = scorePredictions(gold, predictions);
    if (result.missing > 0) console.error(`${result.missing} of ${result.n} questions have no prediction (scored 0)`);
    if (result.unknown.length > 0) console.error(`predictions of questions not in --gold, not scored: ${result.unknown.length} (${result.unknown[0]} first): is --gold the file the run answered?`);
    console.log(JSON.stringify({ em: result.em, f1: result.f1, n: result.n }));
    return 0;
  },
});
