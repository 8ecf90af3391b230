import { AdamW, saveCheckpoint, trainLM, TrainOptions, type StepMetrics, type TokenBatch, type TrainOptionsInput } from "../lm/index.ts";
import type { Planner } from "../planner/index.ts";
import type { TokenSequence } from "../planner/index.ts";
import { Random } from "../random.ts";
import { objectiveStep } from "./data-parallel.ts";

export interface SupervisedOptions extends TrainOptionsInput {
  /** Sequences per optimizer step. */
  batchSize: number;
  seed?: number;
  /**
   * Where to save the model (and optimizer, to resume) every `saveEvery` steps, and at
   * the end with `meta.done` set, so a rerun knows the stage is finished (`meta.steps`: after how many steps).
   */
  out?: string;
  saveEvery?: number;
  meta?: Record<string, unknown>;
  /** A restored optimizer: training continues from its step, on the batches it had not seen. */
  optimizer?: AdamW;
  /** Stops training after the step in flight; the checkpoint is saved unfinished, as at `saveEvery`, so a rerun resumes at the next step. */
  signal?: AbortSignal;
  onStep?: (metrics: StepMetrics) => void;
}

/**
 * Next-token training on token sequences, learning only where their mask is 1:
 * pretraining (all ones) and fine-tuning on episodes (the policy's own tokens)
 * are both this. Gives the metrics of the steps taken: they end before `options.steps`
 * when the signal stopped it.
 */
export async function trainSupervised(planner: Planner, rows: readonly TokenSequence[], options: SupervisedOptions): Promise<StepMetrics[]> {
  if (rows.length === 0) throw new RangeError("nothing to train on: no sequences");
  const optimizer = options.optimizer ?? new AdamW(planner.model, TrainOptions.parse(options));
  // Saves run one after another: the weights are read when a save starts, and training goes on meanwhile.
  let saving: Promise<unknown> = Promise.resolve();
  const save = (done: boolean) => {
    const { out } = options;
    if (!out) return saving;
    // `steps`: a finished checkpoint keeps no optimizer, whose step count would say how long it trained.
    const meta = { ...planner.meta, ...options.meta, done, steps: optimizer.step };
    // A finished stage needs no optimizer state: that keeps the committed checkpoint small.
    const checkpoint = { model: planner.model, tokenizer: planner.tokenizer, optimizer: done ? undefined : optimizer, meta };
    saving = saving.then(() => saveCheckpoint(out, checkpoint));
    return saving;
  };
  const batches = shuffledBatches(rows, options.batchSize, options.seed ?? 0, optimizer.step);
  const { metrics } = await trainLM(planner.model, batches, options, {
    optimizer,
    signal: options.signal,
    step: (model, optimizer, batch, learningRate, clipNorm) => objectiveStep(model, optimizer, { kind: "next-token", batch }, learningRate, clipNorm),
    onStep: (m) => {
      options.onStep?.(m);
      if (options.saveEvery && m.step % options.saveEvery === 0 && m.step < options.steps) void save(false);
    },
  });
  // The batches never run out: short of the steps, the signal stopped it, and a rerun resumes from this save.
  await save(optimizer.step >= options.steps);
  return metrics;
}

/**
 * Endless batches: each epoch a fresh seeded shuffle. Skipping the first `skip`
 * batches lets a resumed run see the same order it would have seen unbroken.
 */
function* shuffledBatches(rows: readonly TokenSequence[], batchSize: number, seed: number, skip = 0): Generator<TokenBatch> {
  const random = new Random(seed);
  const perEpoch = Math.max(1, Math.ceil(rows.length / batchSize));
  for (let n = 0; ; ) {
    const order = random.shuffle(rows);
    for (let b = 0; b < perEpoch; b++, n++) {
      if (n < skip) continue;
      yield tokenBatch(order.slice(b * batchSize, (b + 1) * batchSize));
    }
  }
}

/** Rows as the language model's batch: each row's token ids and which of its tokens carry loss. */
export function tokenBatch(rows: readonly TokenSequence[]): TokenBatch {
  return { ids: rows.map((r) => r.ids), mask: rows.map((r) => r.mask) };
}
