/**
 * The ReAct turn a request asks for, read from its prompt, so that the server
 * decodes it under the planner's turn grammar as LocalPolicy does in process.
 *
 * A ReAct client (OpenAIPolicy, or anything that renders the same transcript)
 * sends the episode so far, ending in the open `Thought k:` label the runtime
 * writes: that label is the step. The actions are the planner's own, plus any
 * other tool that the prompt's head (instruction and examples, before the
 * episode's question) names in `Name[...]` form, with a free argument: the grammar
 * never forbids a tool the client offered. A prompt that does not end in such a
 * label asks for no turn, and is decoded freely.
 */
import { REACT_ACTIONS, type ActionArguments } from "../planner/index.ts";

export interface RequestedTurn {
  step: number;
  actions: ActionArguments;
}

/** The open label, on a line of its own, as the very end of the prompt. */
const OPEN_TURN = /(?:^|\n)Thought (\d+):$/;
/** `Name[` at the start of a word: `(1) Search[entity]`, `Action 1: Search[...]`, `Calculator[expression]`. */
const NAMED_ACTION = /(?<=^|\s)([A-Za-z][\w-]*)\[/gm;

export function requestedTurn(prompt: string): RequestedTurn | undefined {
  const open = OPEN_TURN.exec(prompt);
  if (!open) return undefined;
  const head = prompt.slice(0, Math.max(0, prompt.lastIndexOf("\nQuestion:")));
  const named = [...head.matchAll(NAMED_ACTION)].map(([, name]) => [name, "free"] as const);
  return { step: Number(open[1]), actions: { ...Object.fromEntries(named), ...REACT_ACTIONS } };
}
