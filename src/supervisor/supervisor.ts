import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatDuration } from "../config/duration.ts";
import type { Config, Server } from "../config/loader.ts";
import { fingerprint } from "../inventory/fingerprint.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { LifecycleStep } from "../runtimes/types.ts";
import { describeHolder, freePort, isPortFree } from "../system/ports.ts";
import { groupAlive, isAlive, processStartTime, signalGroup, sleep } from "../system/process.ts";
import { shellLine } from "../system/shell.ts";
import { which } from "../system/which.ts";
import { postJson, probe } from "./health.ts";
import { LogSink } from "./log.ts";
import { type LaunchPlan, launchPlan } from "./plan.ts";
import { type ServerState, type ServerStatus, stoppedStatus } from "./status.ts";

/** A start that failed: the reason in the user's terms, and the last log lines. */
export class StartError extends Error {
  constructor(
    message: string,
    readonly logTail: string[] = [],
  ) {
    super(message);
    this.name = "StartError";
  }
}

const READY_POLL_MS = 50;
const STOP_GRACE_MS = 10_000;
const SETPRIV = process.platform === "linux" ? which("setpriv") : undefined;

interface Slot {
  server: Server;
  state: ServerState;
  plan?: LaunchPlan;
  child?: ChildProcess;
  pid?: number;
  port?: number;
  /** Launched by someone else (a shared runtime already running): never signalled. */
  external: boolean;
  launchId?: number;
  startedAt?: number;
  log?: LogSink;
  error?: string;
  errorTail?: string[];
  inFlight: number;
  requests: number;
  lastActive: number;
  ttlTimer?: NodeJS.Timeout;
  stale: boolean;
  exited?: Promise<void>;
  /** Requests waiting in lease() for this server to be ready. */
  waiting: number;
  /** In-flight places granted to the waiters when the server became ready, not yet taken up. */
  reserved: number;
  /** The queued start every new waiter joins. */
  pendingStart?: Promise<void>;
  /** Why the current stop happens (rig stop, ttl, group swap…), recorded as the launch's outcome. */
  stopReason?: string;
}

interface PidRecord {
  pid: number;
  startTime?: string;
  port?: number;
}

export interface SupervisorEvents {
  progress: [name: string, elapsedMs: number, lastLine: string | undefined];
  state: [name: string, state: ServerState];
}

