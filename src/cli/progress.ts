/**
 * A one-line progress bar on stderr. On a terminal it redraws in place; in a log
 * (CI, a pipe) it prints a line at each tenth so the log stays short.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private lastTenth = -1;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, status = ""): void {
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
    const filled = total === 0 ? width : Math.round((width * done) / total);
    const seconds = (Date.now() - this.started) / 1000;
    return `${this.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${status} ${seconds.toFixed(0)}s`.trimEnd();
  }
}
