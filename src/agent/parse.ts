import type { Action } from "../../tools/environment.ts";
import { ACTION_NAME } from "../../tools/tool.ts";

/** One step as read from a policy's continuation. */
export interface ParsedStep {
  thought: string;
  /** Null when no `Name[argument]` action could be read. */
  action: Action | null;
  /** `Name[argument]` when readable; else the unreadable action text as written, or "" when there was none. */
  actionText: string;
}

/**
 * Label patterns. Markdown a model may wrap labels in (emphasis, code,
 * headings, quotes, bullets) is one character class, and no two adjacent
 * parts can match the same spaces: patterns stay linear on long inputs.
 */
const DECORATION = "[ \\t*_`#>-]*";
const LABEL_END = "[ \\t]*(?:[*_`]+[ \\t]*)?:";
const NUMBER = "(?:[ \\t]*(\\d+))";

/** A made-up observation: on its own line, or an inline numbered label. Everything from there on is cut. */
const INVENTED_OBSERVATION = new RegExp(`\\n${DECORATION}observation\\b|(?<![a-z])observation${NUMBER}${LABEL_END}`, "i");
/** `Thought k:` labels, leading or later (a later one with a higher number starts the next step). */
const LEADING_THOUGHT_LABEL = /^[\s*_`#>-]*thought(?:[ \t]*\d+)?[ \t]*(?:[*_`]+[ \t]*)?:/i;
const NUMBERED_THOUGHT_LABEL = new RegExp(`(?<![a-z])thought${NUMBER}${LABEL_END}`, "gi");
const ACTION_LABEL = new RegExp(`(?<![a-z])action${NUMBER}?${LABEL_END}`, "i");
/** The start of an action: its name, then `[`, possibly spaced. */
const ACTION_HEAD = new RegExp(`^(${ACTION_NAME})\\s*\\[`, "i");
/** A line that is nothing but an action (accepted without a label). */
const BARE_ACTION_LINE = new RegExp(`^(${ACTION_NAME})\\s*\\[.*\\]$`, "i");
const QUOTE_PAIRS: readonly (readonly [string, string])[] = [
  ['"', '"'],
  ["'", "'"],
  ["`", "`"],
  ["\u201c", "\u201d"],
  ["\u2018", "\u2019"],
];

/**
 * Reads the thought and action of step `step` from a continuation of a prompt
 * ending in `Thought {step}:`. Lenient about the many ways models garble the
 * format; total: whatever cannot be read gives `action: null`, never a throw.
 */
export function parseStep(text: string, step: number): ParsedStep {
  const body = cutAtNextStep(stripLeadingThoughtLabels(cutAtInventedObservation(text)), step);
  const labelled = ACTION_LABEL.exec(body);
  if (labelled) {
    const thought = body.slice(0, labelled.index);
    const actionLine = firstNonEmptyLine(body.slice(labelled.index + labelled[0].length));
    return { thought: cleanThought(thought), ...readAction(actionLine) };
  }
  const bare = findBareActionLine(body);
  if (bare) return { thought: cleanThought(body.slice(0, bare.index)), ...readAction(bare.line) };
  return { thought: cleanThought(body), action: null, actionText: "" };
}

/** A continuation up to an observation the policy wrote itself (a policy that ignores `stop` invents one): everything from there on is not its step. */
export function cutAtInventedObservation(text: string): string {
  const match = INVENTED_OBSERVATION.exec(text);
  return match ? text.slice(0, match.index) : text;
}

/** The prompt already ends in `Thought k:`; models often repeat it. */
function stripLeadingThoughtLabels(text: string): string {
  let rest = text;
  for (let match = LEADING_THOUGHT_LABEL.exec(rest); match; match = LEADING_THOUGHT_LABEL.exec(rest)) {
    rest = rest.slice(match[0].length);
  }
  return rest;
}

/** A `Thought n:` with n past this step means the model went on writing the next step. */
function cutAtNextStep(text: string, step: number): string {
  for (const match of text.matchAll(NUMBERED_THOUGHT_LABEL)) {
    if (Number(match[1]) > step) return text.slice(0, match.index);
  }
  return text;
}

/** The action may sit on the label's line or, when that is empty, on the next line. */
function firstNonEmptyLine(text: string): string {
  const lines = text.split("\n").map(stripDecoration);
  return lines.find((line) => line !== "") ?? "";
}

function findBareActionLine(text: string): { line: string; index: number } | undefined {
  let index = 0;
  for (const rawLine of text.split("\n")) {
    const line = stripDecoration(rawLine);
    if (BARE_ACTION_LINE.test(line)) return { line, index };
    index += rawLine.length + 1;
  }
  return undefined;
}

/** Reads `Name[argument]` from an action line; an unreadable line is returned as written. */
function readAction(line: string): Pick<ParsedStep, "action" | "actionText"> {
  const head = ACTION_HEAD.exec(line);
  if (!head) return { action: null, actionText: line };
  const name = head[1]!;
  const afterBracket = line.slice(head[0].length);
  // An answer may itself hold brackets, so Finish's argument runs to the line's last `]`.
  const end = /^finish$/i.test(name) ? afterBracket.lastIndexOf("]") : matchingBracket(afterBracket);
  const argument = unquote((end === -1 ? afterBracket : afterBracket.slice(0, end)).trim());
  return { action: { name, argument }, actionText: `${name}[${argument}]` };
}

/** Index of the `]` closing an already opened `[`, or -1 when it never closes (read to the line's end). */
function matchingBracket(text: string): number {
  let depth = 1;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "[") depth++;
    else if (text[i] === "]" && --depth === 0) return i;
  }
  return -1;
}

/** One quoted argument loses its quotes; `"a", "b"` (several quoted values) keeps them. */
function unquote(argument: string): string {
  for (const [open, close] of QUOTE_PAIRS) {
    if (argument.length >= 2 && argument.startsWith(open) && argument.endsWith(close)) {
      const inner = argument.slice(open.length, -close.length);
      return inner.includes(close) ? argument : inner.trim();
    }
  }
  return argument;
}

const SPACE = " \t\r\n\f\v";

/** Markdown and quotes around a whole action line, e.g. `` `Search[X]` `` or `**Search[X]**`. */
function stripDecoration(line: string): string {
  return trimEnd(line.replace(/^[\s*_`#>"'-]+/, ""), `${SPACE}*_\`"'`);
}

function cleanThought(text: string): string {
  return trimEnd(text.replace(/^[\s*_`#>-]+/, ""), `${SPACE}*_\`#>-`);
}

/** A loop, not a `[...]+$` regex, which is quadratic on long runs of those characters. */
function trimEnd(text: string, characters: string): string {
  let end = text.length;
  while (end > 0 && characters.includes(text[end - 1]!)) end--;
  return text.slice(0, end);
}
