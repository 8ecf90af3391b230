import { z } from "zod";
import { invalidAction, type Action, type Environment, type StepResult } from "../environment.ts";
import { callWithText, defineTool, type Tool, type ToolContext } from "../tool.ts";
import type { Docstore } from "./docstore.ts";
import { scoreAnswer } from "./metrics.ts";
import type { QaTask } from "./task.ts";

/** How many sentences a successful Search shows (ReAct's). */
const SEARCH_SENTENCES = 5;
const SIMILAR_TITLES = 5;
const NO_MORE_RESULTS = "No more results.";
const EPISODE_FINISHED = "Episode finished.";

interface LookupState {
  keyword: string;
  results: string[];
  shown: number;
}

/**
 * ReAct's Wikipedia environment (wikienv.py) over a local docstore. Holds the
 * current page and lookup position, so make one per episode.
 */
export class WikiEnvironment implements Environment<QaTask> {
  readonly tools: readonly Tool[];
  private readonly extraTools: ReadonlyMap<string, Tool>;
  private task: QaTask | undefined;
  /** Sentences of the current page, trimmed, empty ones dropped. */
  private page: string[] | undefined;
  private lookupState: LookupState | undefined;

  constructor(
    private readonly docstore: Docstore,
    extraTools: readonly Tool[] = [],
  ) {
    const builtIn = [
      defineTool({
        name: "Search",
        description:
          "Looks up the exact entity on Wikipedia and returns the first sentences of its page if there is one; otherwise it lists similar titles to search instead.",
        schema: z.string().describe("entity"),
        call: (entity) => this.search(entity),
      }),
      defineTool({
        name: "Lookup",
        description: "Returns the next sentence containing the keyword on the page that the last Search found.",
        schema: z.string().describe("keyword"),
        call: (keyword) => this.lookup(keyword),
      }),
    ];
    this.extraTools = toolsByName(extraTools, ["search", "lookup", "finish"]);
    this.tools = [...builtIn, ...extraTools];
  }

  async reset(task: QaTask): Promise<string> {
    this.task = task;
    this.page = undefined;
    this.lookupState = undefined;
    return task.question;
  }

  async step(action: Action, ctx?: ToolContext): Promise<StepResult> {
    const name = action.name.toLowerCase();
    if (name === "search") return ongoing(this.search(action.argument));
    if (name === "lookup") return ongoing(this.lookup(action.argument));
    if (name === "finish") return this.finish(action.argument);
    const tool = this.extraTools.get(name);
    if (tool) return ongoing(await callWithText(tool, action.argument, ctx));
    return { observation: invalidAction(`${action.name}[${action.argument}]`), done: false, reward: 0, info: { valid: false } };
  }

  private search(entity: string): string {
    const found = this.docstore.get(entity);
    if (!found) {
      const similar = this.docstore.similar(entity, SIMILAR_TITLES);
      return `Could not find ${entity}. Similar: ${pythonListRepr(similar)}.`;
    }
    this.page = found.sentences.map((sentence) => sentence.trim()).filter((sentence) => sentence !== "");
    this.lookupState = undefined;
    return this.page.slice(0, SEARCH_SENTENCES).join(" ");
  }

  private lookup(keyword: string): string {
    // Any other keyword string restarts the list; ReAct compares keywords exactly.
    if (this.lookupState?.keyword !== keyword) {
      const needle = keyword.toLowerCase();
      const results = (this.page ?? []).filter((sentence) => sentence.toLowerCase().includes(needle));
      this.lookupState = { keyword, results, shown: 0 };
    }
    const state = this.lookupState;
    if (state.shown >= state.results.length) return NO_MORE_RESULTS;
    state.shown += 1;
    return `(Result ${state.shown} / ${state.results.length}) ${state.results[state.shown - 1]}`;
  }

  private finish(answer: string): StepResult {
    if (!this.task) throw new Error("WikiEnvironment.step called before reset");
    const scores = scoreAnswer(answer, this.task.answer);
    return { observation: EPISODE_FINISHED, done: true, reward: scores.em, info: { valid: true, answer, scores } };
  }
}

function ongoing(observation: string): StepResult {
  return { observation, done: false, reward: 0, info: { valid: true } };
}

/** Extra tools keyed by lowercased name; a name clash would make actions ambiguous, so it throws. */
function toolsByName(tools: readonly Tool[], reserved: readonly string[]): ReadonlyMap<string, Tool> {
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    const key = tool.name.toLowerCase();
    if (reserved.includes(key) || byName.has(key)) throw new Error(`duplicate tool name: ${tool.name}`);
    byName.set(key, tool);
  }
  return byName;
}

/** Python's `repr` of a list of strings, as ReAct's observation prints it. */
export function pythonListRepr(items: readonly string[]): string {
  return `[${items.map(pythonStringRepr).join(", ")}]`;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
const NAMED_ESCAPES = new Map([
  ["\\", "\\\\"],
  ["\n", "\\n"],
  ["\r", "\\r"],
  ["\t", "\\t"],
]);

/** Python's `repr` of a str: single quotes unless only double quotes avoid escaping. */
function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let body = "";
  for (const char of text) {
    if (char === quote) body += `\\${quote}`;
    else if (NAMED_ESCAPES.has(char)) body += NAMED_ESCAPES.get(char);
    else if (char !== " " && NON_PRINTABLE.test(char)) body += codePointEscape(char.codePointAt(0)!);
    else body += char;
  }
  return `${quote}${body}${quote}`;
}

function codePointEscape(codePoint: number): string {
  const hex = codePoint.toString(16);
  if (codePoint < 0x100) return `\\x${hex.padStart(2, "0")}`;
  if (codePoint < 0x10000) return `\\u${hex.padStart(4, "0")}`;
  return `\\U${hex.padStart(8, "0")}`;
}
