// warden/plugin: what a plugin's code sees inside its isolate, for the author's editor and type
// checker. Nothing here exists at run time: import it with `import type` only, or list it in
// tsconfig.json ("types": ["warden/plugin"]) to get the globals. The isolate has no DOM and no
// Node.js: use "lib": ["ES2023"] and no other "types", so the editor offers only what is there.
// Values that arrive as JSON from outside the plugin (its config, channel messages, another
// plugin's answer) are `any` by default, as JSON.parse's are: ordinary JavaScript plugins check
// cleanly, and a TypeScript author makes them precise with a type argument
// (`subscribe<{ text: string }>(...)`) or by declaring the config's shape once:
//   declare global { interface PluginConfig { service: string } }
// Kept honest by test/plugin-types.test.ts, which type-checks every example plugin and
// the `warden new` templates against this file.
/* eslint-disable @typescript-eslint/no-explicit-any -- JSON from outside is `any` by default, as above */

/** The codes a failed Warden call or entry call carries: the contract's codes, then an operation's own. */
export type WardenErrorCode =
  | "PERMISSION_DENIED"
  | "MANIFEST_INVALID"
  | "ENTRY_NOT_FOUND"
  | "BAD_INPUT"
  | "PLUGIN_ERROR"
  | "TIMEOUT"
  | "CPU_LIMIT"
  | "MEMORY_LIMIT"
  | "RESULT_INVALID"
  | "DEPENDENCY_ERROR"
  | "BUSY"
  | "QUARANTINED"
  | "ENGINE_RESTARTED"
  | OperationErrorCode;

/** A capability call's failure that is not a denial; the error's `name` is the same word. */
export type OperationErrorCode =
  "NotFound" | "IsDirectory" | "NotDirectory" | "AlreadyExists" | "NotEmpty" | "AccessDenied" | "TooLarge" | "InvalidData" | "Busy" | "Timeout" | "ConnectionFailed" | "TooManyRedirects" | "Io";

/** An Error a Warden call rejects with: branch on `code` (`name` is "PermissionDenied" for a denial). */
export interface WardenError extends Error {
  readonly code: WardenErrorCode;
}

/** A value an entry may take or return: JSON, nothing else (a result must be JSON-compatible). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Who called an entry: "host", or the id of the plugin that called it through Warden.plugins.call. */
export interface EntryContext {
  readonly caller: string;
}

/** An exported function is an entry: it gets the (JSON) input and who called it; it returns JSON. */
export type Entry<I = unknown, O = unknown> = (input: I, context: EntryContext) => O | Promise<O>;

/** The hooks a plugin may export (names reserved: they are never entries). */
export interface Hooks<C = PluginConfig> {
  /** After the module loaded and the config was validated; its own startup budget. */
  onLoad?(): void | Promise<void>;
  /** Before the sandbox is ended, whatever this does. */
  onUnload?(): void | Promise<void>;
  /** After Warden.config was swapped for the validated new config. */
  onConfigChange?(next: C, previous: C): void | Promise<void>;
  /** Polled by a host; `false` or a throw marks the plugin degraded. */
  health?(): boolean | void | Promise<boolean | void>;
}

/** An entry of a directory listing. */
export interface DirEntry {
  readonly name: string;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly isSymlink: boolean;
}

/** What Warden.fs.stat answers. */
export interface FileInfo {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly isSymlink: boolean;
  readonly size: number;
  readonly mtimeMs: number;
}

/** Files, under permissions.read (readTextFile, readDir, stat) and permissions.write (the rest). Relative paths resolve against the plugin directory. */
export interface WardenFs {
  /** The file's text (UTF-8), at most limits.readBytes. */
  readTextFile(path: string): Promise<string>;
  /** Create or truncate (or append to) a file. `create: false` requires that it exists. */
  writeTextFile(path: string, data: string, options?: { append?: boolean; create?: boolean }): Promise<void>;
  readDir(path: string): Promise<DirEntry[]>;
  stat(path: string): Promise<FileInfo>;
  mkdir(path: string, options?: { recursive?: boolean }): Promise<void>;
  /** A symlink is removed, never followed. */
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
}

/** Options of Warden.exec. */
export interface ExecOptions {
  /** Must be inside a read grant; default: the plugin directory. */
  cwd?: string;
  /** The child's whole environment (plus PATH); names that make a command load code are refused. */
  env?: Record<string, string>;
  stdin?: string;
}

/** A finished command: its exit code (or the signal that ended it) and its output as text. */
export interface ExecResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A message a channel handler receives. `from` is stamped by the host: the sender's id or "host". */
export interface ChannelMessage<T = any> {
  readonly topic: string;
  readonly data: T;
  readonly from: string;
  /** Messages dropped from this subscription's queue before this one (it fell behind). */
  readonly dropped?: number;
}

