/**
 * The ReAct turn a request asks for, read from its prompt, so that the server
 * decodes it under the planner's turn grammar as LocalPolicy does in process.
 *
 * A ReAct client (OpenAIPolicy, or anything that renders the same transcript)
 * sends the episode so far, ending in the open `Thought k:` label the runtime
 * writes: that label is the step. The actions are those the prompt offers
 * (`promptActions`, as LocalPolicy decodes them in process). A prompt that does not
 * end in such a label asks for no turn, and is decoded freely.
 */
import { promptActions, type ActionArguments } from "../planner/index.ts";

export interface RequestedTurn {
  step: number;
  actions: ActionArguments;
}

/** The open label, on a line of its own, as the very end of the prompt. */
const OPEN_TURN = /(?:^|\n)Thought (\d+):$/;

export function requestedTurn(prompt: string): RequestedTurn | undefined {
  const open = OPEN_TURN.exec(prompt);
  if (!open) return undefined;
  return { step: Number(open[1]), actions: promptActions(prompt) };
}
