import type { z } from "zod";

/** A mistake the user can fix (bad flag, bad file, missing key): the CLI prints its message, never a stack. */
export class UserError extends Error {
  override name = "UserError";
}

/**
 * A policy's backend failed one request after its retries (an overloaded or
 * erroring server, a malformed reply, a timeout): that episode failed, but
 * others may still succeed. A one-line message, printed without a stack.
 */
export class PolicyError extends Error {
  override name = "PolicyError";
}

/** The first problem zod found, on one line: `context.0.1: Invalid input: ...`; `at` names the value checked (an option). */
export function describeZodError(error: z.ZodError, at?: string): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  const path = [...(at === undefined ? [] : [at]), ...issue.path];
  return path.length > 0 ? `${path.join(".")}: ${issue.message}` : issue.message;
}
