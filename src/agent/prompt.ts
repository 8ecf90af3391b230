import type { PromptTemplate } from "../../prompts/index.ts";
import { FINISH_ENTRY } from "../../tools/environment.ts";
import { toolEntry, type Tool } from "../../tools/tool.ts";
import type { Step } from "../../trajectories/schema.ts";
import { headText, observationLine, questionLine, stepText, thoughtLabel, TOOLS_PLACEHOLDER } from "../../trajectories/transcript.ts";

/**
 * The prompt a policy continues: instruction, exemplars, the question, the
 * steps so far, and the open `Thought {nextStep}:` label.
 */
export function renderPrompt(template: PromptTemplate, question: string, steps: readonly Step[], nextStep: number): string {
  const history = steps.map((step, i) => `${stepText(step, i + 1)}\n${observationLine(step, i + 1)}\n`).join("");
  return `${headText(template)}\n\n${questionLine(question)}\n${history}${thoughtLabel(nextStep)}`;
}

/**
 * `template` with `{tools}` in its instruction replaced by the list of `tools`,
 * one line each (`(1) Search[entity]: Looks up ...`), then Finish. A template
 * without the placeholder comes back unchanged: the embedded planner's prompts
 * name their tools in their own fixed words, the text its checkpoint learned.
 */
export function withToolList(template: PromptTemplate, tools: readonly Tool[]): PromptTemplate {
  if (!template.instruction.includes(TOOLS_PLACEHOLDER)) return template;
  const list = [...tools.map(toolEntry), FINISH_ENTRY].map((entry, i) => `(${i + 1}) ${entry.form}: ${entry.description}`).join("\n");
  return { ...template, instruction: template.instruction.replaceAll(TOOLS_PLACEHOLDER, list) };
}
