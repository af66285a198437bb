import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Server } from "../../src/config/loader.ts";
import { CRASH_LOOP, DRAIN_LIMIT_MS, evictionFor, StartError } from "../../src/supervisor/scheduler.ts";
import { server, settle, setup } from "./fake-world.ts";

// The scheduler's decisions with fake effects: no process, no network, a clock the test moves.

describe("group swap", () => {
  test("a start in a group stops the running rival only after its in-flight requests drain", async () => {
    const { world, scheduler } = setup(server("a", { group: "g" }), server("b", { group: "g" }));
    await scheduler.lease("a");
    const b = scheduler.lease("b");
    await settle();
    assert.deepEqual(world.log, ["start a"], "a request to a is still in flight");
    scheduler.release("a");
    assert.equal(await b, "b#2");
    assert.deepEqual(world.log, ["start a", "stop a: group g: b starting", "start b"]);
    assert.equal(scheduler.view("a")!.state, "stopped");
  });

  test("queued requests for one model join one start instead of swapping the group each time", async () => {
    const { world, scheduler } = setup(server("a", { group: "g" }), server("b", { group: "g" }));
    await scheduler.ensureReady("a");
    world.hold("b");
    const firstB = scheduler.lease("b");
    await settle();
    const backToA = scheduler.lease("a");
    const secondB = scheduler.lease("b");
    await settle();
    world.finish("b");
    assert.deepEqual(await Promise.all([firstB, secondB]), ["b#2", "b#2"], "both served by one start of b");
    assert.deepEqual(world.log, ["start a", "stop a: group g: b starting", "start b"]);
    scheduler.release("b");
    scheduler.release("b");
    assert.equal(await backToA, "a#3");
    assert.deepEqual(world.log, [
      "start a",
      "stop a: group g: b starting",
      "start b",
      "stop b: group g: a starting",
      "start a",
    ]);
  });
});

/** a (group g) with one request in flight, and a request for b (same group) that swaps it out. */
async function swapOut(fieldsOfA: Partial<Server> = {}) {
  const fixture = setup(server("a", { group: "g", ...fieldsOfA }), server("b", { group: "g" }));
  await fixture.scheduler.lease("a");
  const b = fixture.scheduler.lease("b");
  await settle();
  return { ...fixture, b };
}

describe("retiring a server (swap, changed profile, removal)", () => {
  test("a server being swapped out takes no new request while its in-flight one finishes: the new one waits for its next start", async () => {
    const { world, scheduler, b } = await swapOut();
    assert.equal(scheduler.view("a")!.state, "stopping", "a is retiring, its stream still running");
    let secondA = "";
    const next = scheduler.lease("a").then((launch) => (secondA = launch));
    await settle();
    assert.equal(secondA, "", "a takes no new request while it drains");
    assert.equal(scheduler.view("a")!.inFlight, 1);
    assert.deepEqual(world.log, ["start a"], "never signalled mid-stream");
    scheduler.release("a");
    assert.equal(await b, "b#2");
    scheduler.release("b");
    assert.equal(await next, "a#3", "served by a's next start, after b");
    assert.deepEqual(world.log, [
      "start a",
      "stop a: group g: b starting",
      "start b",
      "stop b: group g: a starting",
      "start a",
    ]);
  });

  /** a swapped out while its stream runs on: the log just before and just after `limitMs`. */
  async function swapOutLasting(limitMs: number, responseTimeoutMs: number) {
    const { world, b } = await swapOut({ responseTimeoutMs });
    world.advance(limitMs - 1);
    await settle();
    const before = [...world.log];
    world.advance(1);
    assert.equal(await b, "b#2");
    return { before, after: world.log };
  }

  test("a stream that outlasts the drain limit (the response timeout) is cut, and the stop says so", async () => {
    const { before, after } = await swapOutLasting(5000, 5000);
    assert.deepEqual(before, ["start a"]);
    assert.deepEqual(after, [
      "start a",
      "stop a: group g: b starting; 1 request still running after 5s",
      "start b",
    ]);
  });

  test("timeout.response: 0 (never) drains for the fixed limit, not for no time at all", async () => {
    const { before, after } = await swapOutLasting(DRAIN_LIMIT_MS, 0);
    assert.deepEqual(before, ["start a"], "still draining");
    assert.equal(after[1], "stop a: group g: b starting; 1 request still running after 10m");
  });

  test("a changed profile restarts only after the requests on the old launch finish", async () => {
    const { world, scheduler } = setup(server("a"));
    await scheduler.lease("a");
    await scheduler.reload({ a: server("a", { profileHash: "a-2" }) });
    const next = scheduler.lease("a");
    await settle();
    assert.deepEqual(world.log, ["start a"], "the old launch keeps its stream");
    scheduler.release("a");
    assert.equal(await next, "a#2");
    assert.deepEqual(world.log, ["start a", "stop a: profile changed", "start a"]);
  });

  test("a server removed from the config finishes its requests before it stops", async () => {
    const { world, scheduler } = setup(server("a"), server("b"));
    await scheduler.lease("a");
    const reloaded = scheduler.reload({ b: server("b") });
    await settle();
    assert.deepEqual(world.log, ["start a"]);
    scheduler.release("a");
    await reloaded;
    assert.deepEqual(world.log, ["start a", "stop a: removed from config"]);
    assert.equal(scheduler.view("a"), undefined);
  });
});

