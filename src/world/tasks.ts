import { codeTool } from "../../tools/code/index.ts";
import type { EnvironmentFactory } from "../../tools/environment.ts";
import type { Tool } from "../../tools/tool.ts";
import { Docstore, titleKey, WikiEnvironment, type Paragraph, type QaTask } from "../../tools/wiki/index.ts";
import { planComputation } from "./computation.ts";
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
