import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Vitest global setup: the run's temporary folders (the tests' and the commands they
 * spawn) all go under one root, removed when the run ends, so /tmp does not fill up.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "react-rl-test-run-"));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
