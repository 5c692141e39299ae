// The dashboard's static files (index.html, app.js, app.css in core/console/dashboard/, shipped
// as they are: package.json "files"). Only a name that is a regular file of that directory is
// served: no path, no traversal, no link; the content type comes from a fixed table.
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The dashboard directory of this package (compiled code runs from dist/core/console/). */
export const DASHBOARD_DIR = fileURLToPath(new URL("../../../core/console/dashboard/", import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".woff2": "font/woff2",
};

/** A file to send: its bytes and content type. */
export type DashboardFile = { readonly body: Buffer; readonly type: string };

/** What `GET /` shows when the dashboard's files are not there (the API works all the same). */
export const PLACEHOLDER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>warden console</title></head>
<body><h1>warden console</h1><p>The dashboard's files are not installed here; the admin API is (docs/console-api.md).</p></body></html>
`;

/** The file `name` of `dir`, or null when `name` is not a regular file directly in it (or its type is unknown). */
export function dashboardFile(dir: string, name: string): DashboardFile | null {
  const type = TYPES[extname(name).toLowerCase()];
  if (type === undefined || !existsSync(dir)) return null;
  // Compared with the directory's own listing: a name with a separator, "..", or an encoded form
  // of either never equals an entry.
  if (!readdirSync(dir).includes(name)) return null;
  const file = join(dir, name);
  if (!lstatSync(file).isFile()) return null;
  return { body: readFileSync(file), type };
}
