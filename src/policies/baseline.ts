import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";

/** Searches planned from the question's own title-like spans. */
const MAX_QUESTION_SEARCHES = 3;
/** All searches, including retries of a suggested title after a miss. */
const MAX_SEARCHES = 4;

const WH_WORDS = "which who whom whose what when where why how".split(" ");
/** A question opening with one of these asks yes or no (unless it offers a choice). */
const AUXILIARIES = new Set("are is was were do does did has have had can could will would should".split(" "));
const QUESTION_WORDS = new Set([...WH_WORDS, ...AUXILIARIES]);
/**
 * Lower-case words that may sit inside a title (`Battle of Bull Run`), as numbers may (`The 7 Habits`).
 * Not `and`: questions join two names with it far more often than titles hold it.
 */
const TITLE_CONNECTORS = new Set("of the for in on at to a an de la le du del da von van".split(" "));
const STOPWORDS = new Set([...QUESTION_WORDS, ...TITLE_CONNECTORS, "and", "or", "with", "by", "from", "that", "this", "both", "same", "as"]);
const EARLIER = /\b(first|earlier|earliest|older|oldest|before)\b/i;
const LATER = /\b(later|latest|last|younger|youngest|newer|newest|recent|after)\b/i;
const MONTH = "(?:January|February|March|April|May|June|July|August|September|October|November|December)";
const DATE = new RegExp(`\\b(?:${MONTH} \\d{1,2}, )?\\d{4}\\b`, "g");
const NUMBER = /\b\d[\d,.]*\b/g;
const YEAR = /\b(1\d{3}|20\d{2})\b/;

/** What the prompt shows of this episode: the question and each action with its observation. */
interface Episode {
  question: string;
  steps: { action: string; observation: string }[];
}

/** Reads the episode after the last `Question:` line; the exemplars before it are not this episode. */
function readEpisode(prompt: string): Episode {
  const lines = `\n${prompt}`;
  const tail = lines.slice(lines.lastIndexOf("\nQuestion:") + "\nQuestion:".length);
  const question = (tail.split("\n")[0] ?? "").trim();
  const steps = [...tail.matchAll(/^Action (\d+): (.*)\nObservation \1: (.*)$/gm)].map((m) => ({ action: m[2]!, observation: m[3]! }));
  return { question, steps };
}

