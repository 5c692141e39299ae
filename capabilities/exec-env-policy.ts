// Which environment variables a plugin may hand to a command it runs. A granted command is trusted
// to do what its arguments say; an environment variable can make it do something else entirely
// (load a library, source a file, run a pager, read another config). This module is the one list
// of those variables, with the reason for each, used by the check in exec-capability.ts and rendered
// into the docs by execEnvPolicyMarkdown(), so the code and what operators read cannot drift apart.
//
// Names are compared in upper case: npm reads `npm_config_*` in any case, Windows and some
// runtimes treat names case-insensitively, and no legitimate command needs a lower-case spelling
// of a refused name (on Linux `path` is harmless, and refusing it costs nothing).
import { quote } from "../errors/index.ts";

/** The PATH a child process gets. The plugin cannot change it. */
export const MINIMAL_PATH = "/usr/local/bin:/usr/bin:/bin";

/** How a rule matches an upper-cased name: exactly, by its start, or by its end. */
export type EnvRuleKind = "name" | "prefix" | "suffix";

/** A family of variables a plugin may not set, and why (one line, shown to the plugin author and in the docs). */
export type EnvRule = { readonly kind: EnvRuleKind; readonly patterns: readonly string[]; readonly reason: string };

/** Names a prefix or suffix rule would refuse that are plain data and allowed (never an exact rule's name). */
export type EnvException = { readonly names: readonly string[]; readonly reason: string };