/** A server with a 1 s ttl that has answered one request and is idle from time 0. */
async function idleServer() {
  const fixture = setup(server("a", { ttlMs: 1000 }));
  await fixture.scheduler.lease("a");
  fixture.scheduler.release("a");
  /** Moves the clock, lets what it triggered run, and tells the server's state. */
  const wait = async (ms: number) => {
    fixture.world.advance(ms);
    await settle();
    return fixture.scheduler.view("a")!.state;
  };
  return { ...fixture, wait };
}

describe("ttl", () => {
  test("unloads a server once it has been idle for its ttl", async () => {
    const { world, wait } = await idleServer();
    assert.equal(await wait(999), "ready");
    assert.equal(await wait(1), "stopped");
    assert.deepEqual(world.log, ["start a", "stop a: ttl"]);
  });

  test("a request in between cancels it; the idle time counts again from its end", async () => {
    const { scheduler, wait } = await idleServer();
    await wait(500);
    await scheduler.lease("a");
    assert.equal(await wait(5000), "ready", "never unloaded under a request");
    scheduler.release("a");
    assert.equal(await wait(999), "ready");
    assert.equal(await wait(1), "stopped");
  });

  test("the ttl stop checks idleness again when its turn comes: a request that arrived meanwhile keeps the server", async () => {
    const { world, scheduler } = await idleServer();
    world.advance(1000);
    const lease = scheduler.lease("a");
    await settle();
    assert.equal(await lease, "a#1");
    assert.equal(scheduler.view("a")!.state, "ready");
    assert.deepEqual(world.log, ["start a"]);
  });

  test("a request that came and went meanwhile re-arms the ttl instead of being cut short", async () => {
    const { world, scheduler, wait } = await idleServer();
    world.advance(1000);
    void scheduler.lease("a");
    scheduler.release("a");
    assert.equal(await wait(0), "ready");
    assert.equal(await wait(1000), "stopped");
  });
});

describe("queue", () => {
  test("concurrent leases share one start and are all counted in flight", async () => {
    const { world, scheduler } = setup(server("a"));
    world.hold("a");
    const leases = [scheduler.lease("a"), scheduler.lease("a"), scheduler.lease("a")];
    await settle();
    world.finish("a");
    assert.deepEqual(await Promise.all(leases), ["a#1", "a#1", "a#1"]);
    assert.deepEqual(world.log, ["start a"]);
    assert.equal(scheduler.view("a")!.inFlight, 3);
  });

  test("a failed start fails every waiter with its StartError; the next request tries again", async () => {
    const { world, scheduler, states } = setup(server("a"));
    world.hold("a");
    const leases = [scheduler.lease("a"), scheduler.lease("a")];
    await settle();
    const failure = new StartError("a exited while starting", ["last line"]);
    world.fail("a", failure);
    for (const lease of leases) await assert.rejects(lease, (error) => error === failure);
    assert.equal(scheduler.view("a")!.state, "failed");
    assert.equal(scheduler.view("a")!.error, "a exited while starting");
    assert.deepEqual(states, ["a starting", "a failed"]);
    assert.equal(scheduler.view("a")!.inFlight, 0, "failed waiters hold no place");
    const retry = scheduler.lease("a");
    await settle();
    world.finish("a");
    assert.equal(await retry, "a#2");
  });

  test("a swap queued behind a start does not stop the server between ready and counted", async () => {
    const { world, scheduler } = setup(server("a", { group: "g" }), server("b", { group: "g" }));
    world.hold("a");
    const waiting = [scheduler.lease("a"), scheduler.lease("a")];
    await settle();
    const b = scheduler.lease("b");
    world.finish("a");
    assert.deepEqual(await Promise.all(waiting), ["a#1", "a#1"]);
    await settle();
    assert.deepEqual(world.log, ["start a"], "b waits for both requests to a");
    scheduler.release("a");
    await settle();
    assert.deepEqual(world.log, ["start a"]);
    scheduler.release("a");
    assert.equal(await b, "b#2");
    assert.deepEqual(world.log, ["start a", "stop a: group g: b starting", "start b"]);
  });
});

