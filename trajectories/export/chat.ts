import { succeeded, type Step, type Trajectory } from "../schema.ts";
import type { ChatMessage, OpenAIDpoRecord, OpenAISftRecord } from "./schema.ts";
import { headText, observationLine, questionLine, stepText, type PromptHead } from "../transcript.ts";
import { byQuestion } from "../stats.ts";

/**
 * One conversation per trajectory: the prompt head as the system message, the
 * question as the first user message, then each step as an assistant turn and
 * its observation as the next user turn. The last observation is left out:
 * nothing follows it to learn from. Invalid-action steps stay as context with
 * weight 0, so the model is not taught to write them. Undefined when no turn
 * would be trained on.
 */
export function toOpenAISft(trajectory: Trajectory, head: PromptHead): OpenAISftRecord | undefined {
  if (!trajectory.steps.some((step) => step.valid)) return undefined;
  const last = trajectory.steps.length - 1;
  const turns = trajectory.steps.flatMap((step, i): ChatMessage[] => {
    const assistant: ChatMessage = { role: "assistant", content: stepText(step, i + 1), weight: step.valid ? 1 : 0 };
    return i === last ? [assistant] : [assistant, { role: "user", content: observationLine(step, i + 1) }];
  });
  return {
    messages: [{ role: "system", content: headText(head) }, { role: "user", content: questionLine(trajectory.question) }, ...turns],
  };
}

/** How a trajectory ranks as the preferred side: reward, then fewer steps; earlier wins ties. */
function betterThan(a: Trajectory, b: Trajectory): boolean {
  return a.reward !== b.reward ? a.reward > b.reward : a.steps.length < b.steps.length;
}

/**
 * Preference pairs from success/failure pairs of the same question (same id):
 * each question's best successful trajectory (among `preferred`) against each
 * of its failed ones (reward 0 or less).
 *
 * OpenAI's DPO trains on a one-turn prompt and a single assistant completion,
 * so a pair is the first decision where the two episodes part: the first step
 * whose action differs. The prompt is the question and the steps before it as
 * one user message (the preferred episode's, thoughts included; the actions and
 * observations are the same in both), and the completions are the step each
 * episode took there. Only policy text is ever a completion. Pairs that never
 * take different actions (one is a prefix of the other, or an observation
 * differed first) are skipped: wording alone is no preference.
 */
export function toOpenAIDpo(
  trajectories: readonly Trajectory[],
  head: PromptHead,
  preferred: (trajectory: Trajectory) => boolean,
): OpenAIDpoRecord[] {
  const records = new Map<string, OpenAIDpoRecord>();
  for (const group of byQuestion(trajectories).values()) {
    const best = group.filter((t) => succeeded(t) && preferred(t)).reduce<Trajectory | undefined>(
      (chosen, t) => (chosen === undefined || betterThan(t, chosen) ? t : chosen),
      undefined,
    );
    if (!best) continue;
    for (const failure of group.filter((t) => t.reward <= 0)) {
      const record = preferencePair(best, failure, head);
      // Failures that part from the success the same way make the same pair; one is enough.
      if (record) records.set(JSON.stringify(record), record);
    }
  }
  return [...records.values()];
}

function preferencePair(chosen: Trajectory, rejected: Trajectory, head: PromptHead): OpenAIDpoRecord | undefined {
  const at = firstDifference(chosen.steps, rejected.steps);
  const chosenStep = chosen.steps[at];
  const rejectedStep = rejected.steps[at];
  if (!chosenStep || !rejectedStep || chosenStep.action === rejectedStep.action) return undefined;
  const shared = chosen.steps.slice(0, at).flatMap((step, i) => [stepText(step, i + 1), observationLine(step, i + 1)]);
  return {
    input: {
      messages: [
        { role: "system", content: headText(head) },
        { role: "user", content: [questionLine(chosen.question), ...shared].join("\n") },
      ],
    },
    preferred_output: [{ role: "assistant", content: stepText(chosenStep, at + 1) }],
    non_preferred_output: [{ role: "assistant", content: stepText(rejectedStep, at + 1) }],
  };
}

/** Index of the first step where the two episodes differ in what the policy did or what it saw. */
function firstDifference(a: readonly Step[], b: readonly Step[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i]!.action === b[i]!.action && a[i]!.observation === b[i]!.observation) i++;
  return i;
}

