import { fileURLToPath } from "node:url";
import { loadCheckpoint, selectBackend, type BackendName, type LanguageModel, type Tokenizer } from "../lm/index.ts";

/** The committed base checkpoint: pretrained on hopworld pages, then fine-tuned on 3,000 expert episodes (every training question of world 1). */
export const BASE_PLANNER = fileURLToPath(new URL("../../models/hopworld-base", import.meta.url));

/** The embedded planner: a tiny language model and its tokenizer, as a checkpoint holds them. */
export interface Planner {
  model: LanguageModel;
  tokenizer: Tokenizer;
  /** Where it was loaded from, for the trajectories' `model` field. */
  source: string;
  meta: Record<string, unknown>;
}

/**
 * How many of the training questions of the hopworld of `worldSeed`, from the first,
 * the planner was fine-tuned on (`train sft` records them); trial and error starts
 * after them, on questions it was never shown the answer to. Another world's
 * questions were never demonstrated.
 */
export function demonstratedQuestions(planner: Planner, worldSeed: number): number {
  const { dataset = "hopworld", examples, worldSeed: demonstrated = worldSeed } = planner.meta;
  return dataset === "hopworld" && demonstrated === worldSeed && typeof examples === "number" ? examples : 0;
}

/** Picks the tfjs backend (once per process), then loads a checkpoint. */
export async function loadPlanner(dir = BASE_PLANNER, backend?: BackendName): Promise<Planner> {
  await ensureBackend(backend);
  const { model, tokenizer, meta } = await loadCheckpoint(dir);
  return { model, tokenizer, source: dir, meta };
}

let backendChoice: ReturnType<typeof selectBackend> | undefined;

/** Selects the fastest present backend, or `preferred`; later calls reuse the first choice. */
export function ensureBackend(preferred?: BackendName): ReturnType<typeof selectBackend> {
  backendChoice ??= selectBackend(preferred);
  return backendChoice;
}
