import type { PromptTemplate } from "../../prompts/index.ts";
import type { Step } from "../../trajectories/schema.ts";
import { headText, observationLine, questionLine, stepText, thoughtLabel } from "../../trajectories/transcript.ts";

/**
 * The prompt a policy continues: instruction, exemplars, the question, the
 * steps so far, and the open `Thought {nextStep}:` label.
 */
export function renderPrompt(template: PromptTemplate, question: string, steps: readonly Step[], nextStep: number): string {
  const history = steps.map((step, i) => `${stepText(step, i + 1)}\n${observationLine(step, i + 1)}\n`).join("");
  return `${headText(template)}\n\n${questionLine(question)}\n${history}${thoughtLabel(nextStep)}`;
}
