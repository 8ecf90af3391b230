import { createHash } from "node:crypto";

/**
 * Data in a short line a log or a run folder can keep (`sha256 0123456789ab`): what a
 * resumed run compares, to tell a prompt, weights or questions from others under one name.
 */
export function shortDigest(chunks: Iterable<string | Uint8Array>): string {
  const hash = createHash("sha256");
  for (const chunk of chunks) hash.update(chunk);
  return `sha256 ${hash.digest("hex").slice(0, 12)}`;
}

/** Questions in a short line: their ids and texts (ids alone repeat across worlds and datasets). */
export function questionsShortDigest(tasks: readonly { id: string; question: string }[]): string {
  return shortDigest(tasks.map((task) => `${task.id}\t${task.question}\n`));
}
