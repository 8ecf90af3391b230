/**
 * The ReAct turn grammar the embedded planner decodes under: a thought on one line
 * (no brackets or colons, at most THOUGHT_LIMIT tokens), then `Action k:
 * Name[argument]`, then the end of the turn. The argument of a copying action
 * (Search, Lookup, Finish) is a whole-word span of what the runtime wrote (the
 * question and the observations), or yes, no or unknown: the tiny model chooses
 * what to copy, and never spells out a name itself. Other actions (Code) take any one-line argument.
 *
 * It reads tokens as their raw bytes (latin1), so that the tokenizer's virtual
 * spaces are plain characters, alike in the prompt and in what the model writes.
 */
import type { TokenConstraint, Tokenizer } from "../lm/index.ts";
import type { TokenSequence } from "./transcript.ts";

/** What each action's argument may be: copied from the runtime's text, or anything on one line. */
export type ActionArguments = Readonly<Record<string, "copied" | "free">>;

export const REACT_ACTIONS: ActionArguments = { Search: "copied", Lookup: "copied", Finish: "copied", Code: "free" };

/** `Name[` at the start of a word: `(1) Search[entity]`, `Action 1: Search[...]`, `Calculator[expression]`. */
const NAMED_ACTION = /(?<=^|\s)([A-Za-z][\w-]*)\[/gm;

/**
 * The actions a prompt offers: the planner's own, plus any other tool that its head
 * (instruction and examples, before the episode's question) names in `Name[...]`
 * form, with a free argument: the grammar never forbids a tool the agent was given.
 */
export function promptActions(prompt: string): ActionArguments {
  const head = prompt.slice(0, Math.max(0, prompt.lastIndexOf("\nQuestion:")));
  const named = [...head.matchAll(NAMED_ACTION)].map(([, name]) => [name, "free"] as const);
  return { ...Object.fromEntries(named), ...REACT_ACTIONS };
}

/** Tokens after which a thought must end: the expert's take at most 34; the action line then still fits in 64. */
export const THOUGHT_LIMIT = 36;

/** Answers that need no source: HotpotQA's yes and no, and the arithmetic expert's unknown. */
const ANSWER_WORDS = ["yes", "no", "unknown"];

const WORD = /[\p{L}\p{N}]/u;
/** A copied span stops at these unless a word follows at once (`3.5`, `D.C`): it never runs into the next sentence or list item. */
const SENTENCE_MARK = /[.,;:!?]/;
const isWord = (char: string | undefined) => char !== undefined && WORD.test(char);

type State =
  | { at: "thought"; length: number }
  | { at: "label"; typed: number }
  | { at: "name"; typed: string }
  | { at: "argument"; name: string; text: string; starts: number[] }
  | { at: "end" };

/** The grammar of one turn, `Thought {step}:` onwards, over `source` (the runtime's text, raw). */
export class TurnGrammar {
  private readonly label: string;
  private state: State = { at: "thought", length: 0 };
  private read = 0;
  private readonly masks = new Map<string, Uint8Array>();
  private readonly spans: Spans;

  constructor(
    private readonly vocabulary: TokenStrings,
    source: string,
    step: number,
    private readonly actions: ActionArguments = REACT_ACTIONS,
  ) {
    this.label = `\nAction ${step}: `;
    this.spans = new Spans(source);
  }

  /** The constraint for `generateTokens`: which tokens may follow those written. */
  readonly constraint: TokenConstraint = (written) => {
    for (; this.read < written.length; this.read++) this.state = this.advanceToken(this.state, written[this.read]) ?? this.state;
    const key = cacheKey(this.state);
    const cached = key === undefined ? undefined : this.masks.get(key);
    if (cached) return cached;
    const mask = this.mask(this.state);
    if (key !== undefined) this.masks.set(key, mask);
    return mask;
  };

  private mask(state: State): Uint8Array {
    const { strings, eos } = this.vocabulary;
    const mask = new Uint8Array(strings.length);
    strings.forEach((s, id) => (mask[id] = s !== "" && this.advanceToken(state, id) ? 1 : 0));
    // eos ends the turn where the grammar does, and wherever it has no way on (an unclosable span)
    mask[eos] = this.complete(state) || !mask.includes(1) ? 1 : 0;
    return mask;
  }

  private complete(state: State): boolean {
    return state.at === "end" || (state.at === "argument" && this.actions[state.name] === "free" && state.text.endsWith("]"));
  }

  private advanceToken(state: State, id: number): State | undefined {
    if (id === this.vocabulary.eos) return this.complete(state) ? { at: "end" } : undefined;
    const text = this.vocabulary.strings[id];
    if (state.at === "thought" && state.length >= THOUGHT_LIMIT && !text.startsWith("\n")) return undefined;
    let next: State | undefined = state;
    for (const char of text) if (!(next = next && this.advance(next, char))) return undefined;
    return next.at === "thought" && state.at === "thought" ? { at: "thought", length: state.length + 1 } : next;
  }

  private advance(state: State, char: string): State | undefined {
    switch (state.at) {
      case "thought":
        if (char === "\n") return { at: "label", typed: 1 };
        return "[]:".includes(char) ? undefined : state;
      case "label":
        if (this.label[state.typed] !== char) return undefined;
        return state.typed + 1 === this.label.length ? { at: "name", typed: "" } : { at: "label", typed: state.typed + 1 };
      case "name": {
        if (char === "[" && state.typed in this.actions) return { at: "argument", name: state.typed, text: "", starts: this.spans.starts };
        const typed = state.typed + char;
        return Object.keys(this.actions).some((name) => name.startsWith(typed)) ? { at: "name", typed } : undefined;
      }
      case "argument":
        return this.actions[state.name] === "free" ? this.freeArgument(state, char) : this.copiedArgument(state, char);
      case "end":
        return undefined;
    }
  }

  private freeArgument(state: State & { at: "argument" }, char: string): State | undefined {
    return char === "\n" ? undefined : { ...state, text: state.text + char };
  }

  /** A copied argument grows while some occurrence in the source goes on with `char`; `]` closes it where a span may end. */
  private copiedArgument(state: State & { at: "argument" }, char: string): State | undefined {
    const { text, starts } = state;
    if (char === "]") return text !== "" && starts.some((p) => this.spans.endsAt(p + text.length)) ? { at: "end" } : undefined;
    const still = starts.filter((p) => this.spans.continues(p + text.length, char));
    return still.length > 0 ? { ...state, text: text + char, starts: still } : undefined;
  }
}

/**
 * What a state's mask depends on, where it can be reused: a thought's, only on
 * whether it reached its limit; an argument's (its occurrences) is never reused.
 */
function cacheKey(state: State): string | undefined {
  if (state.at === "thought") return `thought ${state.length >= THOUGHT_LIMIT}`;
  return state.at === "argument" ? undefined : JSON.stringify(state);
}

/**
 * The spans of a source that a copied argument may be: within one stretch (cut at
 * quotes, brackets, line ends and sentence ends), from the start of a word (or the
 * virtual space before it) to the end of a word or a `)`. Positions index the source.
 */
class Spans {
  readonly starts: number[] = [];
  private readonly ends: Uint8Array;
  /** From each position: the first where a span may end, and the first it cannot cross. */
  private readonly nextEnd: Int32Array;
  private readonly nextCut: Int32Array;

  constructor(private readonly source: string) {
    const n = source.length;
    const at = (i: number) => source[i];
    const cut = (i: number) => i >= n || `[]'"\n`.includes(at(i)) || (SENTENCE_MARK.test(at(i)) && !isWord(at(i + 1)));
    this.ends = Uint8Array.from({ length: n + 1 }, (_, e) => (e > 0 && (isWord(at(e - 1)) || at(e - 1) === ")") && !isWord(at(e)) ? 1 : 0));
    this.nextEnd = new Int32Array(n + 2).fill(n + 1);
    this.nextCut = new Int32Array(n + 2).fill(n);
    for (let i = n; i >= 0; i--) {
      this.nextEnd[i] = this.ends[i] ? i : this.nextEnd[i + 1];
      this.nextCut[i] = cut(i) ? i : this.nextCut[i + 1];
    }
    for (let p = 0; p < n; p++) {
      const wordStart = isWord(at(p)) && !isWord(at(p - 1));
      if ((wordStart || (at(p) === " " && isWord(at(p + 1)))) && this.viable(p)) this.starts.push(p);
    }
  }

  /** A span may end just before position e. */
  endsAt(e: number): boolean {
    return this.ends[e] === 1;
  }

  /** A span reaching position i may take `char` there and still be ended later. */
  continues(i: number, char: string): boolean {
    return this.source[i] === char && this.nextCut[i] > i && this.viable(i + 1);
  }

  private viable(i: number): boolean {
    return this.nextEnd[i] <= this.nextCut[i];
  }
}

/** Each token's raw bytes as a latin1 string ("" for `bos` and `eos`), computed once per tokenizer. */
export interface TokenStrings {
  strings: string[];
  eos: number;
}

const tokenStrings = new WeakMap<Tokenizer, TokenStrings>();

export function rawTokenStrings(tokenizer: Tokenizer): TokenStrings {
  let cached = tokenStrings.get(tokenizer);
  if (!cached) {
    const strings = Array.from({ length: tokenizer.vocabSize }, (_, id) => String.fromCharCode(...tokenizer.bytes(id)));
    tokenStrings.set(tokenizer, (cached = { strings, eos: tokenizer.eos }));
  }
  return cached;
}

/**
 * What a turn may copy from: the runtime's tokens of a prompt (those `mask` gives 0),
 * raw, one line per stretch between the policy's turns, and the answer words.
 */
export function copySource(ids: readonly number[], mask: readonly number[], vocabulary: TokenStrings): string {
  let source = "";
  ids.forEach((id, i) => {
    if (mask[i] === 0) source += vocabulary.strings[id];
    else if (mask[i - 1] === 0) source += "\n";
  });
  return `${source}\n${ANSWER_WORDS.map((w) => ` ${w}`).join("\n")}`;
}

/** The constraint of one turn, step `step`, after `prompt` (its tokens and mask, as transcriptTokens gives them). */
export function turnConstraint(prompt: TokenSequence, tokenizer: Tokenizer, step: number, actions: ActionArguments = REACT_ACTIONS): TokenConstraint {
  const vocabulary = rawTokenStrings(tokenizer);
  return new TurnGrammar(vocabulary, copySource(prompt.ids, prompt.mask, vocabulary), step, actions).constraint;
}
