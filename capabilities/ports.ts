// The interfaces this layer needs from the outside world. core/ implements them; tests may supply
// their own. Nothing in capabilities/ touches process.env, the filesystem or the network directly.

/** A file opened for reading, whose identity can be checked after the open. */
export interface OpenedFile {
  /** The path the kernel says this descriptor refers to (Linux: /proc/self/fd/N), or null if unknown. */
  openedPath(): Promise<string | null>;
  /** Type and size of the opened file, from the descriptor (never from a path). */
  stat(): Promise<{ isFile: boolean; isDirectory: boolean; size: number; dev: number; ino: number }>;
  /** Read at most `max` bytes from the start of the file. */
  read(max: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Filesystem access as the fs capability needs it. */
export interface FsPort {
  /** The real path (symlinks resolved); rejects with an errno error (ENOENT, ENOTDIR, ELOOP, ...). */
  realpath(path: string): Promise<string>;
  /** The target of `path` if it is a symbolic link (as written in the link), else null. */
  readlinkIfSymlink(path: string): Promise<string | null>;
  /** Identity of a path without following a final symlink (used where /proc/self/fd is missing). */
  identity(path: string): Promise<{ dev: number; ino: number }>;
  /** Open for reading without following a final symlink and without blocking on FIFOs. */
  openRead(path: string): Promise<OpenedFile>;
}

/** One audit record as this layer reports it; core adds time, sequence and hash chain. */
export type AuditEvent = {
  readonly type: "use" | "deny";
  readonly op: string;
  readonly permission: string;
  readonly value: string;
  readonly resolved?: string;
  readonly decision: "granted" | "denied";
  readonly rule?: string;
  readonly reason?: string;
};

/** Where capability decisions are recorded. `record` must not throw and must not block for long. */
export interface AuditSink {
  record(event: AuditEvent): void;
}
