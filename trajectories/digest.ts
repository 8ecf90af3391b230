import { shortDigest } from "../src/digest.ts";

/** Questions in a short line: their ids and texts (ids alone repeat across worlds and datasets). */
export function questionsShortDigest(tasks: readonly { id: string; question: string }[]): string {
  return shortDigest(tasks.map((task) => `${task.id}\t${task.question}\n`));
}
