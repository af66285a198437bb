import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { admissionFor, queueOrder } from "../../src/supervisor/admission.ts";
import { MAX_PASSES } from "../../src/supervisor/memory-queue.ts";
import { BATCH_EXTRA_REQUESTS, StartError } from "../../src/supervisor/scheduler.ts";
import { server, settle, setupWith } from "./fake-world.ts";

// Memory admission with fake effects: servers' sizes and the budget are data, the clock is the test's.

const GB = 1e9;

/** Three 4 GB servers in a 10 GB budget: any two fit, all three do not. */
function threeOfFour(options = {}) {
  return setupWith(
    { budget: 10 * GB, sizes: { a: 4 * GB, b: 4 * GB, c: 4 * GB }, options },
    server("a"),
    server("b"),
    server("c", { startTimeoutMs: 5000 }),
  );
}

describe("admission", () => {
  test("servers that fit start side by side; one that does not stops the least recently used idle one", async () => {
    const { world, scheduler } = threeOfFour();
    await scheduler.lease("a");
    await scheduler.lease("b");
    world.advance(1000);
    scheduler.release("b");
    world.advance(1000);
    scheduler.release("a");
    assert.equal(await scheduler.lease("c"), "c#3");
    assert.deepEqual(world.log, ["start a", "start b", "stop b: memory: c needs room", "start c"]);
    assert.deepEqual(world.heldAtStarts, [4 * GB, 8 * GB, 8 * GB]);
  });

  test("a busy server is never stopped: the request waits until it is idle, then takes its room", async () => {
    const { world, scheduler } = threeOfFour();
    await scheduler.lease("a");
    await scheduler.lease("b");
    const c = scheduler.lease("c");
    world.advance(4000);
    await settle();
    assert.deepEqual(world.log, ["start a", "start b"], "both still answering: nothing stopped");
    scheduler.release("a");
    assert.equal(await c, "c#3");
    assert.deepEqual(world.log, ["start a", "start b", "stop a: memory: c needs room", "start c"]);
  });

  test("a request that waits past the start timeout is told what it needs, what is free and what is busy", async () => {
    const { world, scheduler } = threeOfFour();
    await scheduler.lease("a");
    await scheduler.lease("b");
    const c = scheduler.lease("c");
    await settle();
    world.advance(5000);
    await assert.rejects(
      c,
      (error) =>
        error instanceof StartError &&
        error.message ===
          "not enough memory for c: it needs 4.00 GB of RAM, 2.00 GB of RAM free; busy: a (1 request, 4.00 GB), b (1 request, 4.00 GB); gave up after 5s (timeout.start)",
    );
    assert.deepEqual(world.log, ["start a", "start b"]);
  });

  test("a server larger than the whole budget is refused at once, with what to change", async () => {
    const { world, scheduler } = setupWith({ budget: 10 * GB, sizes: { big: 12 * GB } }, server("big"));
    await assert.rejects(
      scheduler.lease("big"),
      /it needs 12.0 GB of RAM, more than rig's budget of 10.0 GB of RAM/,
    );
    assert.deepEqual(world.log, []);
  });

  test("a server of unknown size is never held back", async () => {
    const { world, scheduler } = setupWith(
      { budget: 1 * GB, sizes: { a: 1 * GB } },
      server("a"),
      server("remote"),
    );
    await scheduler.lease("a");
    assert.equal(await scheduler.lease("remote"), "remote#2");
    assert.deepEqual(world.log, ["start a", "start remote"]);
  });

  test("a group swap frees its rival's memory: nothing else is stopped for it", async () => {
    const { world, scheduler } = setupWith(
      { budget: 10 * GB, sizes: { a: 6 * GB, b: 6 * GB, c: 4 * GB } },
      server("a", { group: "g" }),
      server("b", { group: "g" }),
      server("c"),
    );
    await scheduler.ensureReady("a");
    await scheduler.ensureReady("c");
    await scheduler.ensureReady("b");
    assert.deepEqual(world.log, ["start a", "start c", "stop a: group g: b starting", "start b"]);
    assert.deepEqual(world.heldAtStarts, [6 * GB, 10 * GB, 10 * GB]);
  });
});

/** a and b do not fit together: a runs, b's batch takes its place, a comes back. */
const SWAP_AND_BACK = [
  "start a",
  "stop a: memory: b needs room",
  "start b",
  "stop b: memory: a needs room",
  "start a",
];

/** a (6 GB) holding one request while requests for b (6 GB) wait, in a 10 GB budget. */
function twoThatDoNotFit(options = {}) {
  return setupWith({ budget: 10 * GB, sizes: { a: 6 * GB, b: 6 * GB }, options }, server("a"), server("b"));
}

