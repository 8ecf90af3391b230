import { withMarker } from "../result.ts";

/** stdout and stderr as they come, in order, kept up to the limit; what comes past it is only counted. */
export class CappedOutput {
  private decoder = new TextDecoder();
  private kept = "";
  private dropped = 0;
  private max = 0;

  reset(max: number): void {
    this.decoder = new TextDecoder();
    this.kept = "";
    this.dropped = 0;
    this.max = max;
  }

  write(bytes: Uint8Array): number {
    const text = this.decoder.decode(bytes, { stream: true });
    const room = Math.max(0, this.max - this.kept.length);
    this.kept += text.slice(0, room);
    this.dropped += Math.max(0, text.length - room);
    return bytes.length;
  }

  text(): string {
    return withMarker(this.kept, this.dropped);
  }
}
