import { join } from "node:path";
import type { Config, Server } from "../config/loader.ts";
import { redactSecrets, secretsOf } from "../config/secrets.ts";
import { fingerprint } from "../inventory/fingerprint.ts";
import type { LaunchRecord } from "../ledger/ledger.ts";
import { modelIsPath, runtimeFor } from "../runtimes/index.ts";
import { type LaunchPlan, launchPlan } from "../runtimes/plan.ts";
import type { LifecycleStep, MemoryUse, ProcessSpec, RuntimeAdapter } from "../runtimes/types.ts";
import { freePort } from "../system/ports.ts";
import { settlesWithin } from "../system/process.ts";
import { shellLine } from "../system/shell.ts";
import { exitHint } from "./exits.ts";
import { postJson, probe } from "./health.ts";
import { LogSink } from "./log.ts";
import { LAUNCH_MARKER, largerUse, measureLaunch } from "./measure.ts";
import { savePids } from "./pidfile.ts";
import { downWorkers, missingExecutable, missingModel, takenPort } from "./preflight.ts";
import { kill, runToCompletion, type ServerProcess, spawnServer, terminate } from "./process.ts";
import { waitReady } from "./readiness.ts";
import { StartError } from "./scheduler.ts";
import { describeExit, type LastExit, type LaunchFacts } from "./status.ts";

/** How long a client cut off mid-stream waits for the server's exit to be seen, to be told why. */
const EXIT_NOTICE_MS = 1000;

export interface LaunchEnded {
  exitCode: number | null;
  signal: string | null;
  /** Why it ended: the stop's reason, "failed to start" or "crashed". */
  outcome: string;
  logTail?: string;
}

/** Where the launches of processes rig spawns are recorded; `started` returns the record's id. */
export interface LaunchEvents {
  started(launch: LaunchRecord): number;
  ready(id: number, readyMs: number): void;
  ended(id: number, end: LaunchEnded): void;
  /** What the launch was measured using (its peak so far), beside what rig counted it as before. */
  memory?(id: number, measuredBytes: number, estimateBytes: number | undefined): void;
  /** What the last launch of this profile was measured using: where a new estimate starts from. */
  lastMemory?(profileHash: string): number | undefined;
}

export interface LauncherHooks {
  config(): Config;
  events?: LaunchEvents;
  /** A ready server's process exited without being asked to. */
  crashed(name: string, message: string): void;
  progress(name: string, elapsedMs: number, lastLine: string | undefined): void;
}

/** One server's current or last launch. */
interface Launch extends LaunchFacts {
  plan: LaunchPlan;
  /** The longest a lifecycle step may take: the profile's start timeout (0: no limit). */
  stepTimeoutMs: number;
  log?: LogSink;
  /** The process rig spawned; none for a server that was already up or is not launched (remote). */
  process?: ServerProcess;
  recordId?: number;
  /** Set once rig means it to end: the outcome its exit is recorded with. */
  stopReason?: string;
  ready: boolean;
  /** The log lines of a failed start or an exit, kept as they were when it happened. */
  failureTail?: string[];
  /** The most it has been measured using, per kind of memory. */
  peakMemory?: MemoryUse;
}

/**
 * The effects behind the scheduler: brings one profile up (pre-start checks, spawn or reuse, lifecycle
 * steps, readiness) and down (steps, TERM → KILL), keeps its log, the pid file and the launch records.
 */
/** The newest log line that tells something about the start, as the runtime's adapter words it. */
function progressLine(adapter: RuntimeAdapter, lines: readonly string[] = []): string | undefined {
  for (const line of lines.toReversed()) {
    const text = adapter.progressText ? adapter.progressText(line) : line;
    if (text) return text;
  }
  return undefined;
}

export class Launcher {
  private readonly launches = new Map<string, Launch>();

  constructor(private readonly hooks: LauncherHooks) {}

  facts(name: string): LaunchFacts | undefined {
    return this.launches.get(name);
  }

  /** The last log lines of a server's current or last launch. */
  tail(name: string, count = 20): string[] {
    const launch = this.launches.get(name);
    return launch?.failureTail ?? launch?.log?.tail(count) ?? [];
  }

