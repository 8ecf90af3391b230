// The ReAct transcript a trajectory stands for, piece by piece, in the exact
// wording: src/agent renders prompts with these, and the exporters cut them into turns.
import type { Step, Trajectory } from "./schema.ts";

/** What a prompt file gives: the instruction and the worked examples (structurally a `PromptTemplate`). */
export interface PromptHead {
  instruction: string;
  exemplars: readonly string[];
}

/** Where an instruction wants the episode's tools listed; a head that still holds it was never filled in. */
export const TOOLS_PLACEHOLDER = "{tools}";

/** The fixed head of every prompt: instruction, then exemplars, blank-line separated. */
export function headText(head: PromptHead): string {
  return [head.instruction, ...head.exemplars].join("\n\n");
}

export function questionLine(question: string): string {
  return `Question: ${question.trim()}`;
}

/** The label the runtime writes before the policy continues: `Thought k:`. */
export function thoughtLabel(number: number): string {
  return `Thought ${number}:`;
}

/** What the policy wrote after `Thought k:`: its thought and its action. */
export function policyContinuation(step: Step, number: number): string {
  return ` ${step.thought}\nAction ${number}: ${step.action}`;
}

/** One policy turn as a whole: `Thought k: ...\nAction k: ...`. */
export function stepText(step: Step, number: number): string {
  return thoughtLabel(number) + policyContinuation(step, number);
}

export function observationLine(step: Step, number: number): string {
  return `Observation ${number}: ${step.observation}`;
}

/**
 * A trajectory as a prompt exemplar: the question, every step with its
 * observation, except after the last step, as the bundled exemplars end.
 */
export function exemplarText(trajectory: Pick<Trajectory, "question" | "steps">): string {
  const last = trajectory.steps.length - 1;
  const lines = trajectory.steps.flatMap((step, i) =>
    i === last ? [stepText(step, i + 1)] : [stepText(step, i + 1), observationLine(step, i + 1)],
  );
  return [questionLine(trajectory.question), ...lines].join("\n");
}
