// Figure 7: creating tickets over HTTP on loopback with and without plugins.
import { sampleDraft } from "../../../bench/fixtures.ts";
import { runLoad } from "../http-load.mjs";
import { hookPlugin, install, range } from "../fixtures.mjs";
import { row } from "./rows.mjs";

const CASES = [
  { key: "none", label: "no plugins", tenant: "http-none", plugins: 0 },
  { key: "three", label: "3 plugins", tenant: "http-3", plugins: 3 },
];

/**
 * Runs autocannon against `POST /v1/tenants/:tenant/tickets` of a tenant with
 * no plugins and of one with 3 plugins subscribed to both ticket hooks,
 * alternating the cases over `rounds` runs each.
 */
export async function httpTickets(worker, scale) {
  const { connections, seconds, rounds, warmupRequests } = scale.http;
  const body = sampleDraft();
  for (const testCase of CASES) {
    if (testCase.plugins > 0) await install(worker, testCase.tenant, range(1, testCase.plugins).map(hookPlugin));
    // Untimed requests first: start the tenant's Durable Object and load its plugins.
    for (let i = 0; i < warmupRequests; i += 1) {
      const response = await fetch(`${worker.url}/v1/tenants/${testCase.tenant}/tickets`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${worker.token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status !== 201) throw new Error(`warm-up ticket in ${testCase.tenant} returned ${response.status}: ${await response.text()}`);
      const created = await response.json();
      if (created.hooks.created.length !== testCase.plugins) throw new Error(`a ticket in ${testCase.tenant} reached ${created.hooks.created.length} plugins, expected ${testCase.plugins}`);
    }
  }

  const results = Object.fromEntries(CASES.map((testCase) => [testCase.key, { latencyMs: [], perSecond: [], requests: 0, seconds: 0 }]));
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? CASES : [...CASES].reverse();
    for (const testCase of order) {
      const run = await runLoad({ url: `${worker.url}/v1/tenants/${testCase.tenant}/tickets`, body, token: worker.token, connections, seconds });
      const result = results[testCase.key];
      result.latencyMs.push(...run.latencyMs);
      result.perSecond.push(...run.perSecond);
      result.requests += run.requests;
      result.seconds += run.durationSeconds;
    }
  }

  const none = results["none"];
  const three = results["three"];
  return {
    id: 7,
    title: "Creating a ticket over HTTP on loopback: 3 plugins subscribed vs none",
    clock: "outside",
    method:
      `autocannon in the harness's Node process, ${connections} connections, ${seconds} s per run, ${rounds} run(s) per case, cases alternating, each request \`POST /v1/tenants/:tenant/tickets\` with the sample draft and an operator bearer token, verified on every request. ` +
      "The request runs the demo app's real path: `ticket.beforeCreate` (filter), the SQL insert, `ticket.created` (event, awaited). The 3 plugins subscribe to both hooks, so a ticket makes 6 plugin calls. " +
      "Requests go through `wrangler dev`'s local server and its proxy Worker to the bench Worker. Latency samples are every response's time; rate samples are responses per second of each run. " +
      `Totals: no plugins ${none.requests} requests in ${none.seconds.toFixed(0)} s, 3 plugins ${three.requests} requests in ${three.seconds.toFixed(0)} s. autocannon shares the 2 cores with workerd.`,
    rows: [
      row("requests/s, no plugins", "req/s", none.perSecond),
      row("requests/s, 3 plugins", "req/s", three.perSecond, "requests/s, no plugins"),
      row("latency, no plugins", "ms", none.latencyMs),
      row("latency, 3 plugins", "ms", three.latencyMs, "latency, no plugins"),
    ],
  };
}