/**
 * Owns every server process: one state machine per server (stopped → starting → ready → stopping,
 * and failed), groups, ttl, logs, the launch ledger and the pid file that lets a restarted daemon
 * clean up after one that was killed.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly slots = new Map<string, Slot>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly pidFile: string;

  constructor(
    private config: Config,
    private readonly ledger?: Ledger,
  ) {
    super();
    this.pidFile = join(config.home.state, "servers.json");
  }

  /** Kills server processes a previous daemon left behind (checked by pid and start time). */
  reapLeftovers(): string[] {
    const reaped: string[] = [];
    for (const [name, record] of Object.entries(this.readPids())) {
      if (!isAlive(record.pid)) continue;
      if (record.startTime && processStartTime(record.pid) !== record.startTime) continue;
      signalGroup(record.pid, "SIGKILL");
      reaped.push(`${name} (pid ${record.pid})`);
    }
    this.writePids({});
    return reaped;
  }

  private readPids(): Record<string, PidRecord> {
    try {
      return JSON.parse(readFileSync(this.pidFile, "utf8"));
    } catch {
      return {};
    }
  }

  private writePids(records: Record<string, PidRecord>): void {
    if (!existsSync(this.config.home.state)) return;
    writeFileSync(`${this.pidFile}.tmp`, JSON.stringify(records, null, 2));
    renameSync(`${this.pidFile}.tmp`, this.pidFile);
  }

  private savePids(): void {
    const records: Record<string, PidRecord> = {};
    for (const [name, slot] of this.slots) {
      if (
        slot.pid &&
        !slot.external &&
        (slot.state === "starting" || slot.state === "ready" || slot.state === "stopping")
      ) {
        records[name] = { pid: slot.pid, startTime: processStartTime(slot.pid), port: slot.port };
      }
    }
    this.writePids(records);
  }

  private slot(name: string): Slot {
    let slot = this.slots.get(name);
    if (!slot) {
      const server = this.config.servers[name];
      if (!server) throw new StartError(`no server named \`${name}\``);
      slot = {
        server,
        state: "stopped",
        waiting: 0,
        reserved: 0,
        external: false,
        inFlight: 0,
        requests: 0,
        lastActive: Date.now(),
        stale: false,
      };
      this.slots.set(name, slot);
    }
    return slot;
  }

  /**
   * Every transition runs on one chain per group (or per server outside groups), so each decision sees
   * the state the previous one left, and a swap inside a group never waits on another chain.
   */
  private enqueue<T>(slot: Slot, operation: () => Promise<T>): Promise<T> {
    const key = slot.server.group ? `group\u0000${slot.server.group}` : `server\u0000${slot.server.name}`;
    const result = (this.queues.get(key) ?? Promise.resolve()).then(operation, operation);
    this.queues.set(
      key,
      result.catch(() => {}),
    );
    return result;
  }

  private setState(name: string, slot: Slot, state: ServerState): void {
    slot.state = state;
    this.emit("state", name, state);
  }

  get currentConfig(): Config {
    return this.config;
  }

  /** The upstream base URL and model of a ready server. */
  endpoint(name: string): { baseUrl: string; model: string; plan: LaunchPlan } | undefined {
    const slot = this.slots.get(name);
    if (slot?.state !== "ready" || !slot.plan) return undefined;
    return { baseUrl: slot.plan.baseUrl, model: slot.plan.upstreamModel, plan: slot.plan };
  }

  /** Brings a server to ready (starting it, or restarting a stale one); concurrent callers share one start. */
  ensureReady(name: string): Promise<void> {
    const slot = this.slot(name);
    if (slot.state === "ready" && !slot.stale) return Promise.resolve();
    // Everyone waiting for this server joins the start already queued, so queued requests for one
    // model are served together when it is ready instead of each swapping the group again.
    if (slot.pendingStart) return slot.pendingStart;
    const start = this.enqueue(slot, async () => {
      if (slot.state === "ready" && !slot.stale) return;
      if (slot.state === "ready" && slot.stale) await this.stopNow(name, slot, "profile changed");
      await this.startNow(name, slot);
    }).finally(() => {
      if (slot.pendingStart === start) slot.pendingStart = undefined;
    });
    slot.pendingStart = start;
    return start;
  }

  /**
   * Brings the server to ready and counts one request in flight, atomically: a stop (ttl, group swap,
   * reload) never lands between "ready" and "counted". Requests still waiting for a start are not in
   * flight, so a group swap never waits on them.
   */
  async lease(name: string): Promise<{ baseUrl: string; model: string }> {
    for (;;) {
      const slot = this.slot(name);
      if (slot.state === "ready" && !slot.stale && slot.plan) {
        slot.inFlight++;
        slot.requests++;
        clearTimeout(slot.ttlTimer);
        return { baseUrl: slot.plan.baseUrl, model: slot.plan.upstreamModel };
      }
      slot.waiting++;
      try {
        await this.ensureReady(name);
      } finally {
        slot.waiting--;
      }
      if (slot.reserved > 0) {
        slot.reserved--;
        if (slot.state === "ready" && slot.plan) {
          slot.requests++;
          return { baseUrl: slot.plan.baseUrl, model: slot.plan.upstreamModel };
        }
        slot.inFlight--;
      }
    }
  }

  release(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    slot.inFlight = Math.max(0, slot.inFlight - 1);
    slot.lastActive = Date.now();
    if (slot.inFlight === 0) this.armTtl(name, slot);
  }

  private armTtl(name: string, slot: Slot): void {
    clearTimeout(slot.ttlTimer);
    if (!slot.server.ttlMs || slot.state !== "ready") return;
    slot.ttlTimer = setTimeout(() => {
      if (slot.inFlight === 0 && slot.state === "ready") this.stop(name, "ttl").catch(() => {});
    }, slot.server.ttlMs);
    slot.ttlTimer.unref();
  }

  stop(name: string, reason = "stopped"): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) {
      if (!this.config.servers[name]) return Promise.reject(new StartError(`no server named \`${name}\``));
      return Promise.resolve();
    }
    return this.enqueue(slot, () => this.stopNow(name, slot, reason));
  }

  async stopAll(reason = "stopped"): Promise<void> {
    await Promise.all([...this.slots.keys()].map((name) => this.stop(name, reason).catch(() => {})));
  }

  status(): ServerStatus[] {
    return Object.values(this.config.servers).map((server) => {
      const slot = this.slots.get(server.name);
      if (!slot) return stoppedStatus(server);
      const running =
        slot && (slot.state === "ready" || slot.state === "starting" || slot.state === "stopping");
      const ttlLeft =
        slot?.state === "ready" && server.ttlMs && slot.inFlight === 0
          ? Math.max(0, Math.round((slot.lastActive + server.ttlMs - Date.now()) / 1000))
          : null;
      return {
        name: server.name,
        runtime: server.runtime,
        state: slot?.state ?? "stopped",
        pid: running ? (slot.pid ?? null) : null,
        port: running ? (slot.port ?? null) : null,
        uptime_s: running && slot.startedAt ? Math.round((Date.now() - slot.startedAt) / 1000) : null,
        ttl_left_s: ttlLeft,
        requests: slot?.requests ?? 0,
        in_flight: slot?.inFlight ?? 0,
        error: slot?.state === "failed" ? (slot.error ?? null) : null,
        stale: slot?.stale ?? false,
      };
    });
  }

  /** The last log lines of a server's current or last launch. */
  tail(name: string, count = 20): string[] {
    const slot = this.slots.get(name);
    return slot?.errorTail ?? slot?.log?.tail(count) ?? [];
  }

  /** Applies a new config: removed servers stop, changed profiles restart on their next use. */
  async reload(config: Config): Promise<void> {
    this.config = config;
    for (const [name, slot] of this.slots) {
      const server = config.servers[name];
      if (!server) {
        await this.stop(name, "removed from config").catch(() => {});
        this.slots.delete(name);
        continue;
      }
      if (server.profileHash !== slot.server.profileHash && slot.state !== "stopped") slot.stale = true;
      if (slot.state === "stopped" || slot.state === "failed") slot.server = server;
      else slot.server = { ...server, profileHash: slot.server.profileHash };
    }
  }

  private async drain(slot: Slot, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (slot.inFlight > 0 && Date.now() < deadline) await sleep(25);
  }

  private async startNow(name: string, slot: Slot): Promise<void> {
    const server = this.config.servers[name];
    if (!server) throw new StartError(`no server named \`${name}\``);
    slot.server = server;
    slot.stale = false;
    slot.error = undefined;
    slot.errorTail = undefined;

    if (server.group) {
      const rivals = [...this.slots.entries()].filter(
        ([other, otherSlot]) =>
          other !== name &&
          otherSlot.server.group === server.group &&
          (otherSlot.state === "ready" || otherSlot.state === "starting"),
      );
      for (const [other, otherSlot] of rivals) {
        await this.drain(otherSlot, otherSlot.server.responseTimeoutMs);
        await this.stopNow(other, otherSlot, `group ${server.group}: ${name} starting`);
      }
    }

    const host = server.host ?? "127.0.0.1";
    const adapter = launchPlan(this.config, server).adapter;
    const port = server.port ?? (adapter.sharedProcess ? undefined : await freePort(host));
    const plan = launchPlan(this.config, server, port);
    const fail = (message: string, tail: string[] = []): never => {
      slot.error = message;
      slot.errorTail = tail;
      this.setState(name, slot, "failed");
      throw new StartError(message, tail);
    };

    if (server.runtime === "llama.cpp" || adapter.modelKind === "path") {
      if (server.modelPath && !existsSync(server.modelPath)) {
        const where = this.config.where(["servers", name, "model"]);
        fail(
          `model not found: ${server.modelPath} (servers.${name}.model at ${where.file}:${where.line}:${where.col})`,
        );
      }
    }
    this.setState(name, slot, "starting");
    slot.plan = plan;
    slot.port = port;
    slot.startedAt = Date.now();
    slot.external = false;

    const alreadyUp = plan.adapter.sharedProcess && (await probe(plan.healthUrl, 1000)) === 200;
    if (plan.process && !alreadyUp) {
      const executable = plan.process.argv[0]!;
      if (!which(executable)) {
        const key =
          server.runtime === "command" ? `servers.${name}.command` : `runtimes.${server.runtime}.command`;
        fail(
          `runtime ${server.runtime}: \`${executable}\` not found${executable.includes("/") ? "" : " on PATH"}; install it or set ${key}`,
        );
      }
      if (port !== undefined && !(await isPortFree(host, port))) {
        fail(`port ${port} of server ${name} is already taken by ${describeHolder(port)}`);
      }
      await this.spawnProcess(name, slot, plan);
    } else {
      slot.external = true;
      slot.pid = undefined;
      slot.log ??= new LogSink(join(this.config.home.logs, `${name}.log`));
      if (!alreadyUp) {
        for (const step of plan.adapter.prepare?.(plan.input) ?? []) {
          await this.runStep(step, plan, slot).catch((error: Error) =>
            fail(`${server.runtime} did not start: ${error.message}`, slot.log?.tail() ?? []),
          );
        }
      }
    }

    const readyMs = await this.waitReady(name, slot, plan).catch((error: StartError) => {
      this.killSlot(slot);
      return fail(error.message, error.logTail);
    });
    for (const step of plan.adapter.afterReady?.(plan.input) ?? []) {
      try {
        await this.runStep(step, plan, slot);
      } catch (error) {
        this.killSlot(slot);
        fail(`${server.runtime} did not load the model: ${(error as Error).message}`, slot.log?.tail() ?? []);
      }
    }
    // The requests that waited for this start are counted in flight now, before the next queued
    // transition (a group swap) can see the server idle and stop it under them.
    slot.reserved += slot.waiting;
    slot.inFlight += slot.waiting;
    this.setState(name, slot, "ready");
    if (slot.launchId !== undefined) this.ledger?.launchReady(slot.launchId, readyMs);
    slot.lastActive = Date.now();
    this.armTtl(name, slot);
  }

  private async spawnProcess(name: string, slot: Slot, plan: LaunchPlan): Promise<void> {
    const spec = plan.process!;
    slot.log?.close();
    const log = new LogSink(join(this.config.home.logs, `${name}.log`));
    slot.log = log;
    log.write(`--- rig: launching ${name} at ${new Date().toISOString()}: ${shellLine(spec.argv)}\n`);
    // The server dies with the daemon. KILL, not TERM: when the daemon is gone nobody can wait out a
    // graceful stop or escalate one that hangs (a llama-server once outlived its killed daemon on
    // TERM). Without setpriv, and for a runtime's own child processes, the next daemon reaps what is
    // left from the pid file.
    const argv = SETPRIV ? [SETPRIV, "--pdeathsig", "KILL", "--", ...spec.argv] : spec.argv;
    const child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...spec.env },
      cwd: this.config.home.root,
    });
    slot.child = child;
    slot.pid = child.pid;
    child.stdout!.on("data", (chunk: Buffer) => log.write(chunk));
    child.stderr!.on("data", (chunk: Buffer) => log.write(chunk));
    slot.exited = new Promise((resolve) => child.once("close", () => resolve()));
    child.once("error", (error) => log.write(`--- rig: could not start: ${error.message}\n`));
    child.once("close", (code, signal) => this.onExit(name, slot, child, code, signal));
    if (this.ledger) {
      slot.launchId = this.ledger.launchStarted({
        server: name,
        runtime: slot.server.runtime,
        argv: spec.argv,
        env: spec.env,
        cwd: this.config.home.root,
        configHash: this.config.hash,
        profileHash: slot.server.profileHash,
        modelFingerprint: slot.server.modelPath?.startsWith("/")
          ? fingerprint(slot.server.modelPath)
          : undefined,
        pid: child.pid,
        port: slot.port,
      });
    }
    this.savePids();
  }

  private onExit(
    name: string,
    slot: Slot,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (slot.child !== child) return;
    const expected = slot.state === "stopping";
    const tail = slot.log?.tail() ?? [];
    slot.log?.write(`--- rig: ${name} exited (${signal ? `signal ${signal}` : `code ${code}`})\n`);
    if (slot.launchId !== undefined) {
      this.ledger?.launchEnded(slot.launchId, {
        exitCode: code,
        signal,
        outcome: expected
          ? (slot.stopReason ?? "stopped")
          : slot.state === "starting"
            ? "failed to start"
            : "crashed",
        logTail: expected ? undefined : tail.join("\n"),
      });
    }
    slot.child = undefined;
    if (!expected) {
      slot.error = `${name} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})`;
      slot.errorTail = tail;
      clearTimeout(slot.ttlTimer);
      if (slot.state !== "starting") this.setState(name, slot, "failed");
    }
    this.savePids();
  }

  private async waitReady(name: string, slot: Slot, plan: LaunchPlan): Promise<number> {
    const started = Date.now();
    const deadline = started + slot.server.startTimeoutMs;
    let lastProgress = 0;
    for (;;) {
      if (slot.child === undefined && !slot.external) {
        throw new StartError(
          this.explainFailure(slot, plan, `${name} exited while starting`),
          slot.errorTail ?? slot.log?.tail() ?? [],
        );
      }
      if ((await probe(plan.healthUrl, 1000)) === 200) return Date.now() - started;
      if (Date.now() > deadline) {
        throw new StartError(
          this.explainFailure(
            slot,
            plan,
            `${name} was not ready within ${formatDuration(slot.server.startTimeoutMs)} (raise servers.${name}.timeout.start if it needs longer)`,
          ),
          slot.log?.tail() ?? [],
        );
      }
      if (Date.now() - lastProgress >= 250) {
        lastProgress = Date.now();
        this.emit("progress", name, Date.now() - started, slot.log?.lastLine());
      }
      await sleep(READY_POLL_MS);
    }
  }

  private explainFailure(slot: Slot, plan: LaunchPlan, headline: string): string {
    const text = (slot.errorTail ?? slot.log?.tail() ?? []).join("\n");
    const hint = plan.adapter.failureHints.find((candidate) => candidate.pattern.test(text));
    return hint ? `${headline}: ${hint.message}` : headline;
  }

  private async runStep(step: LifecycleStep, plan: LaunchPlan, slot: Slot): Promise<void> {
    if (step.kind === "http") {
      const result = await postJson(plan.baseUrl + step.path, step.body, slot.server.startTimeoutMs);
      if (result.status >= 400)
        throw new Error(`${step.path} answered ${result.status}: ${result.text.slice(0, 300)}`);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const child = spawn(step.argv[0]!, step.argv.slice(1), {
        stdio: ["ignore", "pipe", "pipe"],
        env: process.env,
      });
      child.stdout.on("data", (chunk: Buffer) => slot.log?.write(chunk));
      child.stderr.on("data", (chunk: Buffer) => slot.log?.write(chunk));
      child.once("error", reject);
      child.once("close", (code) =>
        code === 0 ? resolve() : reject(new Error(`${shellLine(step.argv)} exited with ${code}`)),
      );
    });
  }

  private killSlot(slot: Slot): void {
    if (slot.pid && !slot.external) signalGroup(slot.pid, "SIGKILL");
  }

  private async stopNow(name: string, slot: Slot, reason: string): Promise<void> {
    clearTimeout(slot.ttlTimer);
    if (slot.state === "stopped" || (slot.state === "failed" && !slot.child)) {
      if (slot.state === "failed") this.setState(name, slot, "stopped");
      return;
    }
    this.setState(name, slot, "stopping");
    slot.stopReason = reason;
    slot.log?.write(`--- rig: stopping ${name}: ${reason}\n`);
    if (slot.plan) {
      for (const step of slot.plan.adapter.beforeStop?.(slot.plan.input) ?? []) {
        await this.runStep(step, slot.plan, slot).catch((error: Error) =>
          slot.log?.write(`--- rig: ${error.message}\n`),
        );
      }
    }
    if (slot.child && slot.pid && !slot.external) {
      const pid = slot.pid;
      signalGroup(pid, "SIGTERM");
      const exited = slot.exited ?? Promise.resolve();
      const graceful = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
      if (!graceful || groupAlive(pid)) {
        signalGroup(pid, "SIGKILL");
        await exited;
      }
    }
    if (slot.launchId !== undefined && slot.external) {
      this.ledger?.launchEnded(slot.launchId, { exitCode: null, signal: null, outcome: reason });
    }
    slot.pid = undefined;
    slot.child = undefined;
    slot.plan = undefined;
    this.setState(name, slot, "stopped");
    this.savePids();
  }
}