describe("the queue", () => {
  test(`a contended server takes ${BATCH_EXTRA_REQUESTS} more requests, then the waiting batch has its turn`, async () => {
    const { world, scheduler } = twoThatDoNotFit();
    await scheduler.lease("a");
    const b = [scheduler.lease("b"), scheduler.lease("b")];
    await settle();
    for (let extra = 0; extra < BATCH_EXTRA_REQUESTS; extra++)
      assert.equal(await scheduler.lease("a"), "a#1");
    let lateA = "";
    const late = scheduler.lease("a").then((launch) => (lateA = launch));
    await settle();
    assert.equal(lateA, "", "a takes no more while b waits");
    for (let request = 0; request <= BATCH_EXTRA_REQUESTS; request++) scheduler.release("a");
    assert.deepEqual(await Promise.all(b), ["b#2", "b#2"], "b's waiting requests are served by one start");
    scheduler.release("b");
    scheduler.release("b");
    assert.equal(await late, "a#3");
    assert.deepEqual(world.log, SWAP_AND_BACK);
  });

  test("with no extra requests (first-come order) a contended server takes no new one", async () => {
    const { world, scheduler } = twoThatDoNotFit({ batchExtraRequests: 0 });
    await scheduler.lease("a");
    const b = scheduler.lease("b");
    await settle();
    const nextA = scheduler.lease("a");
    scheduler.release("a");
    assert.equal(await b, "b#2");
    scheduler.release("b");
    assert.equal(await nextA, "a#3");
    assert.deepEqual(world.log, SWAP_AND_BACK);
  });

  test("priority orders the waiting batches: the higher one starts first", async () => {
    const { world, scheduler } = setupWith(
      { budget: 10 * GB, sizes: { a: 8 * GB, low: 8 * GB, high: 8 * GB } },
      server("a"),
      server("low"),
      server("high", { priority: 10 }),
    );
    await scheduler.lease("a");
    const low = scheduler.lease("low");
    world.advance(1);
    const high = scheduler.lease("high");
    await settle();
    scheduler.release("a");
    assert.equal(await high, "high#2");
    scheduler.release("high");
    assert.equal(await low, "low#3");
    assert.deepEqual(
      world.log.filter((line) => line.startsWith("start")),
      ["start a", "start high", "start low"],
    );
  });

  test(`a batch passed over ${MAX_PASSES} times goes first, whatever the priority of those behind it`, () => {
    const waiting = [
      { name: "old", since: 0, priority: 0, passes: MAX_PASSES },
      { name: "urgent", since: 5, priority: 10, passes: 0 },
      { name: "new", since: 9, priority: 0, passes: 0 },
    ];
    assert.deepEqual(
      queueOrder(waiting, MAX_PASSES).map((entry) => entry.name),
      ["old", "urgent", "new"],
    );
    waiting[0]!.passes = MAX_PASSES - 1;
    assert.deepEqual(
      queueOrder(waiting, MAX_PASSES).map((entry) => entry.name),
      ["urgent", "old", "new"],
    );
  });

  test("a batch behind a waiting one starts at once in room the first does not need, never in its room", async () => {
    const { world, scheduler } = setupWith(
      { budget: 10 * GB, sizes: { a: 6 * GB, big: 8 * GB, small: 2 * GB, medium: 4 * GB } },
      server("a"),
      server("big"),
      server("small"),
      server("medium"),
    );
    await scheduler.lease("a");
    const big = scheduler.lease("big");
    await settle();
    assert.equal(
      await scheduler.lease("small"),
      "small#2",
      "big will have a's 6 GB and 2 of the 4 free: the other 2 are small's now",
    );
    let mediumStarted = false;
    const medium = scheduler.lease("medium").then(() => (mediumStarted = true));
    await settle();
    assert.equal(mediumStarted, false, "medium would take the room big waits for");
    scheduler.release("a");
    scheduler.release("small");
    assert.equal(await big, "big#3");
    assert.deepEqual(world.log.slice(0, 4), [
      "start a",
      "start small",
      "stop a: memory: big needs room",
      "start big",
    ]);
    scheduler.release("big");
    await medium;
  });
});

describe("the budget holds under interleaved requests", () => {
  test("many clients on three servers that do not all fit: every request answered, the budget never exceeded", async () => {
    const sizes = { a: 5 * GB, b: 4 * GB, c: 3 * GB };
    const { world, scheduler } = setupWith({ budget: 9 * GB, sizes }, server("a"), server("b"), server("c"));
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const names = Object.keys(sizes);
    const clients = Array.from({ length: 5 }, async (_, client) => {
      for (let turn = 0; turn < 20; turn++) {
        const name = names[Math.floor(random() * names.length)]!;
        await scheduler.lease(name);
        for (let wait = Math.floor(random() * 3); wait > 0; wait--) await settle();
        scheduler.release(name);
        await settle();
        if (client === 0) world.advance(10);
      }
    });
    await Promise.all(clients);
    assert.ok(Math.max(...world.heldAtStarts) <= 9 * GB, `held at starts: ${world.heldAtStarts.join(", ")}`);
    assert.ok(world.started.length >= 3);
  });

  test("the decision alone: idle servers go least recently used first, and only as many as needed", () => {
    const resident = (name: string, gb: number, lastActive: number, idle = true) => ({
      name,
      need: { ram: gb * GB },
      inFlight: idle ? 0 : 1,
      lastActive,
      idle,
    });
    const residents = [resident("old", 2, 1), resident("older", 3, 0), resident("busy", 4, 0, false)];
    assert.deepEqual(
      admissionFor({ ram: 3 * GB }, residents, { limit: { ram: 10 * GB } }, { mayEvict: true }),
      {
        kind: "admit",
        evict: ["older"],
      },
    );
    assert.deepEqual(
      admissionFor({ ram: 6 * GB }, residents, { limit: { ram: 10 * GB } }, { mayEvict: true }),
      { kind: "admit", evict: ["older", "old"] },
    );
    assert.deepEqual(
      admissionFor({ ram: 7 * GB }, residents, { limit: { ram: 10 * GB } }, { mayEvict: true }),
      { kind: "wait", busy: ["busy"], free: { ram: 1 * GB } },
      "the busy server's 4 GB are needed: wait, stop nothing",
    );
    assert.deepEqual(
      admissionFor(
        { ram: 2 * GB },
        residents,
        { limit: { ram: 10 * GB }, available: { ram: 1 * GB } },
        { mayEvict: true },
      ),
      { kind: "admit", evict: ["older"] },
      "the machine's free memory counts too",
    );
  });
});