describe("eviction", () => {
  test("the running members of the target's group, and nothing else", () => {
    const scheduled = (name: string, state: "ready" | "starting" | "stopped", group?: string) => ({
      server: server(name, { group }),
      state,
      stale: false,
      inFlight: 0,
      requests: 0,
      lastActive: 0,
    });
    const running = [
      scheduled("target", "stopped", "g"),
      scheduled("rival", "ready", "g"),
      scheduled("loading", "starting", "g"),
      scheduled("idle", "stopped", "g"),
      scheduled("elsewhere", "ready", "h"),
      scheduled("alone", "ready"),
    ];
    assert.deepEqual(evictionFor(server("target", { group: "g" }), running), ["rival", "loading"]);
    assert.deepEqual(evictionFor(server("target"), running), [], "a server outside groups evicts nothing");
  });

  test("a start stops its group rival and leaves servers in other groups running", async () => {
    const { world, scheduler } = setup(
      server("a", { group: "g" }),
      server("b", { group: "g" }),
      server("c", { group: "h" }),
      server("d"),
    );
    for (const name of ["a", "c", "d", "b"]) await scheduler.ensureReady(name);
    assert.deepEqual(world.log, ["start a", "start c", "start d", "stop a: group g: b starting", "start b"]);
    assert.deepEqual(
      ["a", "b", "c", "d"].map((name) => scheduler.view(name)!.state),
      ["stopped", "ready", "ready", "ready"],
    );
  });
});

describe("reload", () => {
  test("a server removed from the config is stopped and forgotten", async () => {
    const { world, scheduler } = setup(server("a"), server("b"));
    await scheduler.ensureReady("a");
    await scheduler.reload({ b: server("b") });
    assert.deepEqual(world.log, ["start a", "stop a: removed from config"]);
    assert.equal(scheduler.view("a"), undefined);
    await assert.rejects(scheduler.lease("a"), /no server named `a`/);
  });

  test("a changed profile is marked stale, keeps serving, and restarts with the new profile on next use", async () => {
    const { world, scheduler } = setup(server("a"));
    await scheduler.ensureReady("a");
    await scheduler.reload({ a: server("a", { profileHash: "a-2" }) });
    assert.equal(scheduler.view("a")!.stale, true);
    assert.equal(scheduler.view("a")!.state, "ready");
    assert.deepEqual(world.log, ["start a"], "nothing restarts until the server is used");
    assert.equal(await scheduler.lease("a"), "a#2");
    assert.deepEqual(world.log, ["start a", "stop a: profile changed", "start a"]);
    assert.equal(world.started[1]!.profileHash, "a-2");
    assert.equal(scheduler.view("a")!.stale, false);
  });

  test("an unchanged profile stays as it is", async () => {
    const { world, scheduler } = setup(server("a"));
    await scheduler.ensureReady("a");
    await scheduler.reload({ a: server("a") });
    assert.equal(scheduler.view("a")!.stale, false);
    await scheduler.lease("a");
    assert.deepEqual(world.log, ["start a"]);
  });
});

