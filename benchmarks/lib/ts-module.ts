// A TypeScript plugin module for the typescript part, generated in code so that any size can be
// measured and every run strips the same text: interfaces, generics, `satisfies`, `as`, a
// type-only import, overloads, class field modifiers, non-null assertions. Only erasable syntax
// (what warden accepts: no enum, namespace or parameter properties), and it runs: its `call` entry
// takes the benchmark's input ({ name, values }) and returns a JSON summary.

const HEADER = `import type { EntryContext } from "warden/plugin";

/** What the host sends. */
interface CallInput {
  readonly name: string;
  readonly values: readonly number[];
}

interface Reading<T extends string = string> {
  readonly sensor: T;
  readonly values: readonly number[];
  unit?: "C" | "F";
}

type Summary<T extends string> = { sensor: T; mean: number; spread: number; count: number };
type Scaled<R> = R extends Reading<infer S> ? Reading<S> & { scale: number } : never;
`;

/** One unit of the module, numbered `i` so that every unit declares its own names. */
function unit(i: number): string {
  return `
const LIMITS_${i} = { low: ${i % 7}, high: ${100 + i} } as const satisfies Record<string, number>;

export function summarize${i}<T extends string>(r: Reading<T>, scale: number = 1): Summary<T> {
  let sum: number = 0;
  let lo = Infinity as number;
  let hi = -Infinity as number;
  for (const v of r.values as readonly number[]) {
    const x: number = Math.min(LIMITS_${i}.high, Math.max(LIMITS_${i}.low, v * scale));
    sum += x;
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  return { sensor: r.sensor, mean: r.values.length > 0 ? sum / r.values.length : 0, spread: hi - lo, count: r.values.length } satisfies Summary<T>;
}

export function pick${i}(xs: readonly number[], n: number): number[];
export function pick${i}(xs: readonly number[]): number[];
export function pick${i}(xs: readonly number[], n?: number): number[] {
  return xs.slice(0, n ?? ${1 + (i % 5)}) as number[];
}

export class Window${i}<T> {
  private readonly items: T[] = [];
  public limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  push(item: T): this {
    this.items.push(item);
    if (this.items.length > this.limit) this.items.shift();
    return this;
  }
  last(): T | undefined {
    return this.items.length > 0 ? this.items[this.items.length - 1]! : undefined;
  }
}
`;
}

const ENTRY = `
/** The benchmark's entry: { name, values } in, a summary out. */
export function call(input: CallInput, context?: EntryContext): Summary<string> & { caller: string } {
  const scaled = { sensor: input.name, values: input.values, scale: 1 } as Scaled<Reading>;
  const window = new Window0<number>(3);
  for (const v of pick0(input.values, input.values.length)) window.push(v);
  return { ...summarize0(scaled, scaled.scale), caller: context?.caller ?? "host" };
}
`;

/** A TypeScript module of about `targetBytes` (never less), the same text for the same arguments; `nonce` adds a comment that makes it distinct. */
export function typescriptModule(targetBytes: number, nonce?: string): string {
  let text = HEADER;
  for (let i = 0; text.length + ENTRY.length < targetBytes; i++) text += unit(i);
  if (!text.includes("summarize0")) text += unit(0);
  text += ENTRY;
  return nonce === undefined ? text : `${text}// ${nonce}\n`;
}
