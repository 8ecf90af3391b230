// A prompt file `<name>.txt` holds the instruction, then each exemplar, separated by lines holding only `---`.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { shortDigest } from "../src/digest.ts";

/** The fixed head of a ReAct prompt: what the agent is told, and the worked examples it imitates. */
export const PromptTemplateSchema = z.object({ instruction: z.string(), exemplars: z.array(z.string()) });
export type PromptTemplate = z.infer<typeof PromptTemplateSchema>;

/** A template where a script passes one: JavaScript lets a prompt's name or text through. */
export const PromptTemplateOption = z.custom<PromptTemplate>(
  (prompt) => PromptTemplateSchema.safeParse(prompt).success,
  "expected a PromptTemplate ({ instruction, exemplars }), as loadPrompt(name) gives",
);

/**
 * A prompt in a short line a log or run folder can keep (`sha256 0123456789ab`): a run
 * resumed with another prompt (another file, an edited one, another working folder's) is refused.
 */
export function promptDigest(template: PromptTemplate): string {
  return shortDigest([JSON.stringify([template.instruction, template.exemplars])]);
}

/** Where prompts are looked for: the working folder (default `process.cwd()`), the user's project. */
export interface PromptLookup {
  cwd?: string;
}

const SECTION_SEPARATOR = /^---$/m;
/** Prompt names are file stems: no paths, so a name can only reach a prompts/ folder. */
const PROMPT_NAME = /^[a-z0-9][a-z0-9_-]*$/i;

/**
 * The bundled prompts: this module's folder, in the sources; compiled into dist/prompts/, the
 * package root's prompts/, which the package ships.
 */
const BUNDLED_PROMPTS = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "./" : "../../prompts/", import.meta.url));

/** A prompt file's path, not a prompt's name: it holds "/" or ends in ".txt". */
const isPromptPath = (nameOrPath: string) => nameOrPath.includes("/") || nameOrPath.endsWith(".txt");

/** The file of the user's prompt named `name`: `prompts/<name>.txt` in the working folder, where react-rl fewshot writes. */
export function promptFile(name: string, { cwd = process.cwd() }: PromptLookup = {}): string {
  if (!PROMPT_NAME.test(name)) throw new Error(`Invalid prompt name "${name}": a name is letters, digits, "-" and "_", starting with a letter or digit.`);
  return join(resolve(cwd), "prompts", `${name}.txt`);
}

/**
 * The file `loadPrompt` reads: a path as given, from the working folder; a name, the working
 * folder's `prompts/<name>.txt`, else the bundled one (so a project's prompt shadows a bundled
 * one of its name).
 */
export function resolvePrompt(nameOrPath: string, lookup: PromptLookup = {}): string {
  if (isPromptPath(nameOrPath)) {
    const file = resolve(lookup.cwd ?? process.cwd(), nameOrPath);
    if (!existsSync(file)) throw new Error(`No prompt file ${nameOrPath} (${file} does not exist).`);
    return file;
  }
  const candidates = [...new Set([promptFile(nameOrPath, lookup), join(BUNDLED_PROMPTS, `${nameOrPath}.txt`)])];
  const file = candidates.find((candidate) => existsSync(candidate));
  if (!file) throw new Error(`No prompt named "${nameOrPath}" (looked for ${candidates.join(" and ")}).`);
  return file;
}

/** Reads the prompt `nameOrPath` names (see `resolvePrompt`) into its instruction and exemplars. */
export async function loadPrompt(nameOrPath = "hotpotqa", lookup: PromptLookup = {}): Promise<PromptTemplate> {
  return parsePromptFile(await readFile(resolvePrompt(nameOrPath, lookup), "utf8"), nameOrPath);
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