/** The environment policy of Warden.exec: the name syntax, the refused families, and their exceptions. */
export const EXEC_ENV_POLICY: {
  readonly nameSyntax: RegExp;
  readonly refused: readonly EnvRule[];
  readonly allowed: readonly EnvException[];
} = {
  // Anything else would either be rejected by execve or, with "=", set a different variable.
  nameSyntax: /^[A-Za-z_][A-Za-z0-9_]*$/,
  refused: [
    // warden
    { kind: "name", patterns: ["PATH"], reason: `warden sets it (${MINIMAL_PATH}) and resolves commands on the host's PATH; name a command by its absolute path instead` },
    // the dynamic linker and the C library
    { kind: "prefix", patterns: ["LD_"], reason: "the dynamic linker loads a chosen library (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT)" },
    { kind: "prefix", patterns: ["DYLD_"], reason: "the macOS dynamic linker loads a chosen library (DYLD_INSERT_LIBRARIES)" },
    { kind: "name", patterns: ["GLIBC_TUNABLES"], reason: "tunes glibc's loader and allocator (CVE-2023-4911)" },
    { kind: "prefix", patterns: ["MALLOC_"], reason: "glibc allocator tuning (MALLOC_CHECK_, MALLOC_PERTURB_), a memory-corruption lever no command needs from a plugin" },
    { kind: "name", patterns: ["GCONV_PATH"], reason: "iconv loads charset modules (shared libraries) from it" },
    { kind: "name", patterns: ["LOCPATH", "NLSPATH"], reason: "locale data and message catalogues (format strings) are read from a chosen place" },
    { kind: "name", patterns: ["HOSTALIASES", "RES_OPTIONS", "LOCALDOMAIN"], reason: "changes what host names the resolver looks up" },
    { kind: "prefix", patterns: ["TERMINFO"], reason: "terminal descriptions are parsed from a chosen directory" },
    { kind: "name", patterns: ["TERMCAP"], reason: "a terminal description is parsed from a chosen file" },
    { kind: "prefix", patterns: ["OPENSSL_"], reason: "OpenSSL loads a config that loads engines and providers (shared libraries): OPENSSL_CONF, OPENSSL_ENGINES, OPENSSL_MODULES" },
    // shells
    { kind: "prefix", patterns: ["BASH"], reason: "bash imports functions (BASH_FUNC_*), sources a file before a script (BASH_ENV) and takes options (BASHOPTS, BASH_XTRACEFD) from these" },
    { kind: "name", patterns: ["ENV"], reason: "sh, dash, ksh and bash as sh source this file" },
    { kind: "name", patterns: ["SHELLOPTS"], reason: "bash turns on these options at startup (xtrace then runs PS4)" },
    { kind: "name", patterns: ["PS4", "PROMPT_COMMAND"], reason: "bash expands or runs it as code (command substitution in PS4 on every traced line)" },
    { kind: "name", patterns: ["IFS", "CDPATH"], reason: "changes how a shell script splits words or where its cd goes" },
    { kind: "name", patterns: ["ZDOTDIR", "FPATH"], reason: "zsh sources .zshenv from ZDOTDIR even for scripts; zsh and ksh autoload functions from FPATH" },
    { kind: "name", patterns: ["SHELL"], reason: "the program many tools run for a command (vim, screen, tmux, script, sudo -s)" },
    { kind: "prefix", patterns: ["COMP_"], reason: "with COMP_LINE set, a program acts as a shell completer instead of doing what its arguments say" },
    // programs that other programs run
    // Shapes rather than names: variables named like these tell some program where to load code,
    // options or configuration from, or where to write. New tools keep adding such variables
    // (COMPILER_PATH, ZIPOPT, VIMINIT, SSLKEYLOGFILE were found past a list of names), so a whole
    // shape is refused; a plugin that needs one passes the setting as an argument instead.
    {
      kind: "suffix",
      patterns: ["PATH"],
      reason: "a search path for programs, libraries, modules or plugins (COMPILER_PATH, LIBRARY_PATH, CPATH, LUA_PATH, CLASSPATH, MANPATH, GST_PLUGIN_PATH, PKG_CONFIG_PATH)",
    },
    {
      kind: "suffix",
      patterns: ["OPT", "OPTS", "OPTIONS", "FLAGS"],
      reason: "options a program reads as if given on its command line (ZIPOPT, UNZIPOPT, GS_OPTIONS, MAVEN_OPTS, RUSTFLAGS), which can name programs or files to run",
    },
    { kind: "suffix", patterns: ["INIT", "RC", "PROFILE"], reason: "startup commands or the startup file a program runs (VIMINIT, EXINIT, LUA_INIT, MYVIMRC, INPUTRC, R_PROFILE)" },
    { kind: "suffix", patterns: ["CONF", "CONFIG", "CFG"], reason: "a configuration file or setting, which can load modules or run programs (KRB5_CONFIG, OPENSSL_CONF, PKG_CONFIG, SASL_CONF)" },
    {
      kind: "suffix",
      patterns: ["HOME", "DIR", "DIRS", "ROOT", "PREFIX"],
      reason: "where a program finds its configuration, plugins or toolchain, or writes its files (GEM_HOME, GNUPGHOME, ZDOTDIR, TMPDIR, XDG_DATA_DIRS, GCC_EXEC_PREFIX, CCACHE_PREFIX)",
    },
    { kind: "suffix", patterns: ["FILE", "LOG", "LOGFILE"], reason: "a file a program reads as configuration or writes to, outside the plugin's grants (SSLKEYLOGFILE, HISTFILE, SSL_CERT_FILE)" },
    {
      kind: "suffix",
      patterns: ["WRAPPER", "COMMAND", "CMD", "PROG", "PROGRAM", "SHELL", "EXEC", "RUNNER", "HOOK", "HOOKS"],
      reason: "names a program to run instead of, or around, another (RUSTC_WORKSPACE_WRAPPER, GIT_SSH_COMMAND, PROMPT_COMMAND, RSYNC_CONNECT_PROG)",
    },
    {
      kind: "suffix",
      patterns: ["LIB", "LIBS", "LIBRARY", "MODULES", "PLUGINS", "PLUGIN", "ENGINES", "PROVIDERS", "LOADER", "PRELOAD"],
      reason: "libraries, modules or plugins a program loads (PERLLIB, RUBYLIB, R_LIBS, GTK_MODULES, QT_PLUGINS, OPENSSL_ENGINES)",
    },
    {
      kind: "prefix",
      patterns: ["CCACHE_", "MAGICK_", "KRB5", "SASL_", "GS_", "GST_", "PKG_CONFIG", "VIM", "EXINIT", "SSLKEYLOG", "RUSTC_", "ZIP", "UNZIP"],
      reason: "tool families whose variables load code, delegates or configuration (ccache, ImageMagick delegates, Kerberos, SASL, Ghostscript, GStreamer, pkg-config, vim, rustc, zip)",
    },
    { kind: "suffix", patterns: ["EDITOR"], reason: "names a program to run (EDITOR, GIT_EDITOR, SVN_EDITOR, SUDO_EDITOR)" },
    { kind: "name", patterns: ["VISUAL", "FCEDIT", "BROWSER"], reason: "names a program to run" },
    { kind: "suffix", patterns: ["PAGER"], reason: "names a program to run (PAGER, MANPAGER, GIT_PAGER, SYSTEMD_PAGER)" },
    { kind: "suffix", patterns: ["ASKPASS"], reason: "names a program to run for a password (SSH_ASKPASS, SUDO_ASKPASS, GIT_ASKPASS)" },
    { kind: "prefix", patterns: ["SSH_ASKPASS"], reason: "SSH_ASKPASS_REQUIRE=force makes ssh run SSH_ASKPASS without a terminal" },
    {
      kind: "name",
      patterns: ["LESS", "LESSOPEN", "LESSCLOSE", "LESSEDIT", "LESSKEY", "LESSKEYIN", "LESSKEY_SYSTEM", "LESSKEYIN_SYSTEM", "LESSHISTFILE"],
      reason: "less takes options (+!cmd runs a command), input filters, an editor command, key bindings and a history file from these",
    },
    { kind: "name", patterns: ["MANOPT"], reason: "man takes options from it (-P names the pager it runs)" },
    { kind: "name", patterns: ["TAR_OPTIONS"], reason: "GNU tar takes options from it (--to-command, --checkpoint-action=exec run programs)" },
    { kind: "name", patterns: ["SVN_SSH", "CVS_RSH", "RSYNC_RSH", "RSYNC_CONNECT_PROG"], reason: "names the program the tool runs to connect" },
    { kind: "prefix", patterns: ["DBUS_"], reason: "a bus address like unixexec:path=... makes a D-Bus client run a program" },
    { kind: "prefix", patterns: ["GTK", "QT_", "GIO_"], reason: "GUI toolkits load modules and plugins (shared libraries) from these (GTK_MODULES, QT_PLUGIN_PATH, GIO_EXTRA_MODULES)" },
    // node and JavaScript package managers
    {
      kind: "prefix",
      patterns: ["NODE_"],
      reason: "node loads code from NODE_OPTIONS, NODE_PATH and NODE_REPL_EXTERNAL_MODULE, and writes files named by others (NODE_V8_COVERAGE, NODE_REDIRECT_WARNINGS)",
    },
    { kind: "prefix", patterns: ["NPM_CONFIG_"], reason: "npm configuration, in any case (npm_config_node_options, npm_config_script_shell, npm_config_userconfig), runs code" },
    { kind: "prefix", patterns: ["YARN_", "COREPACK_"], reason: "yarn and corepack configuration chooses the package-manager code that runs (YARN_YARN_PATH, COREPACK_NPM_REGISTRY)" },
    { kind: "prefix", patterns: ["DENO_"], reason: "deno runs cached code from DENO_DIR and takes credentials and certificates from these" },
    { kind: "prefix", patterns: ["ELECTRON_"], reason: "ELECTRON_RUN_AS_NODE turns an Electron app (code, slack...) into node running its arguments" },
    // other language runtimes
    { kind: "prefix", patterns: ["PYTHON"], reason: "python imports or runs code from PYTHONPATH, PYTHONHOME, PYTHONSTARTUP, PYTHONUSERBASE, PYTHONBREAKPOINT, PYTHONWARNINGS, PYTHONPYCACHEPREFIX" },
    { kind: "prefix", patterns: ["PIP_"], reason: "pip configuration (PIP_INDEX_URL, PIP_CONFIG_FILE) chooses what it installs and runs" },
    { kind: "prefix", patterns: ["RUBY"], reason: "ruby loads code from RUBYOPT (-r), RUBYLIB and RUBYPATH" },
    { kind: "prefix", patterns: ["GEM_", "BUNDLE_"], reason: "rubygems and bundler load gems from GEM_HOME and GEM_PATH and evaluate BUNDLE_GEMFILE" },
    { kind: "name", patterns: ["GEMRC"], reason: "rubygems' configuration file" },
    { kind: "prefix", patterns: ["PERL5"], reason: "perl loads code from PERL5OPT (-M), PERL5LIB and PERL5DB" },
    { kind: "name", patterns: ["PERLLIB"], reason: "perl loads modules from it" },
    { kind: "prefix", patterns: ["LUA_"], reason: "lua runs LUA_INIT and loads modules from LUA_PATH and LUA_CPATH (and their versioned spellings)" },
    { kind: "name", patterns: ["TCLLIBPATH", "TCL_LIBRARY", "TK_LIBRARY"], reason: "tcl and tk source their startup scripts and packages from it" },
    { kind: "name", patterns: ["PHPRC", "PHP_INI_SCAN_DIR"], reason: "php reads php.ini from it (auto_prepend_file runs code)" },
    { kind: "prefix", patterns: ["R_PROFILE", "R_ENVIRON", "R_LIBS"], reason: "R sources profile files and loads packages from these" },
    {
      kind: "name",
      patterns: ["JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS", "JAVA_OPTIONS"],
      reason: "JVM options (-javaagent loads code) that every JVM or its launch script reads",
    },
    { kind: "name", patterns: ["CLASSPATH", "JAVA_HOME"], reason: "where the JVM loads classes, and which JVM a launch script runs" },
    { kind: "prefix", patterns: ["MAVEN_", "GRADLE_"], reason: "JVM options and init scripts of maven and gradle (MAVEN_OPTS, GRADLE_OPTS, GRADLE_USER_HOME)" },
    // version control
    {
      kind: "prefix",
      patterns: ["GIT_"],
      reason:
        "git runs programs from GIT_SSH_COMMAND, GIT_EXEC_PATH, GIT_EXTERNAL_DIFF, GIT_PROXY_COMMAND and GIT_CONFIG_* (core.fsmonitor), reads config and hooks from GIT_DIR and GIT_TEMPLATE_DIR, and appends GIT_TRACE* to any file",
    },
    { kind: "name", patterns: ["HGRCPATH"], reason: "mercurial reads config (hooks run programs) from it" },
    // build tools
    { kind: "name", patterns: ["CC", "CXX", "CPP", "LD", "AR"], reason: "the compiler, linker or archiver make and configure run" },
    { kind: "name", patterns: ["CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS"], reason: "compiler options (-fplugin, -wrapper, -B load or run chosen programs)" },
    { kind: "name", patterns: ["MAKEFLAGS", "MFLAGS", "GNUMAKEFLAGS", "MAKEFILES"], reason: "make takes options and extra makefiles (whose recipes are commands) from them" },
    { kind: "prefix", patterns: ["CGO_", "CARGO_", "RUSTUP_"], reason: "cgo flags, cargo configuration (CARGO_BUILD_RUSTC_WRAPPER, CARGO_TARGET_*_RUNNER run programs) and rustup toolchains" },
    { kind: "name", patterns: ["RUSTC", "RUSTC_WRAPPER", "RUSTDOC", "RUSTFLAGS"], reason: "the compiler cargo runs, and its options" },
    { kind: "name", patterns: ["GOFLAGS", "GOTOOLCHAIN", "GOENV", "GOROOT"], reason: "go options (-toolexec runs a program), the toolchain go downloads and runs, and its config file" },
    {
      kind: "name",
      patterns: ["GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GONOSUMCHECK", "GOINSECURE", "GOPRIVATE", "GONOPROXY"],
      reason: "where go finds and downloads the code it builds, and whether it checks it",
    },
    // where programs find their configuration
    {
      kind: "name",
      patterns: ["HOME"],
      reason: "git, npm, curl, wget, bash and gpg read config from it, some of which runs programs (.gitconfig core.fsmonitor, .npmrc, .bashrc); without it they use the host user's defaults",
    },
    { kind: "prefix", patterns: ["XDG_"], reason: "XDG base directories: where programs find config, data, autostart files and runtime sockets" },
    { kind: "name", patterns: ["CURL_HOME", "WGETRC"], reason: "curl and wget read their config (options that write files) from it" },
    { kind: "name", patterns: ["GNUPGHOME"], reason: "gpg reads config from it (agent-program runs a program)" },
    {
      kind: "name",
      patterns: ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "KUBECONFIG", "DOCKER_CONFIG"],
      reason: "a config file whose entries run programs (credential_process, exec credential plugins, credential helpers)",
    },
  ],
  allowed: [
    { names: ["NODE_ENV"], reason: "the conventional run mode (production, development), read as data" },
    { names: ["PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING", "PYTHONUTF8"], reason: "output buffering and text encoding switches" },
    { names: ["GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE"], reason: "commit identity, data only" },
    { names: ["GIT_TERMINAL_PROMPT"], reason: "0 stops git from prompting" },
  ],
};