  async start(server: Server): Promise<LaunchPlan> {
    const config = this.hooks.config();
    const host = server.host ?? "127.0.0.1";
    const port = server.port ?? (runtimeFor(server.runtime).sharedProcess ? undefined : await freePort(host));
    const previous = this.launches.get(server.name);
    const launch: Launch = {
      plan: launchPlan(config, server, port),
      stepTimeoutMs: server.startTimeoutMs,
      port,
      startedAt: Date.now(),
      log: previous?.log,
      lastExit: previous?.lastExit,
      ready: false,
    };
    this.launches.set(server.name, launch);
    try {
      const readyMs = await this.bringUp(config, server, launch);
      launch.ready = true;
      if (launch.recordId !== undefined) this.hooks.events?.ready(launch.recordId, readyMs);
      return launch.plan;
    } catch (error) {
      launch.stopReason = "failed to start";
      if (launch.process) await kill(launch.process);
      launch.failureTail = error instanceof StartError ? error.logTail : [];
      throw error;
    }
  }

  /**
   * How the server's process ended, when it ended after `since`. A connection that drops as the
   * process dies is often seen before its exit is, so a running process is given a moment to end.
   */
  async lastExit(name: string, since: number): Promise<LastExit | undefined> {
    const launch = this.launches.get(name);
    if (launch?.process?.running && launch.startedAt <= since)
      await settlesWithin(launch.process.closed, EXIT_NOTICE_MS);
    const exit = this.launches.get(name)?.lastExit;
    return exit && Date.parse(exit.at) >= since ? exit : undefined;
  }

  /**
   * Reads what a ready launch uses now (its runtime's report, its processes) and keeps the peak, which
   * is what it returns; `estimateBytes` is recorded beside it. Undefined when nothing can be read.
   */
  async measure(name: string, estimateBytes: number | undefined): Promise<MemoryUse | undefined> {
    const launch = this.launches.get(name);
    if (!launch?.ready) return undefined;
    const pid =
      launch.plan.adapter.sharedProcess || !launch.process?.running ? undefined : launch.process.pid;
    const use = await measureLaunch(launch.plan, launch.log?.file, pid);
    if (!use || this.launches.get(name) !== launch || !launch.ready) return launch.peakMemory;
    launch.memoryBytes = use.host + use.accelerator;
    launch.peakMemory = largerUse(launch.peakMemory, use);
    const peak = launch.peakMemory!.host + launch.peakMemory!.accelerator;
    if (launch.recordId !== undefined) this.hooks.events?.memory?.(launch.recordId, peak, estimateBytes);
    return launch.peakMemory;
  }

  async stop(name: string, reason: string): Promise<void> {
    const launch = this.launches.get(name);
    if (!launch) return;
    launch.stopReason = reason;
    launch.log?.write(`--- rig: stopping ${name}: ${reason}\n`);
    for (const step of launch.plan.adapter.beforeStop?.(launch.plan.input) ?? []) {
      await this.runStep(step, launch).catch((error: Error) =>
        launch.log?.write(`--- rig: ${error.message}\n`),
      );
    }
    if (launch.process) await terminate(launch.process);
    this.savePids();
  }

  /** Everything between "starting" and "ready"; throws StartError. Resolves with the time to ready. */
  private async bringUp(config: Config, server: Server, launch: Launch): Promise<number> {
    const { plan } = launch;
    const modelProblem = missingModel(config, server);
    if (modelProblem) throw new StartError(modelProblem.standalone);
    const alreadyUp = plan.adapter.sharedProcess && (await probe(plan.healthUrl, 1000)) === 200;
    if (plan.process && !alreadyUp) {
      const problem =
        missingExecutable(config, server) ??
        (launch.port === undefined ? undefined : await takenPort(server, launch.port)) ??
        (await downWorkers(config, server));
      if (problem) throw new StartError(problem.standalone);
      this.spawn(config, server, launch, plan.process);
    } else {
      launch.log ??= this.openLog(config, server.name);
      if (!alreadyUp) {
        for (const step of plan.adapter.prepare?.(plan.input) ?? []) {
          await this.runStep(step, launch).catch((error: Error) => {
            throw new StartError(`${server.runtime} did not start: ${error.message}`, launch.log?.tail());
          });
        }
      }
    }
    const readyMs = await waitReady({
      name: server.name,
      healthUrl: plan.healthUrl,
      timeoutMs: server.startTimeoutMs,
      exited: () => launch.process?.running === false,
      tail: () => launch.failureTail ?? launch.log?.tail() ?? [],
      hints: plan.adapter.failureHints,
      progress: (elapsedMs) =>
        this.hooks.progress(server.name, elapsedMs, progressLine(plan.adapter, launch.log?.tail(10))),
    });
    for (const step of plan.adapter.afterReady?.(plan.input) ?? []) {
      await this.runStep(step, launch).catch((error: Error) => {
        throw new StartError(
          `${server.runtime} did not load the model: ${error.message}`,
          launch.log?.tail(),
        );
      });
    }
    return readyMs;
  }

