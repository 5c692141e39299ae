// warden's own version, read from package.json (checked against a plugin's engines.warden).
import { readFileSync } from "node:fs";

/** The running warden's version. */
export const WARDEN_VERSION: string = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
