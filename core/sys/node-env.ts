// The host's environment as a plugin's env grant may read it. `process.env` is an object: a name
// it does not hold falls through to Object.prototype (`__proto__` is the prototype itself,
// `constructor` and `toString` are functions), and a plain `process.env[name]` handed those host
// values to a plugin granted `true` or a prefix such as `_*`. Only a variable the environment
// really holds is a value; every other name is unset.
import type { EnvPort } from "../../capabilities/index.ts";

/** An EnvPort over `env` (default: the host's `process.env`) that reads only variables it holds. */
export function createNodeEnv(env: NodeJS.ProcessEnv = process.env): EnvPort {
  return {
    get(name) {
      if (!Object.hasOwn(env, name)) return undefined;
      const value = env[name];
      return typeof value === "string" ? value : undefined;
    },
  };
}
