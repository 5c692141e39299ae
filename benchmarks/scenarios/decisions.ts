// A permission decision as the capabilities make it: a pure matcher behind a bounded LRU cache.
// Reported per decision, cached (the hot path) and uncached (the matcher itself).
import { compileNetRules, matchEnv, matchName } from "../../capabilities/index.ts";
import { cachedDecision } from "../../capabilities/decision-cache.ts";
import { compilePathRules, matchPath } from "../../capabilities/path-rules.ts";
import { repeat, type Row } from "../lib/measure.ts";

/** Options of the decisions scenario. */
export type DecisionOptions = { readonly quick: boolean };

function perOpNs(ops: number, fn: (i: number) => unknown): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) if (fn(i) !== null) sink++;
  const ns = Number(process.hrtime.bigint() - t0) / ops;
  if (sink < 0) throw new Error("unreachable");
  return ns;
}

/** Measure cached and uncached decisions for paths, net names and env names. */
export async function decisions(o: DecisionOptions): Promise<Row[]> {
  const ops = o.quick ? 200_000 : 2_000_000;
  const reps = o.quick ? 3 : 7;
  const paths = compilePathRules(["data/", "/var/cache/weather", "/srv/shared/models", "logs/"], "/plugins/acme", "permissions.read");
  const net = compileNetRules(["api.weather.example:443", "*.example.org", "127.0.0.1:8080", "10.0.0.0/8"]);
  const env = ["WEATHER_API_KEY", "AWS_*", "APP_MODE"];
  const keys = {
    path: ["/plugins/acme/data/a.txt", "/plugins/acme/data/b/c.json", "/etc/passwd", "/var/cache/weather/x"],
    net: ["api.weather.example:443", "cdn.example.org:443", "evil.test:80", "example.org:80"],
    env: ["WEATHER_API_KEY", "AWS_REGION", "HOME", "APP_MODE"],
  };
  const cases: Array<[string, (k: string) => unknown, readonly string[]]> = [
    ["path", (k) => matchPath(paths, k), keys.path],
    [
      "net name",
      (k) => {
        const i = k.lastIndexOf(":");
        return matchName(net, k.slice(0, i), Number(k.slice(i + 1)));
      },
      keys.net,
    ],
    ["env", (k) => matchEnv(env, k), keys.env],
  ];
  const rows: Row[] = [];
  for (const [name, decide, ks] of cases) {
    const cached = cachedDecision(decide);
    const uncachedSample = await repeat(reps, () => perOpNs(ops, (i) => decide(ks[i & 3] as string)));
    const cachedSample = await repeat(reps, () => perOpNs(ops, (i) => cached(ks[i & 3] as string)));
    rows.push({ scenario: "permission decision", variant: `${name}, matcher only`, unit: "ns", sample: uncachedSample });
    rows.push({ scenario: "permission decision", variant: `${name}, cached (lru-cache)`, unit: "ns", sample: cachedSample, note: "target < 1000 ns" });
  }
  return rows;
}
