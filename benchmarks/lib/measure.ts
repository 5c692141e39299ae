// Timing and statistics for the benchmark suite. Absolute times on shared machines are noisy, so
// every scenario reports several repetitions (median, min–max) and ratios measured in the same run.

/** Several measurements of one quantity. */
export type Sample = { readonly median: number; readonly min: number; readonly max: number; readonly n: number };

/** Summarise measurements. */
export function summarize(values: readonly number[]): Sample {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median, min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0, n: sorted.length };
}

/** The time `fn` takes, in nanoseconds. */
export async function timeNs(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0);
}

/** Run `fn` `reps` times and summarise what it returns. */
export async function repeat(reps: number, fn: () => Promise<number> | number): Promise<Sample> {
  const values: number[] = [];
  for (let i = 0; i < reps; i++) values.push(await fn());
  return summarize(values);
}

/** One row of the report. */
export type Row = {
  readonly scenario: string;
  readonly variant: string;
  readonly unit: string;
  readonly sample: Sample;
  /** Ratios to other rows of the same run, by their variant name. */
  readonly ratios?: Readonly<Record<string, number>>;
  readonly note?: string;
};

/** Progress on stderr (stdout carries only the table or JSON). */
export function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}
