// Errors an operation meets that are not denials (a missing file, a directory where a file was
// expected). They reach the plugin as an Error with this `name` and `code`, never as a host stack.

/** The non-denial error codes a capability can report. */
export type OperationErrorCode =
  "NotFound" | "IsDirectory" | "NotDirectory" | "AlreadyExists" | "NotEmpty" | "AccessDenied" | "TooLarge" | "InvalidData" | "Busy" | "Timeout" | "ConnectionFailed" | "TooManyRedirects" | "Io";

/** A non-denial failure of a capability call, with a code a plugin can branch on. */
export class OperationError extends Error {
  readonly code: OperationErrorCode;
  constructor(code: OperationErrorCode, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

const ERRNO: Record<string, OperationErrorCode> = {
  ENOENT: "NotFound",
  ENOTDIR: "NotDirectory",
  EISDIR: "IsDirectory",
  EEXIST: "AlreadyExists",
  EBUSY: "Busy",
  ENOTEMPTY: "NotEmpty",
  EACCES: "AccessDenied",
  EPERM: "AccessDenied",
};

/** Map a Node errno error to an OperationError with a message that names the (escaped) path. */
export function fromErrno(e: unknown, what: string): OperationError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? "";
  const mapped = ERRNO[code] ?? "Io";
  const text: Record<OperationErrorCode, string> = {
    NotFound: `${what}: no such file or directory`,
    NotDirectory: `${what}: a component of the path is not a directory`,
    IsDirectory: `${what}: is a directory`,
    AlreadyExists: `${what}: already exists`,
    Busy: `${what}: resource busy`,
    NotEmpty: `${what}: directory not empty; pass { recursive: true } to remove it with its contents`,
    AccessDenied: `${what}: the operating system refused access (${code})`,
    Timeout: `${what}: timed out`,
    ConnectionFailed: `${what}: connection failed`,
    TooManyRedirects: `${what}: too many redirects`,
    TooLarge: `${what}: too large`,
    InvalidData: `${what}: invalid data`,
    Io: `${what}: I/O error (${code || "unknown"})`,
  };
  return new OperationError(mapped, text[mapped]);
}