const norm = (text: string) => text.toLowerCase().replace(/\s+/g, " ").trim();
const stripPunctuation = (word: string) => word.replace(/^[("“'‘]+|[)"”'’,.;:?!]+$/g, "");

/** Maximal runs of Capitalised words (connectors allowed inside), longest first; a leading question word is dropped. */
function capitalisedRuns(text: string): string[] {
  const runs: string[] = [];
  let run: string[] = [];
  const close = () => {
    while (run.length > 0 && !/^\p{Lu}/u.test(run.at(-1)!)) run.pop();
    if (run.length > 0) runs.push(run.join(" ").replace(/['’]s$/, ""));
    run = [];
  };
  text.split(/\s+/).forEach((raw, i) => {
    const word = stripPunctuation(raw);
    const skip = i === 0 && QUESTION_WORDS.has(word.toLowerCase());
    const capitalised = /^\p{Lu}/u.test(word) && !skip;
    const joins = TITLE_CONNECTORS.has(word) || /^\d/.test(word);
    if (capitalised || (run.length > 0 && joins)) run.push(word);
    else close();
    if (/[,;:?!"”]$|\.$/.test(raw) && !/^(\p{Lu}\.)+$/u.test(raw)) close();
  });
  close();
  return runs.sort((a, b) => b.length - a.length);
}

const contentWords = (text: string) => norm(text).split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 2 && !STOPWORDS.has(w));

/**
 * Quoted strings first, then capitalised runs: the question's likely page titles.
 * A question with neither gets its content words, whose miss lists the pages most like it.
 */
function titleSpans(question: string): string[] {
  const quoted = [...question.matchAll(/"([^"]+)"|“([^”]+)”/g)].map((m) => (m[1] ?? m[2]!).trim());
  const spans = [...quoted, ...capitalisedRuns(question)];
  if (spans.length === 0) return [contentWords(question).join(" ")];
  return spans.filter((span, i) => spans.findIndex((other) => norm(other) === norm(span)) === i);
}

/** The first title a miss suggests: `Could not find X. Similar: ['A', "B's"].` */
function firstSuggestion(observation: string): string | undefined {
  const list = /^Could not find .*\. Similar: \[(.*)\]\.$/.exec(observation)?.[1] ?? "";
  const first = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/.exec(list);
  return first ? (first[1] ?? first[2]!).replace(/\\(.)/g, "$1") : undefined;
}

function nextSearch(episode: Episode): string | undefined {
  const searched = episode.steps.map((s) => /^Search\[(.*)\]$/.exec(s.action)?.[1]).filter((s) => s !== undefined);
  if (searched.length >= MAX_SEARCHES) return undefined;
  const isNew = (title: string) => !searched.some((s) => norm(s) === norm(title));
  const suggestion = firstSuggestion(episode.steps.at(-1)?.observation ?? "");
  if (suggestion !== undefined && isNew(suggestion)) return suggestion;
  return titleSpans(episode.question).slice(0, MAX_QUESTION_SEARCHES).find(isNew);
}

/** Sentences of the pages read so far (misses and other messages are not pages). */
function readSentences(episode: Episode): string[] {
  return episode.steps
    .filter((s) => /^(Search|Lookup)\[/.test(s.action) && !/^(Could not find|No more results|Invalid action)/.test(s.observation))
    .flatMap((s) => s.observation.replace(/^\(Result \d+ \/ \d+\) /, "").split(/(?<=[.!?])\s+(?=\p{Lu})/u));
}

/** The two options of `..., A or B?` (each stripped of a leading "the"), if the question offers a choice. */
function choiceOptions(question: string): [string, string] | undefined {
  const body = question.replace(/\?+\s*$/, "");
  const at = body.lastIndexOf(" or ");
  if (at < 0) return undefined;
  const clean = (text: string) => text.replace(/^\s*(the\s+)?/i, "").replace(/[\s,]+$/, "");
  const before = body.slice(0, at).replace(/,\s*$/, "").split(",").at(-1)!;
  const first = clean(before.split(/\s+/).filter((w, i) => i > 0 || !QUESTION_WORDS.has(w.toLowerCase())).join(" "));
  const second = clean(body.slice(at + 4).split(",")[0]!);
  return first && second ? [first, second] : undefined;
}

/** Picks the option dated earlier or later when the question asks so; else the first one. */
function chooseOption(question: string, options: [string, string], sentences: string[]): string {
  // Pages often give a fuller name (`Sigmund Werner Paul Jähn`), so the last word also identifies an option.
  const mentions = (sentence: string, option: string) => norm(sentence).includes(norm(option).split(" ").at(-1)!);
  const yearOf = (option: string) => {
    const about = sentences.find((s) => mentions(s, option) && YEAR.test(s));
    return about === undefined ? undefined : Number(YEAR.exec(about)![1]);
  };
  const [a, b] = options.map(yearOf);
  if (a === undefined || b === undefined || a === b) return options[0];
  if (EARLIER.test(question)) return a < b ? options[0] : options[1];
  if (LATER.test(question)) return a > b ? options[0] : options[1];
  return options[0];
}

/** The span of the read text that fits the question's kind, from the sentence sharing most words with it. */
function bestSpan(question: string, sentences: string[]): string | undefined {
  const questionWords = new Set(contentWords(question));
  const spansOf = /^(when|what year|in what year|which year)\b/i.test(question)
    ? (s: string) => s.match(DATE) ?? []
    : /^how (many|much|old|long)\b/i.test(question)
      ? (s: string) => s.match(NUMBER) ?? []
      : capitalisedRuns;
  let best: { span: string; score: number } | undefined;
  for (const sentence of sentences) {
    const score = contentWords(sentence).filter((w) => questionWords.has(w)).length;
    // The answer is something the question does not already name (and not a lone `In` or `The`).
    const span = spansOf(sentence).find((c) => !STOPWORDS.has(norm(c)) && !contentWords(c).some((w) => questionWords.has(w)));
    if (span !== undefined && (best === undefined || score > best.score)) best = { span, score };
  }
  return best?.span;
}

function answer(episode: Episode): string {
  const { question } = episode;
  const sentences = readSentences(episode);
  const options = choiceOptions(question);
  if (options) return chooseOption(question, options, sentences);
  if (AUXILIARIES.has(question.split(/\s+/)[0]!.toLowerCase())) return "yes";
  return bestSpan(question, sentences) ?? titleSpans(question)[0] ?? "unknown";
}

/**
 * An honest, non-learning policy for HotpotQA-like questions: it searches the
 * question's title-like spans (following a miss's first suggestion), then
 * answers by simple rules from what it has read. It never sees the gold answer.
 */
export class BaselinePolicy implements Policy {
  readonly name = "baseline";

  async act(request: PolicyRequest): Promise<Completion> {
    const episode = readEpisode(request.prompt);
    const title = nextSearch(episode);
    const text =
      title === undefined
        ? ` I have read enough to answer.\nAction ${request.step}: Finish[${answer(episode)}]`
        : ` I need to search ${title}.\nAction ${request.step}: Search[${title}]`;
    return { text };
  }
}
