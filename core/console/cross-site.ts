// Requests a browser made on behalf of another site. A page anywhere on the web can make "simple"
// requests to a loopback console (a no-cors GET, a form POST) without a CORS preflight, carrying
// the console's own Host; it can never read the answer, but it can make the console act on the
// request's mere arrival (before this, count it as a failed token check and lock the operator
// out). Browsers mark such requests: Sec-Fetch-Site says where the request came from, and Origin
// names the page's origin. Clients that are not browsers (curl, scripts) send neither and pass.
import type { IncomingHttpHeaders } from "node:http";

// Sec-Fetch-Site values of requests that did not come from another origin: the dashboard's own
// fetches ("same-origin") and an address the operator typed or bookmarked ("none"). "same-site"
// is refused: every port of 127.0.0.1 is the same site, and another local server's page is not
// the console.
const OWN = new Set(["same-origin", "none"]);

/** Why the request came from another site's page (to refuse it), or null when nothing says so. */
export function crossSiteReason(headers: IncomingHttpHeaders): string | null {
  const site = headers["sec-fetch-site"];
  if (typeof site === "string" && !OWN.has(site.trim().toLowerCase())) return "the browser marked it as sent by another site's page (Sec-Fetch-Site)";
  const origin = headers.origin;
  if (typeof origin !== "string") return null;
  const host = (headers.host ?? "").trim().toLowerCase();
  const own = host !== "" && (origin.toLowerCase() === `http://${host}` || origin.toLowerCase() === `https://${host}`);
  return own ? null : "its Origin is another site's page";
}
