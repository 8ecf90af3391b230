import { codeTool } from "../../tools/code/index.ts";
import type { EnvironmentFactory } from "../../tools/environment.ts";
import type { Tool } from "../../tools/tool.ts";
import { Docstore, titleKey, WikiEnvironment, type Paragraph, type QaTask } from "../../tools/wiki/index.ts";
import { planComputation } from "./computation.ts";
import { generateWorld } from "./generate.ts";
import type { Split, World } from "./schema.ts";

/** The prompt (prompts/hopworld.txt) hopworld episodes run with: an instruction, no exemplars. */
export const HOPWORLD_PROMPT = "hopworld";

/**
 * A split's questions as benchmark tasks; each one's context is its supporting
 * pages, in search order, and a question that needs a computation has its program.
 */
export function worldTasks(world: World, split: Split): QaTask[] {
  const pages = new Map(world.pages.map((page) => [titleKey(page.title), page]));
  return world.questions
    .filter((question) => question.split === split)
    .map(({ id, question, answer, type, supportingFacts, plan }) => {
      const titles = [...new Set(supportingFacts.map(([title]) => title))];
      const context = titles.map((title): Paragraph => [title, pages.get(titleKey(title))!.sentences]);
      const program = planComputation(plan)?.program;
      return { id, question, answer, type, supportingFacts, context, ...(program !== undefined && { program }) };
    });
}

/**
 * The environment hopworld episodes run in: Search and Lookup over the world's
 * pages, `Code[...]` for computations, and any `tools` more (`Recall[...]`).
 */
export function worldEnvironment(docstore: Docstore, tools: readonly Tool[] = []): WikiEnvironment {
  return new WikiEnvironment(docstore, [codeTool(), ...tools]);
}

/** A fresh environment per episode over one docstore of the world's pages (built once). */
export function worldEnvironments(world: World): EnvironmentFactory<QaTask> {
  const docstore = worldDocstore(world);
  return (_task, tools) => worldEnvironment(docstore, tools);
}

/** Every page of every split: the agent searches the whole world, whatever split it is tested on. */
export function worldDocstore(world: World): Docstore {
  return new Docstore(world.pages.map((page): Paragraph => [page.title, page.sentences]));
}

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
