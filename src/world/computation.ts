import type { Plan } from "./schema.ts";

/** What a plan computes from its facts: the program an agent runs with `Code[...]`, and the answer it gives. */
export interface Computation {
  program: string;
  answer: string;
}

/** The computation a plan needs after its searches (the larger number minus the smaller), or undefined when it needs none. */
export function planComputation(plan: Plan): Computation | undefined {
  if (plan.answerFrom !== "difference") return undefined;
  const [larger, smaller] = plan.hops.map((hop) => Number(hop.value)).sort((a, b) => b - a);
  return { program: `${larger} - ${smaller}`, answer: String(larger! - smaller!) };
}
