// The exec check, and the only maker of CheckedCommand. A command name is resolved through the
// host's PATH and must resolve to the very executable a grant resolved to when the plugin loaded;
// the exec port runs nothing but a CheckedCommand, so the program that was checked is the program
// that is spawned, in the directory that was checked. Code outside this module cannot construct one.
import { isAbsolute, normalize } from "node:path";
import type { GrantList } from "./grants.ts";
import { CheckedPath } from "./path-check.ts";

/** One exec grant, resolved at load: what was written, where, and the executable it names (null: not found). */
export type ExecRule = { readonly source: string; readonly field: string; readonly path: string | null };

/** What the check asks of the host about a command it has not judged yet: where it resolves. */
export interface CommandLookups {
  /** The absolute path `name` resolves to through the host's PATH (never the plugin's), or null. */
  which(name: string): Promise<string | null>;
  /** Whether `path` is an executable regular file; its real path if so. */
  executable(path: string): Promise<string | null>;
}

// The one way to make a CheckedCommand; assigned by the class's static block, reachable only here.
let mint: (file: string, argv0: string, rule: string, source: string, cwd: string) => CheckedCommand;

/** A program that passed the exec check: the absolute path that will run. Only this module makes one. */
export class CheckedCommand {
  readonly #brand = true;
  /** The absolute path of the executable to spawn (the one the grant resolved to). */
  readonly file: string;
  /** The command as the plugin wrote it (the child's argv[0]). */
  readonly argv0: string;
  /** The manifest rule that granted it, as written. */
  readonly rule: string;
  /** Where that rule is in plugin.json (permissions.exec[0]). */
  readonly source: string;
  /** The directory it runs in: the plugin's own, or the real path of one the read check passed (in()). */
  readonly cwd: string;
  private constructor(file: string, argv0: string, rule: string, source: string, cwd: string) {
    this.file = file;
    this.argv0 = argv0;
    this.rule = rule;
    this.source = source;
    this.cwd = cwd;
  }
  static {
    mint = (file, argv0, rule, source, cwd) => new CheckedCommand(file, argv0, rule, source, cwd);
  }
  /** The same command, to run in a directory the path check passed (its real path at check time). */
  in(where: CheckedPath): CheckedCommand {
    // The type says so; this says so at run time too, for a look-alike smuggled past the compiler.
    if (!CheckedPath.is(where)) throw new TypeError("CheckedCommand.in: the working directory must be a CheckedPath from the path check");
    return mint(this.file, this.argv0, this.rule, this.source, where.real);
  }
  /** True for instances made by this module (a structural look-alike is not a CheckedCommand). */
  static is(value: unknown): value is CheckedCommand {
    return typeof value === "object" && value !== null && #brand in value;
  }
}

/** The answer to "may this command run": the checked command, or what it resolved to (null: nothing). */
export type CommandDecision = { readonly ok: true; readonly command: CheckedCommand } | { readonly ok: false; readonly resolved: string | null };

/** The exec check of one plugin: its grants resolved once, and the decision for one command. */
export type CommandCheck = {
  /** Every exec grant as resolved at load. */
  readonly rules: readonly ExecRule[];
  /** Resolve `cmd` (a name or an absolute path) and match it against the grants. */
  decide(cmd: string): Promise<CommandDecision>;
};

/**
 * Build the exec check for the grants `grants` (permissions.exec); resolves every granted command
 * name now. A command it passes runs in `home` (the plugin's directory) unless given another
 * checked directory with CheckedCommand.in().
 */
export async function createCommandCheck(lookups: CommandLookups, grants: GrantList | undefined, home: string): Promise<CommandCheck> {
  const resolve = (cmd: string): Promise<string | null> => (isAbsolute(cmd) ? lookups.executable(normalize(cmd)) : lookups.which(cmd));
  const rules: ExecRule[] =
    grants === undefined || grants === true ? [] : await Promise.all(grants.map(async (source, i) => ({ source, field: `permissions.exec[${i}]`, path: await resolve(source) })));
  return {
    rules,
    async decide(cmd) {
      const resolved = await resolve(cmd);
      if (resolved === null) return { ok: false, resolved: null };
      if (grants === true) return { ok: true, command: mint(resolved, cmd, "true", "permissions.exec", home) };
      const rule = rules.find((r) => r.path !== null && r.path === resolved);
      return rule ? { ok: true, command: mint(resolved, cmd, rule.source, rule.field, home) } : { ok: false, resolved };
    },
  };
}
