import { generateWorld } from "./generate.ts";
import type { Split, World } from "./schema.ts";

/** One text per page of a split, as Search shows it: the language model's pretraining corpus. */
export function worldCorpus(world: World, split: Split = "train"): string[] {
  return world.pages.filter((page) => page.split === split).map((page) => page.sentences.join(" "));
}

/**
 * Pretraining text: `world`'s training pages, then the pages of `extraWorlds` other
 * worlds (the seeds after `world.seed`), so that the model learns the language of
 * pages rather than memorising one world's. An extra page is left out if it holds a
 * word that only `world`'s dev or test pages have: their names stay unseen.
 */
export function pretrainingCorpus(world: World, extraWorlds = 0): string[] {
  const heldOut = new Set(world.pages.filter((page) => page.split !== "train").flatMap((page) => pageWords(page.sentences)));
  for (const page of world.pages) if (page.split === "train") for (const word of pageWords(page.sentences)) heldOut.delete(word);
  const extra = Array.from({ length: extraWorlds }, (_, k) => generateWorld({ seed: world.seed + 1 + k }).pages);
  const kept = extra.flat().filter((page) => !pageWords(page.sentences).some((word) => heldOut.has(word)));
  return [...worldCorpus(world, "train"), ...kept.map((page) => page.sentences.join(" "))];
}

function pageWords(sentences: readonly string[]): string[] {
  return sentences.join(" ").match(/[A-Za-z]+/g) ?? [];
}
