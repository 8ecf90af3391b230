/**
 * The settings `wanted` changes from the `saved` ones a run was started with, each as
 * `key: old -> new` (JSON values; a key missing on one side reads as undefined): what
 * resuming a run into the same folder must refuse. `ignore`d keys may change; a key of
 * `olderMayLack` that `saved` lacks was not recorded when it was saved, and passes too; a
 * key `identifiedBy` another (a checkpoint's path, by its weights' digest) passes when both
 * sides record that other alike: the same weights, moved.
 */
export function changedSettings(
  saved: Readonly<Record<string, unknown>>,
  wanted: Readonly<Record<string, unknown>>,
  { ignore = [], olderMayLack = [], identifiedBy = {} }: { ignore?: readonly string[]; olderMayLack?: readonly string[]; identifiedBy?: Readonly<Record<string, string>> } = {},
): string[] {
  const sameIdentity = (id: string | undefined) => id !== undefined && saved[id] !== undefined && saved[id] === wanted[id];
  const passes = (key: string) => ignore.includes(key) || (olderMayLack.includes(key) && saved[key] === undefined) || sameIdentity(identifiedBy[key]);
  const keys = new Set([...Object.keys(saved), ...Object.keys(wanted)]);
  return [...keys]
    .filter((key) => !passes(key) && JSON.stringify(saved[key]) !== JSON.stringify(wanted[key]))
    .map((key) => `${key}: ${JSON.stringify(saved[key])} -> ${JSON.stringify(wanted[key])}`);
}
