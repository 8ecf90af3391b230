import { mkdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createReadStream } from "node:fs";
import { TRAJECTORY_VERSION, TrajectorySchema, type Trajectory } from "./schema.ts";
import { describeZodError, UserError } from "../src/errors.ts";
import { appendDurably } from "../src/files.ts";
import { inWords } from "../src/options.ts";

/** A trajectory file that cannot be read: names the file and the line. */
export class TrajectoryFileError extends Error {
  override name = "TrajectoryFileError";
}

export interface ReadResult {
  trajectories: Trajectory[];
  /** True when the last line was cut short (a crash mid-write); it is ignored. */
  tornTail: boolean;
}

/** Reads a JSONL trajectory log. A torn last line is skipped; a bad line elsewhere is an error. */
export async function readTrajectories(path: string): Promise<ReadResult> {
  const trajectories: Trajectory[] = [];
  let tornTail = false;
  for await (const { line, lineNo, last } of jsonlLines(path)) {
    const parsed = parseLine(line);
    if (parsed.ok) trajectories.push(parsed.value);
    else if (last) tornTail = true;
    else throw new TrajectoryFileError(`${path}:${lineNo}: ${parsed.error}`);
  }
  return { trajectories, tornTail };
}

/** Reads a log if it exists; a missing file is an empty log. */
export async function readTrajectoriesIfAny(path: string): Promise<ReadResult> {
  const exists = await stat(path).then(() => true, () => false);
  return exists ? readTrajectories(path) : { trajectories: [], tornTail: false };
}

/** Appends trajectories one line at a time, so a crash loses at most the line being written. */
export class TrajectoryWriter {
  private queue: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string) {}

  /**
   * Opens a log for appending, first cutting off a torn last line left by a crash. A log
   * missing is made (and its folder): a run with no episode to write (an empty shard) still
   * leaves the log it reports, which merge and stats read.
   */
  static async open(path: string): Promise<TrajectoryWriter> {
    await mkdir(dirname(path), { recursive: true });
    await dropTornTail(path);
    await appendDurably(path, "");
    return new TrajectoryWriter(path);
  }

  /** Writes are serialised: concurrent episodes never interleave their lines. A trajectory the log could not read back is refused. */
  async append(trajectory: Trajectory): Promise<void> {
    const checked = TrajectorySchema.safeParse(trajectory, { error: inWords });
    if (!checked.success) throw new UserError(`not a trajectory, so not appended to ${this.path}: ${describeZodError(checked.error)}`);
    const line = `${JSON.stringify(checked.data)}\n`;
    const write = this.queue.then(() => appendDurably(this.path, line));
    // One failed write is its caller's error; later writes still go through.
    this.queue = write.catch(() => undefined);
    return write;
  }

  flush(): Promise<void> {
    return this.queue;
  }
}

async function dropTornTail(path: string): Promise<void> {
  const size = await stat(path).then((s) => s.size, () => 0);
  if (size === 0) return;
  const text = await readFile(path, "utf8");
  if (text.endsWith("\n")) return;
  const lastNewline = text.lastIndexOf("\n");
  const tail = text.slice(lastNewline + 1);
  if (parseLine(tail).ok) {
    await writeFile(path, "\n", { flag: "a" });
    return;
  }
  await truncate(path, Buffer.byteLength(text.slice(0, lastNewline + 1)));
}

type Parsed = { ok: true; value: Trajectory } | { ok: false; error: string };

function parseLine(line: string): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, error: "not valid JSON" };
  }
  const version = (json as { version?: unknown } | null)?.version;
  // A dataset file (a question with its answer and context) is the likely mistake
  if (version === undefined) return { ok: false, error: "not a trajectory: the record has no version (a dataset file? logs are what bench and collect write)" };
  if (version !== TRAJECTORY_VERSION) {
    return { ok: false, error: `trajectory version ${String(version)} is not ${TRAJECTORY_VERSION}` };
  }
  const result = TrajectorySchema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  return { ok: false, error: `${issue?.path.join(".") || "record"}: ${issue?.message}` };
}

/** Non-empty lines of a file, streamed; `last` marks a final line with no newline after it. */
async function* jsonlLines(path: string): AsyncGenerator<{ line: string; lineNo: number; last: boolean }> {
  let rest = "";
  let lineNo = 0;
  const stream = createReadStream(path, { encoding: "utf8" });
  try {
    for await (const chunk of stream) {
      rest += chunk as string;
      let newline: number;
      while ((newline = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, newline);
        rest = rest.slice(newline + 1);
        lineNo += 1;
        if (line.trim()) yield { line, lineNo, last: false };
      }
    }
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === "ENOENT") throw new TrajectoryFileError(`file not found: ${path}`);
    if (code === "EISDIR") throw new TrajectoryFileError(`${path} is a folder, not a file`);
    throw error;
  }
  if (rest.trim()) yield { line: rest, lineNo: lineNo + 1, last: true };
}
