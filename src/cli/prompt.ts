import { fileURLToPath } from "node:url";
import { loadPrompt, promptFile, type PromptTemplate } from "../../prompts/index.ts";
import { UserError } from "../errors.ts";

export const promptUsage = `  --prompt NAME        prompt file prompts/NAME.txt: instruction and exemplars (default hotpotqa)`;

/** Loads a prompt named on the command line; a bad or unknown name is the user's to fix. */
export async function loadNamedPrompt(name: string): Promise<PromptTemplate> {
  try {
    return await loadPrompt(name);
  } catch (error) {
    throw new UserError((error as Error).message, { cause: error });
  }
}

/** Where the prompt named on the command line lives (or would). */
export function promptPath(name: string): string {
  try {
    return fileURLToPath(promptFile(name));
  } catch (error) {
    throw new UserError((error as Error).message, { cause: error });
  }
}
