import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The CLI as `npm ci` installs it. */
export const CLI_BIN = new URL("../../bin/react-rl.mjs", import.meta.url).pathname;

/** Runs the real CLI in a child process, with no OpenAI key or URL unless `env` gives one; never throws. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const environment = { ...process.env, OPENAI_API_KEY: "", OPENAI_BASE_URL: "", ...env };
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_BIN, ...args], { env: environment, maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The JSON object a command prints on its last line. */
export const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);
