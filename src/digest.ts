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
