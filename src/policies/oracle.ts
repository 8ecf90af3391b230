import type { QaTask } from "../../tools/wiki/task.ts";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";

/** The supporting-fact titles in order of first appearance, each once. */
function supportingTitles(task: QaTask): string[] {
  return [...new Set(task.supportingFacts.map(([title]) => title))];
}

/**
 * A policy that cheats: it searches the gold supporting pages in order, runs
 * the task's gold program with `Code[...]` when it has one, then finishes with
 * the gold answer. An upper bound for tests and for measuring the runtime's own
 * overhead, and the expert whose episodes `train sft` fine-tunes on where a
 * suite has no other (arithmetic); never an evaluation result.
 */
export class OraclePolicy implements Policy<QaTask> {
  readonly name = "oracle";

  async act(request: PolicyRequest<QaTask>): Promise<Completion> {
    const { task, step } = request;
    const titles = supportingTitles(task);
    const title = titles[step - 1];
    const text =
      title !== undefined
        ? ` I need to look up ${title}.\nAction ${step}: Search[${title}]`
        : task.program !== undefined && step === titles.length + 1
          ? ` I compute the answer.\nAction ${step}: Code[${task.program}]`
          : ` I know the answer.\nAction ${step}: Finish[${task.answer}]`;
    return { text };
  }
}