describe("crashes", () => {
  test("a ready server that dies is failed with the reason, and the next request starts it again", async () => {
    const { world, scheduler } = setup(server("a", { ttlMs: 1000 }));
    await scheduler.ensureReady("a");
    scheduler.crashed("a", "a exited unexpectedly (signal SIGKILL)");
    assert.equal(scheduler.view("a")!.state, "failed");
    assert.equal(scheduler.view("a")!.error, "a exited unexpectedly (signal SIGKILL)");
    world.advance(5000);
    await settle();
    assert.deepEqual(world.log, ["start a"], "no ttl stop of a dead server");
    assert.equal(await scheduler.lease("a"), "a#2");
    assert.equal(scheduler.view("a")!.error, undefined);
  });
});

describe("crash loops", () => {
  /** A server that crashes as soon as it is ready, `times` times, `apartMs` apart. */
  async function crashing(times: number, apartMs: number) {
    const fixture = setup(server("a"));
    for (let crash = 0; crash < times; crash++) {
      await fixture.scheduler.lease("a");
      fixture.scheduler.crashed("a", "a exited unexpectedly (signal SIGILL)");
      fixture.scheduler.release("a");
      fixture.world.advance(apartMs);
    }
    return fixture;
  }

  test(`${CRASH_LOOP.crashes} crashes within a minute: requests get why instead of another start`, async () => {
    const { world, scheduler } = await crashing(3, 10_000);
    await assert.rejects(
      scheduler.lease("a"),
      (error) =>
        error instanceof StartError &&
        /a crashed 3 times in 1m \(last: a exited unexpectedly \(signal SIGILL\)\); rig does not restart it for requests until asked: `rig serve a`/.test(
          error.message,
        ),
    );
    assert.equal(world.log.filter((line) => line === "start a").length, 3, "no fourth start");
    assert.match(scheduler.view("a")!.error!, /crashed 3 times/);
  });

  test("asking for it (rig serve) starts it again; so does a stop", async () => {
    const { world, scheduler } = await crashing(3, 0);
    await scheduler.ensureReady("a");
    assert.equal(scheduler.view("a")!.state, "ready");
    assert.equal(await scheduler.lease("a"), "a#4");
    scheduler.release("a");
    const again = await crashing(3, 0);
    await again.scheduler.stop("a");
    assert.equal(await again.scheduler.lease("a"), "a#4");
    assert.equal(world.log.filter((line) => line === "start a").length, 4);
  });

  test(`${CRASH_LOOP.crashes} failed starts within a minute hold it too: an agent's retries get why, not a load each`, async () => {
    const { world, scheduler } = setup(server("a"));
    for (let start = 0; start < CRASH_LOOP.crashes; start++) {
      world.hold("a");
      const lease = scheduler.lease("a");
      await settle();
      world.fail("a", new StartError("a exited while starting (exit code 3)"));
      await assert.rejects(lease);
      world.advance(5000);
    }
    await assert.rejects(
      scheduler.lease("a"),
      (error) =>
        error instanceof StartError &&
        /a failed to start 3 times in 1m \(last: a exited while starting \(exit code 3\)\); rig does not start it for requests until asked: `rig serve a`/.test(
          error.message,
        ),
    );
    assert.equal(world.log.filter((line) => line === "start a").length, 3, "no fourth start");
    const asked = scheduler.ensureReady("a");
    await settle();
    world.finish("a");
    await asked;
    assert.equal(scheduler.view("a")!.state, "ready", "rig serve starts it again");
  });

  test("crashes further apart than a minute keep being restarted", async () => {
    const { scheduler } = await crashing(3, 30_000);
    assert.equal(await scheduler.lease("a"), "a#4");
  });
});

describe("shutdown", () => {
  test("once the daemon is stopping, no start happens: neither one a request queued before nor a new one", async () => {
    const { world, scheduler } = setup(server("a", { group: "g" }), server("b", { group: "g" }));
    world.hold("a");
    const a = scheduler.lease("a");
    await settle();
    const b = scheduler.lease("b");
    await settle();
    const closed = scheduler.close("gateway stopped");
    world.finish("a");
    await assert.rejects(b, /rig is stopping \(gateway stopped\)/);
    await a.then(
      () => {},
      () => {},
    );
    await closed;
    await assert.rejects(scheduler.lease("b"), /rig is stopping/);
    assert.deepEqual(
      world.log.filter((line) => line.startsWith("start")),
      ["start a"],
      "b never started behind the shutdown",
    );
    assert.equal(scheduler.view("a")!.state, "stopped");
  });
});
