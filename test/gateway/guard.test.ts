// Who may use the gateway, decided before a body is read: Host (DNS rebinding), browser Origin,
// cross-site requests without an Origin, the api key in any header, the admin token.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type AccessPolicy, corsHeaders, type GuardRequest, guard } from "../../src/gateway/guard.ts";

const open: AccessPolicy = {
  port: 7878,
  hosts: new Set(["rig.lan"]),
  corsOrigins: new Set(["http://localhost:3000"]),
  adminToken: "t0ken",
};
const keyed: AccessPolicy = { ...open, apiKey: "s3cret" };
const request = (
  headers: GuardRequest["headers"],
  path = "/v1/chat/completions",
  method = "POST",
): GuardRequest => ({
  method,
  path,
  headers,
});
const check = (req: GuardRequest, policy: AccessPolicy, query = "") =>
  guard(req, new URLSearchParams(query), policy);

describe("request guard", () => {
  test("loopback names and addresses, the configured host and allowed_hosts are served", () => {
    for (const host of [
      "127.0.0.1:7878",
      "localhost:7878",
      "[::1]:7878",
      "127.0.0.2",
      "app.localhost:7878",
      "rig.lan:7878",
      "RIG.LAN",
    ])
      assert.equal(check(request({ host }), open), undefined, host);
  });

  test("any other Host is refused with what to configure (DNS rebinding)", () => {
    const refusal = check(request({ host: "evil.example:7878" }), open);
    assert.equal(refusal?.status, 403);
    assert.match(refusal!.message, /gateway\.allowed_hosts/);
    assert.equal(check(request({}), open)?.status, 403, "no Host at all");
  });

  test("a browser Origin must be rig's own page or configured; agents without Origin are unaffected", () => {
    assert.equal(check(request({ host: "127.0.0.1:7878" }), open), undefined);
    assert.equal(
      check(request({ host: "127.0.0.1:7878", origin: "http://127.0.0.1:7878" }), open),
      undefined,
    );
    assert.equal(
      check(request({ host: "127.0.0.1:7878", origin: "http://localhost:3000" }), open),
      undefined,
    );
    const refusal = check(request({ host: "127.0.0.1:7878", origin: "https://evil.example" }), open);
    assert.equal(refusal?.status, 403);
    assert.match(refusal!.message, /gateway\.cors_origins/);
    assert.equal(
      check(request({ host: "127.0.0.1:7878", origin: "null" }), open)?.status,
      403,
      "sandboxed and file pages",
    );
  });

  test("a cross-site request without an Origin (an <img>, a navigation) is refused", () => {
    const img = request({ host: "127.0.0.1:7878", "sec-fetch-site": "cross-site" }, "/rig/v1/status", "GET");
    assert.equal(check(img, open)?.status, 403);
    const sameOrigin = request(
      { host: "127.0.0.1:7878", "sec-fetch-site": "same-origin" },
      "/rig/v1/status",
      "GET",
    );
    assert.equal(check(sameOrigin, open), undefined);
  });

  test("with an api key every way of presenting it is checked, an unrelated Authorization does not hide x-api-key", () => {
    const host = "127.0.0.1:7878";
    assert.equal(check(request({ host }), keyed)?.status, 401);
    assert.equal(check(request({ host, authorization: "Bearer s3cret" }), keyed), undefined);
    assert.equal(
      check(request({ host, authorization: "Basic Zm9vOmJhcg==", "x-api-key": "s3cret" }), keyed),
      undefined,
    );
    assert.equal(
      check(request({ host, authorization: "Bearer wrong", "x-api-key": "s3cret" }), keyed),
      undefined,
    );
    assert.equal(check(request({ host, "x-goog-api-key": "s3cret" }), keyed), undefined);
    assert.equal(check(request({ host }), keyed, "key=s3cret"), undefined);
    assert.equal(check(request({ host, "x-api-key": "s3cre" }), keyed)?.status, 401);
    assert.equal(
      check(request({ host }, "/health", "GET"), keyed),
      undefined,
      "health says the gateway is alive",
    );
    assert.equal(check(request({ host }, "/metrics", "GET"), keyed)?.status, 401);
  });

  test("admin routes that change state need the admin token or the key; reading status does not", () => {
    const host = "127.0.0.1:7878";
    assert.equal(check(request({ host }, "/rig/v1/shutdown"), open)?.status, 403);
    assert.equal(
      check(request({ host, "x-rig-admin-token": "wrong" }, "/rig/v1/stop-all"), open)?.status,
      403,
    );
    assert.equal(check(request({ host, "x-rig-admin-token": "t0ken" }, "/rig/v1/stop-all"), open), undefined);
    assert.equal(check(request({ host, "x-api-key": "s3cret" }, "/rig/v1/shutdown"), keyed), undefined);
    assert.equal(check(request({ host }, "/rig/v1/status", "GET"), open), undefined);
  });

  test("the page's sign-in cookie counts as the api key; only its sign-in form and stylesheet are open without it", () => {
    const host = "127.0.0.1:7878";
    const signedIn: AccessPolicy = { ...keyed, keyCookie: { name: "rig_key_7878", value: "c00kie" } };
    assert.equal(check(request({ host, cookie: "rig_key_7878=c00kie" }), signedIn), undefined);
    assert.equal(
      check(
        request({ host, cookie: "theme=dark; rig_key_7878=c00kie; other=1" }, "/rig/v1/stop-all"),
        signedIn,
      ),
      undefined,
      "among other cookies, and for admin routes that change state",
    );
    assert.equal(check(request({ host, cookie: "rig_key_7878=wrong" }), signedIn)?.status, 401);
    assert.equal(
      check(request({ host, cookie: "rig_key_9999=c00kie" }), signedIn)?.status,
      401,
      "another gateway's cookie",
    );
    assert.equal(
      check(request({ host, cookie: "rig_key_7878=s3cret" }), keyed)?.status,
      401,
      "no cookie without a sign-in",
    );
    assert.equal(check(request({ host }, "/ui/login", "GET"), signedIn), undefined);
    assert.equal(check(request({ host }, "/ui/login", "POST"), signedIn), undefined);
    assert.equal(check(request({ host }, "/ui/style.css", "GET"), signedIn), undefined);
    for (const path of ["/ui", "/ui/app.js", "/rig/v1/events"])
      assert.equal(check(request({ host }, path, "GET"), signedIn)?.status, 401, path);
    assert.equal(
      check(request({ host, origin: "http://localhost:5173" }, "/ui/login", "POST"), signedIn)?.status,
      403,
      "another origin cannot sign a browser in",
    );
  });

  test("CORS headers only for configured origins", () => {
    assert.equal(
      corsHeaders("http://localhost:3000", open)["access-control-allow-origin"],
      "http://localhost:3000",
    );
    assert.deepEqual(corsHeaders("https://evil.example", open), {});
    assert.deepEqual(corsHeaders(undefined, open), {});
  });
});
