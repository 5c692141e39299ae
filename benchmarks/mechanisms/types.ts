// What every isolation mechanism offers the benchmark: create an instance of the same small plugin,
// call it (JSON in, JSON out), and let it call the host in a loop.

/** One loaded plugin under some mechanism. */
export interface Instance {
  /** One JSON-in, JSON-out call. */
  call(input: unknown): Promise<unknown>;
  /** The plugin calls the host `n` times in a loop; resolves when done. */
  hostLoop(n: number): Promise<void>;
  close(): Promise<void>;
  /** Process ids this instance runs in besides the benchmark's own (for memory figures). */
  readonly pids?: readonly number[];
}

/** A way to run the plugin. */
export interface Mechanism {
  readonly name: string;
  /** Untimed setup of what a user would already have (warden: the plugin's directory on disk). */
  prepare?(nonce: string): Promise<void>;
  /** `nonce` makes each plugin's source distinct, so no code cache hides a cold start. */
  create(nonce: string): Promise<Instance>;
}

/** The plugin, written once in plain JS; each mechanism wraps it in its own way. */
export const PLUGIN_BODY = `
function handle(input) {
  let sum = 0;
  for (const v of input.values) sum += v;
  return { name: input.name, sum, count: input.values.length };
}
`;

/** The call every scenario makes. */
export const INPUT = { name: "bench", values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] };