/** Why a name is refused: the rule and the pattern of it that matched (as written in the docs, e.g. `LD_*`). */
export type EnvRefusal = { readonly rule: EnvRule; readonly pattern: string };

const exact = new Map<string, EnvRule>();
const prefixes: [string, EnvRule][] = [];
const suffixes: [string, EnvRule][] = [];
for (const rule of EXEC_ENV_POLICY.refused) {
  for (const p of rule.patterns) {
    if (rule.kind === "name") exact.set(p, rule);
    else (rule.kind === "prefix" ? prefixes : suffixes).push([p, rule]);
  }
}
const allowed = new Set(EXEC_ENV_POLICY.allowed.flatMap((e) => e.names));

/** How a rule's pattern is written for people: `LD_*`, `*PAGER`, `PATH`. */
export function showPattern(kind: EnvRuleKind, pattern: string): string {
  return kind === "prefix" ? `${pattern}*` : kind === "suffix" ? `*${pattern}` : pattern;
}

/** Whether `name` has the shape of a variable name (letters, digits, underscore; no leading digit). */
export function isEnvName(name: string): boolean {
  return EXEC_ENV_POLICY.nameSyntax.test(name);
}

/** The rule that refuses a (well-formed) variable name, in any case, or null if a plugin may set it. */
export function refusedEnvName(name: string): EnvRefusal | null {
  const upper = name.toUpperCase();
  const rule = exact.get(upper);
  if (rule !== undefined) return { rule, pattern: upper };
  if (allowed.has(upper)) return null;
  for (const [p, r] of prefixes) if (upper.startsWith(p)) return { rule: r, pattern: showPattern("prefix", p) };
  for (const [p, r] of suffixes) if (upper.endsWith(p)) return { rule: r, pattern: showPattern("suffix", p) };
  return null;
}

