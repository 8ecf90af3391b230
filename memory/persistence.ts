import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { syncPath } from "../src/files.ts";

// Crash-safe saves of a whole folder: each save is a numbered snapshot, written
// under a partial name, flushed to disk, then renamed into place. A crash
// mid-save leaves a partial folder that readers ignore, so the previous
// snapshot stays the one they read. One writer per folder at a time.

/** `snapshot-000042`; a save in progress is `snapshot-000042.partial-PID-TIME`. */
const SNAPSHOT = /^snapshot-(\d+)$/;
const PARTIAL = /^snapshot-\d+\.partial-/;

/**
 * Saves a new snapshot into `dir`: `fill` writes the files into the folder it
 * is given; every file there is flushed before the snapshot becomes visible.
 * Older snapshots and leftovers of interrupted saves are removed after.
 */
export async function writeSnapshot(dir: string, fill: (folder: string) => Promise<void>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { snapshots, partials } = await listSnapshots(dir);
  const name = `snapshot-${String((snapshots[0]?.number ?? 0) + 1).padStart(6, "0")}`;
  const partial = join(dir, `${name}.partial-${process.pid}-${Date.now()}`);
  await mkdir(partial);
  await fill(partial);
  for (const file of await readdir(partial)) await syncPath(join(partial, file));
  await syncPath(partial);
  await rename(partial, join(dir, name));
  await syncPath(dir);
  for (const old of [...snapshots.map((s) => s.name), ...partials]) await rm(join(dir, old), { recursive: true, force: true });
}

/** The folder of the newest complete snapshot in `dir`, if any. */
export async function latestSnapshot(dir: string): Promise<string | undefined> {
  const newest = (await listSnapshots(dir)).snapshots[0];
  return newest && join(dir, newest.name);
}

async function listSnapshots(dir: string): Promise<{ snapshots: { name: string; number: number }[]; partials: string[] }> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const snapshots = names.flatMap((name) => {
    const match = SNAPSHOT.exec(name);
    return match ? [{ name, number: Number(match[1]) }] : [];
  });
  return { snapshots: snapshots.sort((a, b) => b.number - a.number), partials: names.filter((name) => PARTIAL.test(name)) };
}
