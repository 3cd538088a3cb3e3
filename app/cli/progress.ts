// A one-line progress bar for terminals. On anything else it stays silent: the caller prints
// one plain line per unit of work instead, which is what logs want.

const WIDTH = 30;
const REDRAW_MS = 100;

export class ProgressBar {
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
    private readonly total: number,
  ) {
    this.enabled = stream.isTTY === true;
  }

  /**
   * Redraws with `done` of `total` finished: at most 10 times a second, but always at the end
   * and when `now` is set (a status that stays up for a long step).
   */
  update(done: number, status: string, now = false): void {
    if (!this.enabled) return;
    const time = Date.now();
    if (!now && done < this.total && time - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = time;
    const filled = Math.round((WIDTH * done) / this.total);
    const bar = '#'.repeat(filled) + '.'.repeat(WIDTH - filled);
    const line = `${this.label} [${bar}] ${done}/${this.total} ${status}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns || 120) - 1)}\x1b[K`);
  }

  /** Clears the bar so that the next line starts clean. */
  finish(): void {
    if (this.enabled) this.stream.write('\r\x1b[K');
  }
}
