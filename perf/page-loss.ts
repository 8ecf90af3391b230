/**
 * How well checkpoints model hopworld pages: mean next-token loss on the first --rows
 * rows (as pretraining cuts them) of the training pages and of the test
 * pages, whose names training never shows. A gap between the two is memorisation.
 *
 *   npm run bench:page-loss -- --world runs/world-1.json CHECKPOINT...
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { batchLoss, loadCheckpoint, selectBackend } from "../src/lm/index.ts";
import { corpusRows } from "../src/train/pretrain.ts";
import { generateWorld, loadWorld, worldCorpus } from "../src/world/index.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { world: { type: "string" }, rows: { type: "string", default: "64" } },
});
if (positionals.length === 0) throw new Error("name one or more checkpoints");
await selectBackend();
const world = values.world ? await loadWorld(values.world) : generateWorld({ seed: 1 });
const rows = Number(values.rows);

for (const dir of positionals) {
  const { model, tokenizer } = await loadCheckpoint(dir);
  const loss = (split: "train" | "test") => {
    const batch = corpusRows(worldCorpus(world, split), tokenizer).slice(0, rows);
    // One row at a time: the last row of a split is shorter than the others
    const total = batch.reduce((sum, row) => sum + tf.tidy(() => batchLoss(model, { ids: [row.ids], mask: [row.mask] }).dataSync()[0]!), 0);
    return total / batch.length;
  };
  console.log(`${dir}: training pages ${loss("train").toFixed(3)}, test pages ${loss("test").toFixed(3)}`);
}