/** The refused names and families as one markdown line (`PATH`, `LD_*`, ...), for README and docs/security.md. */
export function execEnvPolicyPatterns(): string {
  const refused = EXEC_ENV_POLICY.refused.flatMap((r) => r.patterns.map((p) => `\`${showPattern(r.kind, p)}\``)).join(", ");
  const allowed = EXEC_ENV_POLICY.allowed.flatMap((e) => e.names.map((n) => `\`${n}\``)).join(", ");
  return `Refused, in any case: ${refused}. Allowed although their family is refused: ${allowed}.`;
}

/** The policy as markdown (a table of refused variables, then the exceptions), for docs/exec-env-policy.md. */
export function execEnvPolicyMarkdown(): string {
  const code = (ps: readonly string[], kind: EnvRuleKind) => ps.map((p) => `\`${showPattern(kind, p)}\``).join(", ");
  // Reasons are prose: a `*` (GIT_CONFIG_*) would start emphasis and a `|` would end the cell.
  const prose = (t: string) => t.replace(/[*|]/g, (c) => `\\${c}`);
  const rows = EXEC_ENV_POLICY.refused.map((r) => `| ${code(r.patterns, r.kind)} | ${prose(r.reason)} |`);
  const exceptions = EXEC_ENV_POLICY.allowed.map((e) => `- ${code(e.names, "name")}: ${prose(e.reason)}`);
  return [
    "Names must match `^[A-Za-z_][A-Za-z0-9_]*$` and are compared in any case (`npm_config_x` is `NPM_CONFIG_X`);",
    "two names that differ only in case are refused, and so is a value containing NUL.",
    "",
    "| refused (any case) | why |",
    "|---|---|",
    ...rows,
    "",
    "Allowed although their family is refused:",
    "",
    ...exceptions,
    "",
  ].join("\n");
}

