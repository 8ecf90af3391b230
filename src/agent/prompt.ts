import type { PromptTemplate } from "../../prompts/index.ts";
import type { Step } from "../../trajectories/schema.ts";

/**
 * The prompt a policy continues: instruction, exemplars, the question, the
 * steps so far, and the open `Thought {nextStep}:` label.
 */
export function renderPrompt(template: PromptTemplate, question: string, steps: readonly Step[], nextStep: number): string {
  const head = [template.instruction, ...template.exemplars].join("\n\n");
  const history = steps.map((step, i) => renderStep(step, i + 1)).join("");
  return `${head}\n\nQuestion: ${question.trim()}\n${history}Thought ${nextStep}:`;
}

function renderStep(step: Step, number: number): string {
  return `Thought ${number}: ${step.thought}\nAction ${number}: ${step.action}\nObservation ${number}: ${step.observation}\n`;
}
