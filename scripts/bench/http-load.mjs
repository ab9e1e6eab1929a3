// Figure 7: load over HTTP on loopback with autocannon at a fixed number of
// connections. Latency and per-second rates are kept per request and per
// second, so median and p95 come from the raw samples.
import autocannon from "autocannon";

/**
 * Runs autocannon for `seconds` against `url` with `connections` connections,
 * each sending `body` as a JSON POST with `token` as the bearer token. Returns every response time in
 * milliseconds and the number of responses in each second. Raises if any
 * response was not 2xx or any request failed.
 */
export async function runLoad({ url, body, token, connections, seconds }) {
  const latencyMs = [];
  const perSecond = [];
  const instance = autocannon({
    url,
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    connections,
    duration: seconds,
    timeout: 10,
  });
  instance.on("response", (_client, _statusCode, _bytes, responseTime) => latencyMs.push(responseTime));
  instance.on("tick", ({ counter }) => perSecond.push(counter));

  const result = await new Promise((done, fail) => {
    instance.on("done", done);
    instance.on("error", fail);
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`load on ${url}: ${result.non2xx} responses were not 2xx and ${result.errors} requests failed (${result.timeouts} timeouts)`);
  }
  return { latencyMs, perSecond, requests: result.requests.total, durationSeconds: result.duration };
}
