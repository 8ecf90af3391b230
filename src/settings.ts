/**
 * The settings `wanted` changes from the `saved` ones a run was started with, each as
 * `key: old -> new` (JSON values; a key missing on one side reads as undefined),
 * leaving out `ignore`d keys: what resuming a run into the same folder must refuse.
 */
export function changedSettings(saved: Readonly<Record<string, unknown>>, wanted: Readonly<Record<string, unknown>>, ignore: readonly string[] = []): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(wanted)]);
  return [...keys]
    .filter((key) => !ignore.includes(key) && JSON.stringify(saved[key]) !== JSON.stringify(wanted[key]))
    .map((key) => `${key}: ${JSON.stringify(saved[key])} -> ${JSON.stringify(wanted[key])}`);
}