/** What is wrong with one entry of a plugin's options.env: the name as given, and a message for the plugin and the audit log. */
export type EnvProblem = { readonly name: string; readonly message: string };

/** Check a plugin's options.env against EXEC_ENV_POLICY; the first problem found, or null if the child may get it. */
export function checkExecEnv(env: ReadonlyMap<string, string>): EnvProblem | null {
  const seen = new Map<string, string>();
  for (const [name, value] of env) {
    if (!isEnvName(name)) {
      return {
        name,
        message: `options.env name ${quote(name)} is not a variable name: it must match ${EXEC_ENV_POLICY.nameSyntax.source} (letters, digits and _, not starting with a digit), since anything else is cut short or, with "=", sets a different variable`,
      };
    }
    const refusal = refusedEnvName(name);
    if (refusal !== null) {
      return {
        name,
        message: `options.env cannot set ${quote(name)} (warden refuses ${refusal.pattern}, in any case): ${refusal.rule.reason}; no grant allows it, so pass the setting to the command as an argument instead`,
      };
    }
    const upper = name.toUpperCase();
    const earlier = seen.get(upper);
    if (earlier !== undefined) {
      return {
        name,
        message: `options.env sets both ${quote(earlier)} and ${quote(name)}, which differ only in case; some platforms and programs read names in any case, so the command could see either: pass one of them`,
      };
    }
    seen.set(upper, name);
    if (value.includes("\0")) return { name, message: `options.env[${quote(name)}] contains a NUL character, which would cut the value short; pass text without NUL` };
  }
  return null;
}
