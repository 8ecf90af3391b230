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

/** Reads `prompts/<name>.txt` (next to this module) into its instruction and exemplars. */
export async function loadPrompt(name = "hotpotqa"): Promise<PromptTemplate> {
  if (!PROMPT_NAME.test(name)) throw new Error(`Invalid prompt name "${name}": use letters, digits, "-" or "_".`);
  const file = new URL(`./${name}.txt`, import.meta.url);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`No prompt named "${name}" (looked for ${file.pathname}).`, { cause: error });
  }
  return parsePromptFile(text, name);
}

/** Splits a prompt file's text; an empty instruction or no exemplar is a broken file. */
export function parsePromptFile(text: string, name = "prompt"): PromptTemplate {
  const sections = text
    .replace(/\r\n/g, "\n")
    .split(SECTION_SEPARATOR)
    .map((section) => section.trim());
  const [instruction = "", ...exemplars] = sections;
  if (instruction === "" || exemplars.length === 0 || exemplars.includes("")) {
    throw new Error(`Prompt "${name}" needs an instruction and at least one non-empty exemplar, separated by "---" lines.`);
  }
  return { instruction, exemplars };
}
