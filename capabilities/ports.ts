// The interfaces this layer needs from the outside world. core/ implements them; tests may supply
// their own. Nothing in capabilities/ touches process.env, the filesystem, DNS, sockets or child
// processes directly, so every matcher and every decision here can be tested with injected I/O.
import type { CheckedCommand, CommandLookups } from "./exec-check.ts";
import type { CheckedTarget, DnsPort } from "./net-check.ts";
import type { CheckedPath, FileInfo, PathLookups } from "./path-check.ts";

export type { CommandLookups } from "./exec-check.ts";
export type { DnsPort, ResolvedAddress } from "./net-check.ts";
export type { FileInfo, PathLookups } from "./path-check.ts";

/** Something opened whose identity can be checked after the open. */
export interface Opened {
  /** The path the kernel says this descriptor refers to (Linux: /proc/self/fd/N), or null if unknown. */
  openedPath(): Promise<string | null>;
  /** Type, size and identity from the descriptor (never from a path). */
  stat(): Promise<FileInfo>;
  close(): Promise<void>;
}

/** A file opened for reading. */
export interface OpenedFile extends Opened {
  /** Read at most `max` bytes from the start of the file. */
  read(max: number): Promise<Uint8Array>;
}

/** A file opened for writing (never truncated by the open itself: truncation follows the identity check). */
export interface OpenedWritable extends Opened {
  truncate(): Promise<void>;
  write(data: Uint8Array): Promise<void>;
}

/** A directory entry as readdir reports it (the entry itself, symlinks not followed). */
export type DirEntry = { readonly name: string; readonly isFile: boolean; readonly isDirectory: boolean; readonly isSymlink: boolean };

/**
 * A directory held open. `entry(name)` names a child of exactly this directory (Linux:
 * /proc/self/fd/N/name, which the kernel resolves through the descriptor, like openat), so an
 * operation on it cannot be redirected by renaming or swapping a parent after the check.
 */
export interface OpenedDir extends Opened {
  entry(name: string): string;
  list(): Promise<DirEntry[]>;
}

/**
 * Filesystem access as the fs capability needs it. The lookups (PathLookups) serve the check and
 * take the plain paths it judges; everything that opens, creates or removes takes a CheckedPath,
 * which only the path check makes, and acts on its real path (or on its entry in `parent`, the
 * held-open directory the capability verified to be that path's parent).
 */
export interface FsPort extends PathLookups {
  /** Open for reading without following a final symlink and without blocking on FIFOs. */
  openRead(path: CheckedPath): Promise<OpenedFile>;
  /**
   * Open for writing without following a final symlink, without blocking, never truncating.
   * Rejects with HardLinkedFileError, the file left as it was, when what it opened is a regular
   * file with more than one name (hard-links.ts says why).
   */
  openWrite(path: CheckedPath, parent: OpenedDir, o: { readonly create: boolean; readonly append: boolean }): Promise<OpenedWritable>;
  /** Open a directory without following a final symlink (its entry in `parent` if given). */
  openDir(path: CheckedPath, parent?: OpenedDir): Promise<OpenedDir>;
  /** Open the directory that holds `path`, without following a final symlink. */
  openParent(path: CheckedPath): Promise<OpenedDir>;
  mkdir(path: CheckedPath, parent: OpenedDir): Promise<void>;
  rmdir(path: CheckedPath, parent: OpenedDir): Promise<void>;
  unlink(path: CheckedPath, parent: OpenedDir): Promise<void>;
}

/** One HTTP request to a CheckedTarget, which only the net check makes. */
export type PinnedRequest = {
  /** The URL and the checked addresses the connection may go to, in order (the URL's host stays the Host header and TLS name). */
  readonly target: CheckedTarget;
  readonly method: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array | null;
  /** The most response-body bytes to accept; more is an error, not a truncation. */
  readonly maxBodyBytes: number;
  readonly signal: AbortSignal;
};

/** What came back; redirects are not followed here (the capability checks every hop). */
export type PinnedResponse = {
  readonly status: number;
  readonly statusText: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
};

/** HTTP as the net capability needs it: connects only to a CheckedTarget's addresses. Rejects with `code: "TooLarge"` past maxBodyBytes. */
export interface HttpPort {
  request(r: PinnedRequest): Promise<PinnedResponse>;
}

/** One command as exec asks for it: the program is a CheckedCommand, which only the exec check makes. */
export type ExecRun = {
  readonly command: CheckedCommand;
  readonly args: readonly string[];
  /** The child's whole environment (a Map, so no prototype can add to it). */
  readonly env: ReadonlyMap<string, string>;
  readonly stdin: Uint8Array | null;
  readonly maxOutputBytes: number;
  readonly signal: AbortSignal;
};

/** Executable lookup (for the check) and process spawning (of checked commands only) for exec. */
export interface ExecPort extends CommandLookups {
  /**
   * Run `command.file` without a shell in a new process group; kills the whole group on abort or
   * overflow. Settles only once the command has exited and its group was killed (exec counts
   * commands alive by it).
   */
  run(r: ExecRun): Promise<{ code: number | null; signal: string | null; stdout: Uint8Array; stderr: Uint8Array; overflow: boolean }>;
}

/** The environment variables the plugin could be granted. */
export interface EnvPort {
  get(name: string): string | undefined;
}

/** A message as delivered to a subscriber. `from` is stamped by the host. */
export type ChannelMessage = { readonly topic: string; readonly data: unknown; readonly from: string; readonly dropped: number };

/** The host's message bus as one plugin's capability sees it. The bus stamps the sender itself. */
export interface ChannelPort {
  publish(topic: string, data: unknown): Promise<{ delivered: number }>;
  /** Register a subscription under the plugin's own subscription id. */
  subscribe(subscriptionId: number, pattern: string): Promise<void>;
  unsubscribe(subscriptionId: number): Promise<void>;
}

/** Calls to other plugins, routed by the host, which stamps the caller. */
export interface PluginsPort {
  call(id: string, entry: string, input: unknown): Promise<unknown>;
}

/** The outside world, as every capability needs it. */
export type Ports = {
  readonly fs: FsPort;
  readonly dns: DnsPort;
  readonly http: HttpPort;
  readonly exec: ExecPort;
  readonly env: EnvPort;
  readonly channels: ChannelPort;
  readonly plugins: PluginsPort;
};

/** One audit record as this layer reports it; core adds time, sequence and hash chain. */
export type AuditEvent = {
  readonly type: "use" | "deny";
  readonly op: string;
  readonly permission: string;
  readonly value: string;
  readonly resolved?: string;
  readonly decision: "granted" | "denied";
  /** The grant that allowed it, as written in plugin.json. */
  readonly rule?: string;
  /** Where that grant is, e.g. permissions.net[1]. */
  readonly source?: string;
  readonly reason?: string;
  /** exec use: the names of the variables the plugin passed in options.env, sorted (never the values). */
  readonly envKeys?: readonly string[];
  /** exec denial by the env policy: the variable name as the plugin wrote it. */
  readonly envKey?: string;
};

/** Where capability decisions are recorded. `record` must not throw and must not block for long. */
export interface AuditSink {
  record(event: AuditEvent): void;
}

/** Per-call context the sandbox gives a capability: when the call's time runs out, and why to stop. */
export type CallContext = {
  /** Wall-clock deadline (Date.now() ms) of the call that made this operation. */
  readonly deadline: number;
  /** Aborted when the plugin is unloaded or its isolate condemned. */
  readonly signal: AbortSignal;
};
