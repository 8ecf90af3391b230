// A prompt file `<name>.txt` holds the instruction, then each exemplar, separated by lines holding only `---`.
import { readFile } from "node:fs/promises";

/** The fixed head of a ReAct prompt: what the agent is told, and the worked examples it imitates. */
export interface PromptTemplate {
  instruction: string;
  exemplars: string[];
}

const SECTION_SEPARATOR = /^---$/m;
/** Prompt names are file stems: no paths, so a name can only reach this folder. */
const PROMPT_NAME = /^[a-z0-9][a-z0-9_-]*$/i;

/**
 * The prompts folder: this module's, in the sources; compiled into dist/prompts/, the same
 * folder at the package root, so prompts written later (react-rl fewshot) live with the others.
 */
const PROMPTS = new URL(import.meta.url.endsWith(".ts") ? "./" : "../../prompts/", import.meta.url);

/** The file of the prompt named `name`: `prompts/<name>.txt`. */
export function promptFile(name: string): URL {
  if (!PROMPT_NAME.test(name)) throw new Error(`Invalid prompt name "${name}": use letters, digits, "-" or "_".`);
  return new URL(`./${name}.txt`, PROMPTS);
}

/** Reads `prompts/<name>.txt` into its instruction and exemplars. */
export async function loadPrompt(name = "hotpotqa"): Promise<PromptTemplate> {
  const file = promptFile(name);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`No prompt named "${name}" (looked for ${file.pathname}).`, { cause: error });
  }
  return parsePromptFile(text, name);
}

/** Splits a prompt file's text; an empty instruction or an empty exemplar is a broken file. No exemplar is a zero-shot prompt. */
export function parsePromptFile(text: string, name = "prompt"): PromptTemplate {
  const sections = text
    .replace(/\r\n/g, "\n")
    .split(SECTION_SEPARATOR)
    .map((section) => section.trim());
  const [instruction = "", ...exemplars] = sections;
  if (instruction === "" || exemplars.includes("")) {
    throw new Error(`Prompt "${name}" needs a non-empty instruction, then any non-empty exemplars, separated by "---" lines.`);
  }
  return { instruction, exemplars };
}

/** The text of a prompt file holding `template`; `parsePromptFile` reads it back as it was. */
export function formatPromptFile(template: PromptTemplate): string {
  const sections = [template.instruction, ...template.exemplars].map((section) => section.trim());
  if (sections.length < 2 || sections.some((section) => section === "" || SECTION_SEPARATOR.test(section))) {
    throw new Error(`A prompt file needs a non-empty instruction and exemplars, none of them holding a "---" line.`);
  }
  return `${sections.join("\n---\n")}\n`;
}
