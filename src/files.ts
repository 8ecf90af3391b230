/** Files: the user's as the CLI and loaders read them (what the file system refuses, in the user's words), and ours written so that a crash loses none. */
import { rmSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { getSystemErrorMap } from "node:util";
import { z } from "zod";
import { describeZodError, UserError } from "./errors.ts";

/** What the file system refuses for reasons of the user's machine (a permission, a full disk, a file in the way). */
const REFUSALS = new Set(["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "EEXIST", "ENOTDIR", "EISDIR", "ENOENT", "ENAMETOOLONG"]);

/** Such a refusal in one line (`cannot mkdir runs: permission denied`); undefined for any other error. */
export function fileSystemRefusal(error: unknown): string | undefined {
  const { code, syscall, path } = error as NodeJS.ErrnoException;
  if (!(error instanceof Error) || code === undefined || !REFUSALS.has(code) || syscall === undefined || path === undefined) return undefined;
  return `cannot ${syscall} ${path}: ${reasonOf(error)}`;
}

/** Whether anything (a file, a folder) is at `path`. */
export function pathExists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** A text file the user named; `what` names it when it is missing (`world file not found: ...`). */
export async function readTextFile(path: string, what = "file"): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === "ENOENT") throw new UserError(`${what} not found: ${path}`);
    if (code === "EISDIR") throw new UserError(`${path} is a folder, not a file`);
    throw new UserError(`cannot read ${path}: ${reasonOf(error as NodeJS.ErrnoException)}`, { cause: error });
  }
}

/** A JSON object of any keys: a config file's, a run's config.json. */
export const JsonObjectSchema = z.record(z.string(), z.unknown(), { error: "expected a JSON object" });

/** JSON the user gave, as `schema` takes it; `where` (a file, a line of one) begins the UserError for either problem. */
export function parseJson<S extends z.ZodType>(text: string, where: string, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // A log or a dataset's JSONL where one value belongs is the likely mistake: said as such, not as a position
    if (isJsonLines(text)) throw new UserError(`${where}: holds one JSON value per line (JSONL: a log or a dataset?), not the one JSON value expected here`);
    throw new UserError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new UserError(`${where}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

function isJsonLines(text: string): boolean {
  const [first, second] = text.trim().split("\n");
  if (second === undefined) return false;
  try {
    JSON.parse(first!);
    return true;
  } catch {
    return false;
  }
}

/** A JSON file the user named, as `schema` takes it; `what` names it when it is missing. */
export async function readJsonFile<S extends z.ZodType>(path: string, schema: S, what = "file"): Promise<z.infer<S>> {
  return parseJson(await readTextFile(path, what), path, schema);
}

/** The folders this process has claimed, released at exit (Ctrl-C included) if not before. */
const claimed = new Set<string>();
process.once("exit", () => claimed.forEach((lock) => rmSync(lock, { force: true })));

/**
 * Makes a run folder (and its parents) if missing, and claims it for this process until
 * `release` (or its exit). A folder the file system refuses (a file at its path) is a
 * UserError in its words. A second react-rl
 * process writing into it would log every episode twice, so one while another live process
 * holds it is refused. A claim left by a process that died is taken over; this process's own
 * is its to take again.
 */
export async function claimFolder(dir: string): Promise<{ release(): Promise<void> }> {
  await mkdir(dir, { recursive: true }).catch((error: unknown) => {
    const refusal = fileSystemRefusal(error);
    throw refusal ? new UserError(refusal, { cause: error }) : error;
  });
  const lock = join(dir, ".react-rl.lock");
  for (;;) {
    const made = await writeFile(lock, `${process.pid}\n`, { flag: "wx" }).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === "EEXIST" ? false : Promise.reject(error)),
    );
    const holder = made ? process.pid : Number((await readFile(lock, "utf8").catch(() => "")).trim());
    if (holder === process.pid) {
      claimed.add(lock);
      return { release: () => rm(lock, { force: true }).then(() => void claimed.delete(lock)) };
    }
    if (isAlive(holder)) throw new UserError(`${dir} is in use by another react-rl process (pid ${holder}): wait for it to end, or stop it`);
    await rm(lock, { force: true });
  }
}

/** Whether a process of this id runs (one this user may not signal runs too). */
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The system's words for an error (`permission denied`), else its message. */
function reasonOf(error: NodeJS.ErrnoException): string {
  return (error.errno !== undefined && getSystemErrorMap().get(error.errno)?.[1]) || error.message;
}

/**
 * Writes a whole file so that readers see the old one or the new one, never half, even after a power cut.
 * Its folder is made if missing (`--out runs/x.json` on a fresh clone, which has no `runs/`).
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeDurably(tmp, text);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }); // a failed write (a full disk, a folder at path) leaves no stray file
    throw error;
  }
  await syncPath(dirname(path)); // the rename itself, or a power cut could bring back the old file
}

/** Opens `path` with `flags`, uses it, and closes it whatever happens. */
async function withFile(path: string, flags: string, use: (handle: FileHandle) => Promise<unknown>): Promise<void> {
  const handle = await open(path, flags);
  try {
    await use(handle);
  } finally {
    await handle.close();
  }
}

/** Flushes a file, or a folder's entries (so renames in it last), to disk. */
export function syncPath(path: string): Promise<void> {
  return withFile(path, "r", (handle) => handle.sync());
}

/** Writes a file and flushes it to disk before returning. */
export function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  return withFile(path, "w", async (handle) => {
    await handle.writeFile(data);
    await handle.sync();
  });
}

/** Appends a line and flushes it to disk before returning: logs lose at most the line being written. */
export function appendDurably(path: string, line: string): Promise<void> {
  return withFile(path, "a", async (handle) => {
    await handle.write(line);
    await handle.datasync();
  });
}
