/**
 * Gathers calls that arrive together into one batch, so many concurrent episodes
 * share one batched forward pass per token. Serial, a batch waits for the one
 * before it and gathers every call that arrived meanwhile (for engines that run a
 * batch to its end); overlapping, each turn of the event loop sends what arrived
 * in it at once (for engines whose running batch others join: ContinuousBatch).
 */
export class MicroBatcher<In, Out> {
  private queue: { input: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly runBatch: (inputs: In[]) => Promise<Out[]>,
    private readonly maxBatch: number,
    private readonly serial = true,
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      // Wait one turn of the event loop so callers starting together land in one batch.
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const done = this.runBatch(batch.map((b) => b.input)).then(
        (outputs) => batch.forEach((b, i) => b.resolve(outputs[i]!)),
        (error) => batch.forEach((b) => b.reject(error)),
      );
      if (this.serial) await done;
    }
    this.running = false;
  }
}
