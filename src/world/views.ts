import { Docstore, titleKey, type Paragraph, type QaTask } from "../../tools/wiki/index.ts";
import type { Split, World } from "./schema.ts";

/** The prompt (prompts/hopworld.txt) hopworld episodes run with: an instruction, no exemplars. */
export const HOPWORLD_PROMPT = "hopworld";

/** A split's questions as benchmark tasks; each one's context is its supporting pages, in search order. */
export function worldTasks(world: World, split: Split): QaTask[] {
  const pages = new Map(world.pages.map((page) => [titleKey(page.title), page]));
  return world.questions
    .filter((question) => question.split === split)
    .map(({ id, question, answer, type, supportingFacts }) => {
      const titles = [...new Set(supportingFacts.map(([title]) => title))];
      const context = titles.map((title): Paragraph => [title, pages.get(titleKey(title))!.sentences]);
      return { id, question, answer, type, supportingFacts, context };
    });
}

/** Every page of every split: the agent searches the whole world, whatever split it is tested on. */
export function worldDocstore(world: World): Docstore {
  return new Docstore(world.pages.map((page): Paragraph => [page.title, page.sentences]));
}

/** One text per page of a split, as Search shows it: the language model's pretraining corpus. */
export function worldCorpus(world: World, split: Split = "train"): string[] {
  return world.pages.filter((page) => page.split === split).map((page) => page.sentences.join(" "));
}
