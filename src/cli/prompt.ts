import { loadPrompt, promptFile, type PromptTemplate } from "../../prompts/index.ts";
import { UserError } from "../errors.ts";

export const promptUsage = `  --prompt NAME|FILE   the prompt (default: the suite's). NAME is prompts/NAME.txt in the current
                       folder, else the bundled one; FILE a prompt file's path (holding / or
                       ending in .txt)`;

/** Loads a prompt named on the command line; a bad name, or a missing prompt, is the user's to fix. */
export async function loadNamedPrompt(nameOrPath: string): Promise<PromptTemplate> {
  try {
    return await loadPrompt(nameOrPath);
  } catch (error) {
    throw new UserError((error as Error).message, { cause: error });
  }
}

/** Where the prompt named on the command line is written: prompts/NAME.txt in the current folder. */
export function promptPath(name: string): string {
  try {
    return promptFile(name);
  } catch (error) {
    throw new UserError((error as Error).message, { cause: error });
  }
}