  private openLog(config: Config, name: string): LogSink {
    return new LogSink(join(config.home.logs, `${name}.log`));
  }

  private spawn(config: Config, server: Server, launch: Launch, spec: ProcessSpec): void {
    const { name } = server;
    // A fresh log per process, so that its tail tells about this launch only.
    launch.log?.close();
    const log = this.openLog(config, name);
    launch.log = log;
    // Logs are read, pasted and shared: values from ${env:…} are shown as their references.
    log.write(
      `${LAUNCH_MARKER} ${name} at ${new Date().toISOString()}: ${shellLine(redactSecrets(config, spec.argv))}\n`,
    );
    const child = spawnServer(spec, {
      cwd: config.home.root,
      log,
      secrets: secretsOf(config),
      onExit: (code, signal) => this.exited(name, launch, code, signal),
    });
    launch.process = child;
    launch.pid = child.pid;
    launch.recordId = this.hooks.events?.started({
      server: name,
      runtime: server.runtime,
      argv: spec.argv,
      env: spec.env,
      cwd: config.home.root,
      configHash: config.hash,
      profileHash: server.profileHash,
      modelFingerprint: modelIsPath(launch.plan.adapter, server.modelPath)
        ? fingerprint(server.modelPath)
        : undefined,
      pid: child.pid,
      port: launch.port,
    });
    this.savePids();
  }

  private exited(name: string, launch: Launch, code: number | null, signal: NodeJS.Signals | null): void {
    const tail = launch.log?.tail() ?? [];
    const how = signal ? `signal ${signal}` : `code ${code}`;
    launch.log?.write(`--- rig: ${name} exited (${how})\n`);
    const asked = launch.stopReason !== undefined;
    if (!asked) launch.failureTail = tail;
    launch.lastExit = {
      code,
      signal,
      at: new Date().toISOString(),
      hint: asked
        ? `stopped by rig: ${launch.stopReason}`
        : exitHint(launch.plan.adapter, name, { code, signal }, tail),
    };
    if (launch.recordId !== undefined) {
      this.hooks.events?.ended(launch.recordId, {
        exitCode: code,
        signal,
        outcome: launch.stopReason ?? (launch.ready ? "crashed" : "failed to start"),
        logTail: asked && launch.ready ? undefined : tail.join("\n"),
      });
    }
    if (!asked && launch.ready && this.launches.get(name) === launch)
      this.hooks.crashed(name, describeExit(name, launch.lastExit, "exited unexpectedly"));
    this.savePids();
  }

  private savePids(): void {
    const running = Object.fromEntries(
      [...this.launches]
        .filter(([, launch]) => launch.process?.running && launch.pid)
        .map(([name, launch]) => [name, { pid: launch.pid!, port: launch.port }]),
    );
    savePids(this.hooks.config().home.state, running);
  }

  private async runStep(step: LifecycleStep, launch: Launch): Promise<void> {
    if (step.kind === "command")
      return runToCompletion(step.argv, launch.log, secretsOf(this.hooks.config()));
    const result = await postJson(launch.plan.baseUrl + step.path, step.body, launch.stepTimeoutMs);
    if (result.status >= 400)
      throw new Error(`${step.path} answered ${result.status}: ${result.text.slice(0, 300)}`);
  }
}
