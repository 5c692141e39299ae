// DnsPort and HttpPort on Node: dns.lookup once (in turns, which keep libuv's pool free), and
// undici with the connection pinned to the checked address through `connect.lookup` (the URL's
// name stays the Host header and TLS SNI).
import { lookup } from "node:dns/promises";
import { STATUS_CODES } from "node:http";
import type { LookupAddress } from "node:dns";
import { CheckedTarget, type DnsPort, type HttpPort, type PinnedRequest, type PinnedResponse } from "../../capabilities/index.ts";
import { DEFAULTS } from "../../defaults/index.ts";
import { Turns } from "./turns.ts";

/** getaddrinfo as Node offers it: every address of a name. */
export type SystemLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

const systemLookup: SystemLookup = (hostname) => lookup(hostname, { all: true, verbatim: true });

// Resolutions of the whole host in flight (DEFAULTS.net says why they are bounded).
const hostTurns = new Turns(DEFAULTS.net.lookupsInFlight);

/**
 * The DnsPort warden uses outside tests, one per plugin: a plugin waits for its own turn, then for
 * one of the host's, so resolutions that never answer hold at most DEFAULTS.net.lookupsInFlight
 * threads of libuv's pool, and one plugin at most DEFAULTS.net.lookupsPerPlugin of them.
 * `resolve` and `shared` are the system's resolver and the host's turns unless a test gives others.
 */
export function createNodeDns(resolve: SystemLookup = systemLookup, shared: Turns = hostTurns): DnsPort {
  const own = new Turns(DEFAULTS.net.lookupsPerPlugin);
  return {
    async lookup(hostname) {
      const answers = await own.run(() => shared.run(() => resolve(hostname)));
      return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
    },
  };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

// undici is loaded on a plugin's first fetch, not when its sandbox starts: importing it costs
// ~120 ms and ~20 MB, and most plugins never fetch (measured: benchmarks/README.md, cold start).
let undici: Promise<typeof import("undici")> | null = null;

/**
 * Stop reading a body that is too large, and the error that says so. undici's body stream emits
 * 'error' (Request aborted) when destroyed before its end, a tick later; with no listener that is
 * an uncaught exception, which ended the host process (a plugin's HEAD to a large file did it), so
 * the stream gets a listener first, whoever is or is not reading it.
 */
function tooLarge(body: NodeJS.ReadableStream & { destroy(): void }): Error {
  body.on("error", () => undefined);
  body.destroy();
  return Object.assign(new Error("response too large"), { code: "TooLarge" });
}

/** The HttpPort warden uses outside tests: one pinned agent per request, closed after it. */
export function createNodeHttp(): HttpPort {
  return {
    async request(r: PinnedRequest): Promise<PinnedResponse> {
      // The type already refuses anything else; this refuses a look-alike the compiler did not see.
      if (!CheckedTarget.is(r.target)) throw new TypeError("the HTTP port connects only to a CheckedTarget made by the net check");
      const { Agent, request } = await (undici ??= import("undici"));
      // The checked target is unwrapped here: its URL is what is asked for, its addresses the only ones connected to.
      const pinned = r.target.addresses;
      const first = pinned[0];
      if (first === undefined) throw new Error("no checked address to connect to");
      const agent = new Agent({
        connections: 1,
        pipelining: 0,
        connect: {
          // Node's net.connect asks this for the URL's name; it gets only the checked addresses.
          lookup: (_hostname: string, options: { all?: boolean }, cb: LookupCallback) => {
            if (options?.all)
              cb(
                null,
                pinned.map((a) => ({ address: a.address, family: a.family })),
              );
            else cb(null, first.address, first.family);
          },
        } as never,
      });
      try {
        const res = await request(r.target.url, {
          dispatcher: agent,
          method: r.method as "GET",
          headers: r.headers.flatMap(([k, v]) => [k, v]),
          body: r.body === null ? null : Buffer.from(r.body),
          signal: r.signal,
        });
        // An answer to HEAD has no body whatever its Content-Length says (the size of the GET's).
        const length = Number(res.headers["content-length"]);
        if (r.method !== "HEAD" && Number.isFinite(length) && length > r.maxBodyBytes) throw tooLarge(res.body);
        const chunks: Buffer[] = [];
        let total = 0;
        for await (const chunk of res.body) {
          total += (chunk as Buffer).byteLength;
          if (total > r.maxBodyBytes) throw tooLarge(res.body);
          chunks.push(chunk as Buffer);
        }
        const headers: [string, string][] = [];
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) headers.push([k, one]);
        }
        return { status: res.statusCode, statusText: STATUS_CODES[res.statusCode] ?? "", headers, body: Buffer.concat(chunks, total) };
      } finally {
        // destroy, not close: the body was read or abandoned, nothing is left to finish, and a
        // closing agent whose request was aborted opens a fresh connection to the server first.
        agent.destroy().catch(() => undefined);
      }
    },
  };
}
