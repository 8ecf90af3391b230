import type { QaTask } from "../../tools/wiki/task.ts";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";

/** The supporting-fact titles in order of first appearance, each once. */
function supportingTitles(task: QaTask): string[] {
  return [...new Set(task.supportingFacts.map(([title]) => title))];
}

/**
 * A planner that cheats: it searches the gold supporting pages in order, then
 * finishes with the gold answer. An upper bound for tests and for measuring
 * the runtime's own overhead; never an evaluation result.
 */
export class OraclePolicy implements Policy<QaTask> {
  readonly name = "oracle";

  async act(request: PolicyRequest<QaTask>): Promise<Completion> {
    const title = supportingTitles(request.task)[request.step - 1];
    const text =
      title === undefined
        ? ` I know the answer.\nAction ${request.step}: Finish[${request.task.answer}]`
        : ` I need to look up ${title}.\nAction ${request.step}: Search[${title}]`;
    return { text };
  }
}
