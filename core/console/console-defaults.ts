// The console's defaults, as the console code names them: DEFAULTS.console (defaults/index.ts, with
// the plugins' limits and every other default): where it listens, and every bound on what it keeps
// in memory or lets one client cost.
import { DEFAULTS } from "../../defaults/index.ts";

/** Defaults and bounds of `warden serve` and its admin API (DEFAULTS.console). */
export const DEFAULT_CONSOLE = DEFAULTS.console;
