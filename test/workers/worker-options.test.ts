// Which addresses `rig worker run` and `rig worker install` listen on without --insecure-network: any
// loopback address, as the gateway counts them; anything else only when told the network is trusted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../src/cli/common.ts";
import { workerOptions } from "../../src/cli/worker-options.ts";

const listen = (host: string, insecureNetwork = false) =>
  workerOptions({ host, cache: false, "insecure-network": insecureNetwork });

test("every loopback address is accepted without --insecure-network", () => {
  for (const host of ["127.0.0.1", "127.0.0.2", "localhost", "worker.localhost", "::1"])
    assert.equal(listen(host).host, host);
});

test("an address beyond loopback is refused unless the network is trusted", () => {
  assert.throws(
    () => listen("192.168.1.5"),
    (error) => error instanceof UsageError && /--insecure-network/.test(error.message),
  );
  assert.throws(() => listen("0.0.0.0"), UsageError);
  assert.equal(listen("192.168.1.5", true).host, "192.168.1.5");
});
