// How a text action's argument becomes a tool's input, and how a tool's
// argument is written: both read the input side of the tool's zod schema
// through JSON Schema, which works for any zod 4 schema, whichever copy made it.
import { z } from "zod";

/** The little of JSON Schema the argument forms need. */
interface InputShape {
  type?: string;
  /** The values allowed, for an enum: the agent cannot guess them. */
  enum?: unknown[];
  description?: string;
  properties?: Record<string, InputShape>;
  required?: string[];
}

/** What a schema accepts, as JSON Schema; `{}` (anything) when it cannot be said. */
export function inputShape(schema: z.ZodType): InputShape {
  try {
    return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as InputShape;
  } catch {
    return {};
  }
}

/** The keys of an object schema, in order; undefined for other schemas. */
function keysOf(shape: InputShape): string[] | undefined {
  return shape.type === "object" && shape.properties ? Object.keys(shape.properties) : undefined;
}

/**
 * The argument as the agent writes it between the brackets: a string's
 * description (else `input`), an object's keys (`a, b`), else the schema's
 * description or type (written as JSON).
 */
export function argumentForm(shape: InputShape): string {
  if (shape.type === "string") return shape.description ?? "input";
  return keysOf(shape)?.join(", ") ?? shape.description ?? shape.type ?? "JSON";
}

/**
 * An object's arguments spelled out: `a (number): the first addend; unit (one of km, mi, optional)`;
 * for an enum, its values; "" for other schemas.
 */
export function argumentNotes(shape: InputShape): string {
  const keys = keysOf(shape);
  if (!keys) return shape.enum ? valuesOf(shape.enum) : "";
  const required = new Set(shape.required ?? []);
  return keys
    .map((key) => {
      const field = shape.properties![key]!;
      const kind = [field.enum ? valuesOf(field.enum) : field.type, required.has(key) ? undefined : "optional"].filter(Boolean).join(", ");
      return `${key}${kind ? ` (${kind})` : ""}${field.description ? `: ${field.description}` : ""}`;
    })
    .join("; ");
}

function valuesOf(values: readonly unknown[]): string {
  // A value that could be misread in the list (a comma, a quote, spaces at its ends) is quoted
  const plain = (value: unknown) => typeof value === "string" && !/[,"]|^\s|\s$/.test(value) && value !== "";
  return `one of ${values.map((value) => (plain(value) ? value : JSON.stringify(value))).join(", ")}`;
}

/** A text argument read for a schema: the candidate input, or why it cannot be one. */
export type ReadArgument = { ok: true; input: unknown } | { ok: false; error: string };

/**
 * Reads `argument` for a schema of shape `shape`: a JSON object as it is, and
 * for object schemas also the natural form, values in key order (`2, 3`),
 * by name (`a=2, b=3`) or both (`2, b=3`); other schemas take JSON.
 * The caller validates what comes back against the schema.
 */
export function readArgument(shape: InputShape, argument: string): ReadArgument {
  const text = argument.trim();
  const json = parseJson(text);
  const keys = keysOf(shape);
  if (!keys) return json.ok ? json : { ok: false, error: "expected JSON" };
  if (json.ok && isPlainObject(json.input)) return json;
  const read = namedArguments(text, keys, shape.properties!);
  const missing = read.ok ? (shape.required ?? []).filter((key) => !(key in (read.input as object))) : [];
  return missing.length > 0 ? { ok: false, error: `missing ${missing.join(", ")} (arguments: ${keys.join(", ")})` } : read;
}

function namedArguments(text: string, keys: readonly string[], fields: Record<string, InputShape>): ReadArgument {
  const input: Record<string, unknown> = {};
  if (text === "") return { ok: true, input };
  const value = (key: string, raw: string) => (input[key] = typedValue(raw, fields[key]!));
  // One argument takes the whole text, commas and all (a program, a sentence).
  if (keys.length === 1) {
    const key = keys[0]!;
    const named = keywordOf(text);
    value(key, named?.key === key ? named.raw : text);
    return { ok: true, input };
  }
  const parts = splitTopLevel(text);
  let positional = 0;
  for (const part of parts) {
    const named = keywordOf(part);
    if (named) {
      if (!keys.includes(named.key)) return { ok: false, error: `no argument named ${named.key} (arguments: ${keys.join(", ")})` };
      if (named.key in input) return { ok: false, error: `${named.key} is given twice` };
      value(named.key, named.raw);
    } else {
      if (Object.keys(input).length > positional) return { ok: false, error: "a value without a name follows a named one" };
      if (positional === keys.length) return { ok: false, error: `takes ${keys.length} arguments (${keys.join(", ")}), got ${parts.length}` };
      value(keys[positional++]!, part);
    }
  }
  return { ok: true, input };
}

const KEYWORD = /^([A-Za-z_][\w-]*)\s*=(?!=)\s*([\s\S]*)$/;

function keywordOf(part: string): { key: string; raw: string } | undefined {
  const match = KEYWORD.exec(part);
  return match ? { key: match[1]!, raw: match[2]! } : undefined;
}

/** A string field takes the text (quotes optional); other fields read it as JSON (`2`, `true`, `[1, 2]`), else as text for the schema to judge. */
function typedValue(raw: string, field: InputShape): unknown {
  const text = raw.trim();
  const json = parseJson(text);
  if (field.type === "string") return json.ok && typeof json.input === "string" ? json.input : unquote(text);
  return json.ok ? json.input : text;
}

const QUOTES = new Set(['"', "'", "`"]);
const OPENERS: Record<string, string> = { "[": "]", "{": "}", "(": ")" };

/** Splits on commas outside quotes and brackets; an empty text has no parts. */
function splitTopLevel(text: string): string[] {
  if (text === "") return [];
  const parts: string[] = [];
  const closers: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote) {
      if (char === "\\") i++;
      else if (char === quote) quote = undefined;
    } else if (QUOTES.has(char)) quote = char;
    else if (OPENERS[char]) closers.push(OPENERS[char]);
    else if (char === closers.at(-1)) closers.pop();
    else if (char === "," && closers.length === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

function unquote(text: string): string {
  const first = text[0];
  return text.length >= 2 && first !== undefined && QUOTES.has(first) && text.at(-1) === first ? text.slice(1, -1) : text;
}

function parseJson(text: string): ReadArgument {
  try {
    return { ok: true, input: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: "expected JSON" };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
