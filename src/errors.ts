/** A mistake the user can fix (bad flag, bad file, missing key): the CLI prints its message, never a stack. */
export class UserError extends Error {
  override name = "UserError";
}
