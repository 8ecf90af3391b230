/**
 * A one-line progress bar on stderr, with the rate and the time left. On a terminal it
 * redraws in place; in a log (CI, a pipe) it prints a line at each tenth so the log stays short.
 */
export class ProgressBar {
  private readonly started = Date.now();
  /** The first count seen, and when: the rate counts from there, not work a resumed run had already done. */
  private first: { done: number; at: number } | undefined;
  private lastTenth = -1;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, status = ""): void {
    this.first ??= { done, at: Date.now() };
    const line = this.render(done, total, status);
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K`);
      return;
    }
    const tenth = total === 0 ? 10 : Math.floor((10 * done) / total);
    if (tenth === this.lastTenth) return;
    this.lastTenth = tenth;
    this.stream.write(`${line}\n`);
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write("\n");
  }

  private render(done: number, total: number, status: string): string {
    const width = 24;
    const filled = total === 0 ? width : Math.round((width * Math.min(done, total)) / total);
    const now = Date.now();
    const seconds = (now - this.started) / 1000;
    const rate = now > this.first!.at ? (done - this.first!.done) / ((now - this.first!.at) / 1000) : 0;
    const pace = rate > 0 ? ` ${rate >= 1 ? `${rate.toPrecision(3)}/s` : `${(1 / rate).toPrecision(3)} s each`}` : "";
    const left = rate > 0 && done < total ? ` eta ${duration((total - done) / rate)}` : "";
    return `${this.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}${status && ` ${status}`}${pace} ${duration(seconds)}${left}`;
  }
}

/** 42s, 3m05s, 1h02m. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** `1 round`, `3 rounds`. */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