/** A live subscription. */
export interface Subscription {
  readonly topic: string;
  unsubscribe(): Promise<void>;
}

/** A descriptor for Warden.permissions.query; without a value it asks whether the whole kind is granted. */
export type PermissionDescriptor =
  | { name: "read" | "write"; path?: string }
  | { name: "net"; host?: string }
  | { name: "exec"; command?: string }
  | { name: "env"; variable?: string }
  | { name: "channels"; topic?: string; direction: "publish" | "subscribe" }
  | { name: "plugins"; id?: string };

/** Whether a permission is granted, and by which rule of plugin.json. */
export interface PermissionStatus {
  readonly state: "granted" | "denied";
  readonly rule?: string;
  readonly source?: string;
}

/** The `Warden` global: every capability is an async call checked against plugin.json on the host. */
export interface WardenApi<C = PluginConfig> {
  readonly fs: WardenFs;
  /** Run a granted command (permissions.exec): no shell, arguments passed as they are. */
  exec(command: string, args?: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  readonly env: {
    /** The variable's value, or undefined if granted but unset; an ungranted name (or one over 256 characters) is PERMISSION_DENIED. */
    get(name: string): Promise<string | undefined>;
  };
  readonly channels: {
    /** Publish JSON (at most limits.messageBytes) to a topic under permissions.channels.publish. */
    publish(topic: string, data: unknown): Promise<{ delivered: number }>;
    /** Subscribe a handler to a topic pattern under permissions.channels.subscribe. */
    subscribe<T = any>(topic: string, handler: (message: ChannelMessage<T>) => void | Promise<void>): Promise<Subscription>;
  };
  readonly permissions: {
    query(descriptor: PermissionDescriptor): Promise<PermissionStatus>;
  };
  readonly plugins: {
    /** Call another plugin's entry (permissions.plugins); it sees this plugin's id as its caller. */
    call<T = any>(id: string, entry: string, input?: unknown): Promise<T>;
  };
  /** This plugin's id and version. */
  readonly plugin: { readonly id: string; readonly version: string };
  /** The config, validated against plugin.json's `config` schema (frozen). */
  readonly config: C;
}

/** What fetch accepts: the methods, headers, bodies and redirect modes warden forwards. */
export interface RequestInit {
  method?: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" | (string & {});
  headers?: Headers | Record<string, string> | Iterable<readonly [string, string]>;
  body?: string | URLSearchParams | ArrayBuffer | ArrayBufferView | null;
  redirect?: "follow" | "manual" | "error";
  /** Aborting it rejects the fetch with the signal's reason and stops the request in the host. */
  signal?: AbortSignal | null;
}

/** The plugin's console: lines go to the host's log, escaped and rate-limited. */
export interface PluginConsole {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  trace(...args: unknown[]): void;
}

declare global {
  /** The config's shape: declare its fields here (declaration merging) to type Warden.config. */
  interface PluginConfig {
    readonly [key: string]: any;
  }
  /** The capability API: every call is checked against plugin.json and audited. */
  const Warden: WardenApi;
  /** fetch over permissions.net: http and https only, every redirect hop checked again. */
  function fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  const console: PluginConsole;
  /** At most 1000 timers pending per plugin; a string callback is refused. */
  function setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;
  function clearTimeout(id: number | undefined): void;
  /** One of the plugin's timers, re-armed each time it fires (at least 1 ms apart). */
  function setInterval<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;
  function clearInterval(id: number | undefined): void;
  function queueMicrotask(callback: () => void): void;
  /** Base64 of a string of Latin-1 characters (one per byte). */
  function btoa(data: string): string;
  function atob(data: string): string;
  function structuredClone<T>(value: T): T;
  const crypto: {
    /** Filled by the host; the time it takes counts as the plugin's CPU (cpuMs, cpuMsPerMinute). */
    getRandomValues<T extends Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array>(array: T): T;
    randomUUID(): `${string}-${string}-${string}-${string}-${string}`;
  };
  // The web classes warden installs (fetch's Headers and Response, the host's WHATWG URL parser, UTF-8 codecs).
  /** Headers of a request or response (names compared in lower case). */
  class Headers implements Iterable<[string, string]> {
    constructor(init?: Headers | Record<string, string> | Iterable<readonly [string, string]>);
    append(name: string, value: string): void;
    set(name: string, value: string): void;
    delete(name: string): void;
    get(name: string): string | null;
    has(name: string): boolean;
    forEach(fn: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void;
    entries(): IterableIterator<[string, string]>;
    keys(): IterableIterator<string>;
    values(): IterableIterator<string>;
    [Symbol.iterator](): IterableIterator<[string, string]>;
  }

  /** A fetch answer; the body can be read once. */
  class Response {
    constructor(
      body?: string | ArrayBuffer | ArrayBufferView | null,
      init?: { status?: number; statusText?: string; headers?: Headers | Record<string, string> | Iterable<readonly [string, string]> },
    );
    readonly status: number;
    readonly statusText: string;
    readonly ok: boolean;
    readonly headers: Headers;
    readonly url: string;
    readonly redirected: boolean;
    readonly bodyUsed: boolean;
    text(): Promise<string>;
    json(): Promise<any>;
    arrayBuffer(): Promise<ArrayBuffer>;
  }

  /** WHATWG URL (the host's parser). */
  class URL {
    constructor(input: string | URL, base?: string | URL);
    static canParse(input: string, base?: string): boolean;
    href: string;
    readonly origin: string;
    protocol: string;
    username: string;
    password: string;
    host: string;
    hostname: string;
    port: string;
    pathname: string;
    search: string;
    readonly searchParams: URLSearchParams;
    hash: string;
    toString(): string;
    toJSON(): string;
  }

  /** WHATWG URLSearchParams. */
  class URLSearchParams implements Iterable<[string, string]> {
    constructor(init?: string | URLSearchParams | Record<string, string> | Iterable<readonly [string, string]>);
    readonly size: number;
    append(name: string, value: string): void;
    delete(name: string): void;
    get(name: string): string | null;
    getAll(name: string): string[];
    has(name: string): boolean;
    set(name: string, value: string): void;
    sort(): void;
    forEach(fn: (value: string, name: string, params: URLSearchParams) => void, thisArg?: unknown): void;
    keys(): IterableIterator<string>;
    values(): IterableIterator<string>;
    entries(): IterableIterator<[string, string]>;
    [Symbol.iterator](): IterableIterator<[string, string]>;
    toString(): string;
  }

  /** An event dispatched by an EventTarget (listeners run synchronously, in order). */
  class Event {
    constructor(type: string, init?: { bubbles?: boolean; cancelable?: boolean; composed?: boolean });
    readonly type: string;
    readonly target: EventTarget | null;
    readonly currentTarget: EventTarget | null;
    readonly srcElement: EventTarget | null;
    readonly bubbles: boolean;
    readonly cancelable: boolean;
    readonly composed: boolean;
    readonly defaultPrevented: boolean;
    readonly timeStamp: number;
    readonly isTrusted: boolean;
    readonly eventPhase: number;
    preventDefault(): void;
    stopPropagation(): void;
    stopImmediatePropagation(): void;
    composedPath(): EventTarget[];
  }

  /** Something events are dispatched to; a listener that throws is logged and the others still run. */
  class EventTarget {
    constructor();
    addEventListener(
      type: string,
      listener: ((event: Event) => void) | { handleEvent(event: Event): void } | null,
      options?: boolean | { capture?: boolean; once?: boolean; signal?: AbortSignal },
    ): void;
    removeEventListener(type: string, listener: ((event: Event) => void) | { handleEvent(event: Event): void } | null, options?: boolean | { capture?: boolean }): void;
    dispatchEvent(event: Event): boolean;
  }

  /** The web's error for aborts (AbortError), timeouts (TimeoutError) and bad base64 (InvalidCharacterError). */
  class DOMException extends Error {
    constructor(message?: string, name?: string);
    readonly code: number;
  }

  /** Made by AbortController, AbortSignal.abort(), .timeout() or .any(); not constructible. */
  class AbortSignal extends EventTarget {
    private constructor();
    readonly aborted: boolean;
    readonly reason: any;
    onabort: ((this: AbortSignal, event: Event) => void) | null;
    throwIfAborted(): void;
    static abort(reason?: unknown): AbortSignal;
    /** Aborts with a TimeoutError after `ms` (one of the plugin's timers). */
    static timeout(ms: number): AbortSignal;
    static any(signals: Iterable<AbortSignal>): AbortSignal;
  }

  class AbortController {
    constructor();
    readonly signal: AbortSignal;
    abort(reason?: unknown): void;
  }

  /** UTF-8 only. */
  class TextEncoder {
    readonly encoding: "utf-8";
    encode(input?: string): Uint8Array;
    encodeInto(input: string, dest: Uint8Array): { read: number; written: number };
  }

  /** UTF-8 only. */
  class TextDecoder {
    constructor(label?: "utf-8" | "utf8", options?: { fatal?: boolean; ignoreBOM?: boolean });
    readonly encoding: "utf-8";
    readonly fatal: boolean;
    readonly ignoreBOM: boolean;
    decode(input?: ArrayBuffer | ArrayBufferView): string;
  }
}
