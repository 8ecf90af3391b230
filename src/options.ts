// Options as a script or the command line gives them: checked, and their mistakes in words (what a setting
// allows, and what a misspelt name was likely meant to be).
import { z } from "zod";
import { levenshteinRatio } from "../tools/wiki/metrics.ts";
import { describeZodError, UserError } from "./errors.ts";

/**
 * A caller's options besides its settings, each named, with a schema where a script's slip would
 * fail late (a template given by its name wrote a run's config, then broke its first episode).
 */
export type OtherOptions = Readonly<Record<string, true | z.ZodType>>;

/**
 * The settings among the options a script passed `caller` (a trainer, runBenchmark): a bad
 * value, which JavaScript lets through, is a UserError in the CLI's words, naming the caller.
 * So is a key that is neither a setting nor one of `others`: a misspelt `temprature` was
 * dropped, and the run went on with the default. Only the settings are returned.
 */
export function parseOptions<S extends z.ZodObject>(caller: string, schema: S, options: object | undefined, others: OtherOptions = {}): z.infer<S> {
  const known = [...Object.keys(schema.shape), ...Object.keys(others)];
  const unknown = Object.keys(options ?? {}).find((key) => !known.includes(key));
  if (unknown !== undefined) throw new UserError(`${caller}: unknown option ${unknown}${didYouMean(unknown, known)}`);
  const parsed = schema.safeParse(options ?? {}, { error: inWords });
  if (!parsed.success) throw new UserError(`${caller}: ${describeZodError(parsed.error)}`);
  for (const [key, check] of Object.entries(others)) {
    if (check !== true) checkArgument(caller, key, check, (options as Record<string, unknown> | undefined)?.[key]);
  }
  return parsed.data;
}

/** A positional argument a script passed `caller`, checked as an option is: `runEpisode: policy: expected a Policy ...`. */
export function checkArgument(caller: string, name: string, schema: z.ZodType, value: unknown): void {
  const checked = schema.safeParse(value, { error: inWords });
  if (!checked.success) throw new UserError(`${caller}: ${describeZodError(checked.error, name)}`);
}

/** A function where a script passes one, and may pass what it returns instead (an environment for its factory). */
export function functionOption(expected: string) {
  return z.custom<(...args: never[]) => unknown>((value) => typeof value === "function", `expected ${expected}`);
}

/** What every run (a benchmark, a trainer) takes besides its settings: its folder, a stop signal, a progress callback. */
export const RUN_FOLDER_OPTIONS = {
  out: z.string().min(1, "expected a folder's path"),
  signal: z.instanceof(AbortSignal).optional(),
  onProgress: functionOption("a function").optional(),
} as const;

/** The other options of an options type, each named once (the compiler refuses a list that misses one), with its check or `true`. */
export function otherOptions<T>(keys: Record<keyof T, true | z.ZodType>): OtherOptions {
  return keys;
}

/** In words, the numbers a schema allows: `a whole number from 1 to 20`, `a number above 0 and at most 1`. */
export function numberRange(schema: z.ZodNumber): string {
  const json = z.toJSONSchema(schema) as { type: string; minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number };
  const whole = json.type === "integer";
  // A whole number's implicit bounds, those of the safe integers, go unsaid
  const said = (value: number | undefined) => (value === undefined || Math.abs(value) >= Number.MAX_SAFE_INTEGER ? undefined : value);
  let [low, high, above, below] = [said(json.minimum), said(json.maximum), said(json.exclusiveMinimum), said(json.exclusiveMaximum)];
  if (whole) {
    // A whole number above 0 is one of at least 1
    if (above !== undefined) [low, above] = [above + 1, undefined];
    if (below !== undefined) [high, below] = [below - 1, undefined];
  }
  const kind = whole ? "a whole number" : "a number";
  if (low !== undefined && high !== undefined) return `${kind} from ${low} to ${high}`;
  const lower = low !== undefined ? `at least ${low}` : above !== undefined ? `above ${above}` : undefined;
  const upper = high !== undefined ? `at most ${high}` : below !== undefined ? `below ${below}` : undefined;
  const limits = [lower, upper].filter((part) => part !== undefined);
  if (limits.length === 0) return kind;
  return `${kind} ${limits[0]!.startsWith("at ") ? "of " : ""}${limits.join(" and ")}`;
}

/**
 * A zod error map for settings a user typed (flags, config files): says what a value
 * must be, in words, instead of zod's `expected number, received NaN`. Messages a
 * schema sets itself win over these.
 */
export const inWords: z.core.$ZodErrorMap = (issue) => {
  if (issue.input === undefined) return "required";
  const schema = issue.schema;
  if (schema instanceof z.ZodNumber) return `expected ${numberRange(schema)}`;
  if (issue.code === "invalid_value") {
    const allowed = issue.values.map(String);
    return `expected ${oneOf(allowed)}${didYouMean(String(issue.input), allowed)}`;
  }
  if (schema instanceof z.ZodString) return "expected text";
  if (schema instanceof z.ZodBoolean) return "expected true or false";
  return undefined;
};

/** `a, b or c`. */
function oneOf(names: readonly string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

/**
 * ` (did you mean X?)`, naming the known names that `given` is likely a slip for (those it
 * begins, or that differ from it by a letter or two), or nothing when none is close.
 * Leading dashes are left out of the comparison, so flags compare by their names.
 */
export function didYouMean(given: string, known: readonly string[]): string {
  const bare = (name: string) => name.replace(/^-+/, "").toLowerCase();
  const typed = bare(given);
  const close = known
    .map((name) => ({ name, likeness: typed.length >= 2 && bare(name).startsWith(typed) ? 1 : levenshteinRatio(typed, bare(name)) }))
    .filter(({ likeness }) => likeness >= 0.75)
    .sort((a, b) => b.likeness - a.likeness)
    .slice(0, 3)
    .map(({ name }) => name);
  return close.length === 0 ? "" : ` (did you mean ${oneOf(close)}?)`;
}
