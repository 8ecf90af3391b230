import { pythonListRepr, type QaTask } from "../../tools/wiki/index.ts";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";
import { planComputation } from "./computation.ts";
import { RELATION_SPECS } from "./relations.ts";
import type { Hop, Plan, World } from "./schema.ts";

/** One step the expert means to take, and what its observation must show for the plan to go on. */
interface Move {
  thought: string;
  action: string;
  check?: {
    shows: (observation: string) => boolean;
    /** The thought when the observation does not show it: the expert then answers unknown. */
    otherwise: string;
  };
}

/** What the expert answers when a page does not say what its plan needs. */
export const UNKNOWN_ANSWER = "unknown";

/**
 * A policy that solves hopworld questions from their plans: it searches each
 * page in turn and writes short thoughts naming what it needs and what it found.
 * It checks every observation for the fact it expects (and, after a missed
 * search, for the page it means in the Similar list); when one is not there it
 * says so and answers "unknown". So its EM says whether a question can really
 * be answered from what Search shows.
 */
export class ExpertPolicy implements Policy<QaTask> {
  readonly name = "expert";
  private readonly plans: ReadonlyMap<string, Plan>;

  constructor(world: World) {
    this.plans = new Map(world.questions.map((question) => [question.id, question.plan]));
  }

  async act(request: PolicyRequest<QaTask>): Promise<Completion> {
    const plan = this.plans.get(request.task.id);
    if (!plan) throw new Error(`ExpertPolicy: no question ${request.task.id} in its world`);
    const moves = planMoves(plan);
    const check = moves[request.step - 2]?.check;
    const move =
      check && !check.shows(observationOf(request.prompt, request.step - 1))
        ? { thought: check.otherwise, action: `Finish[${UNKNOWN_ANSWER}]` }
        : moves[request.step - 1];
    if (!move) throw new Error(`ExpertPolicy: step ${request.step} is past the plan of ${request.task.id}`);
    return { text: ` ${move.thought}\nAction ${request.step}: ${move.action}` };
  }
}

/** The whole episode as the expert plans it: a search per hop (two for an ambiguous name), `Code[...]` where the answer needs it, then Finish. */
function planMoves(plan: Plan): Move[] {
  const { hops } = plan;
  const moves = hops.flatMap((hop, i): Move[] => {
    const need = RELATION_SPECS[hop.relation].noun(hop.subject);
    const thought = i === 0 ? `I need ${need}${hops.length > 1 ? " first" : ""}.` : `${factOf(hops[i - 1]!)}. Now I need ${need}.`;
    const read: Move = {
      thought,
      action: `Search[${hop.title}]`,
      check: { shows: (o) => states(o, hop), otherwise: `I cannot find ${need}.` },
    };
    if (hop.query === undefined) return [read];
    const entry = pythonListRepr([hop.title]).slice(1, -1);
    return [
      {
        thought,
        action: `Search[${hop.query}]`,
        check: {
          shows: (o) => o.startsWith(`Could not find ${hop.query}.`) && o.includes(entry),
          otherwise: `I cannot find ${hop.title}.`,
        },
      },
      { ...read, thought: `Several pages are named ${hop.query}. The question means ${hop.title}.` },
    ];
  });
  return [...moves, ...closingMoves(plan)];
}

/** The moves after the searches: Finish with the answer the facts give, after `Code[...]` where it takes a computation. */
function closingMoves(plan: Plan): Move[] {
  const [a, b] = plan.hops;
  const found = `${factOf(plan.hops.at(-1)!)}.`;
  const finish = (answer: string, thought = found): Move => ({ thought, action: `Finish[${answer}]` });
  switch (plan.answerFrom) {
    case "last":
      return [finish(plan.hops.at(-1)!.value)];
    case "lower":
    case "higher": {
      const aWins = (plan.answerFrom === "lower") === Number(a!.value) < Number(b!.value);
      const winner = aWins ? a! : b!;
      return [finish(winner.subject, `${found} So ${winner.subject} ${RELATION_SPECS[winner.relation].order![plan.answerFrom]}.`)];
    }
    case "same": {
      const same = a!.value === b!.value;
      const phrases = RELATION_SPECS[a!.relation].same!;
      return [finish(same ? "yes" : "no", `${found} So ${same ? phrases.yes : phrases.no}.`)];
    }
    case "difference": {
      const { program, answer } = planComputation(plan)!;
      const compute: Move = {
        thought: `${found} I subtract the smaller number from the larger.`,
        action: `Code[${program}]`,
        check: { shows: (o) => o === `Result: ${answer}`, otherwise: `${program} did not give a result.` },
      };
      return [compute, finish(answer, `The difference is ${answer}.`)];
    }
  }
}

function factOf(hop: Hop): string {
  return RELATION_SPECS[hop.relation].fact(hop.subject, hop.value);
}

/** A page was found and it shows the hop's value. */
function states(observation: string, hop: Hop): boolean {
  return !observation.startsWith("Could not find") && observation.includes(hop.value);
}

/** The observation of step `step` as the prompt shows it (it runs to the next `Thought` label). */
function observationOf(prompt: string, step: number): string {
  const label = `\nObservation ${step}: `;
  const start = prompt.lastIndexOf(label);
  if (start === -1) return "";
  const rest = prompt.slice(start + label.length);
  const end = rest.indexOf(`\nThought ${step + 1}:`);
  return end === -1 ? rest : rest.slice(0, end);
}
