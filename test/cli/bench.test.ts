// `rig bench` through the built CLI on the real llama-server and the tiny model: a profile measured
// through the gateway and directly, stored in the ledger and shown in docs/STACK.md; and a `--vary`
// run whose variants are started by the daemon and measured in interleaved rounds.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { rig, rigJson } from "../support/cli.ts";
import { homesForThisFile } from "../support/home.ts";
import { tinyModel } from "../support/llama.ts";
import { type PsRow, SCRIPTED_UPSTREAM, scriptedServer, tinyServers } from "../support/stack.ts";

const newHome = homesForThisFile();

interface Result {
  subject: string;
  path: "direct" | "gateway";
  context: number;
  concurrency: number;
  ttft_ms: number;
  prompt_tps: number;
  gen_tps: number;
  prompt_target: number;
  prompt_tokens: number | null;
  timed_by: string;
  errors: string[];
}

interface BenchJson {
  id: number;
  server: string;
  runtimeVersion: string;
  configHash: string;
  profileHash: string;
  modelFingerprint: { size: number; sample_sha256: string };
  machine: { cpu: string; cores: number; memory_bytes: number };
  settings: { subjects: Array<{ name: string; vary?: string[] }> };
  results: {
    results: Result[];
    gateway: Array<{ context: number; concurrency: number; added_ttft_ms: number }>;
    comparisons: Array<{
      subject: string;
      against: string;
      metric: string;
      ratio: number;
      spread: number[];
      verdict: string;
    }>;
    rounds: Array<{ round: number; order: string[]; steps: Array<{ subject: string; path: string }> }>;
    prompt: { scales: Record<string, { reported: boolean }>; off_target: unknown[] };
  };
}

interface SideBySideJson {
  servers: Array<{ server: string; id: number; runtimeVersion: string }>;
  settings: { prompts: string; servers: string[] };
  results: Omit<BenchJson["results"], "results" | "rounds"> & {
    results: Array<
      Result & {
        prompt: string;
        completion_tokens: number;
        tool_calls?: { well_formed: number; answers: number };
      }
    >;
    rounds: Array<{
      order: string[];
      ready_ms: Record<string, number>;
      steps: Array<{ subject: string; path: string }>;
    }>;
  };
}

describe("rig bench", () => {
  test("measures a profile through the gateway and directly, keeps the run in the ledger and shows it in docs", async () => {
    const home = await newHome(await tinyServers());
    const run = await rigJson<BenchJson>(
      ["bench", "tiny", "--context", "512", "--concurrency", "1,2", "--rounds", "2", "--tokens", "32"],
      { home: home.root, timeoutMs: 300_000 },
    );
    assert.equal(run.server, "tiny");
    const cells = run.results.results.map(
      (result) => `${result.path} ${result.context}×${result.concurrency}`,
    );
    assert.deepEqual(cells.sort(), ["direct 512×1", "direct 512×2", "gateway 512×1", "gateway 512×2"]);
    for (const result of run.results.results) {
      assert.deepEqual(result.errors, []);
      assert.ok(result.ttft_ms > 0 && result.gen_tps > 0 && result.prompt_tps > 0, JSON.stringify(result));
      assert.equal(result.timed_by, "runtime", "llama-server's own timings");
      assert.equal(result.prompt_target, 512 - 32);
      assert.ok(
        Math.abs(result.prompt_tokens! - result.prompt_target) <= 14,
        `${result.prompt_tokens} prompt tokens`,
      );
    }
    assert.equal(run.results.rounds.length, 2);
    assert.equal(run.results.gateway.length, 2);

    const model = await tinyModel();
    assert.equal(run.modelFingerprint.size, statSync(model).size);
    assert.match(run.runtimeVersion, /version/);
    assert.equal(run.machine.cores, availableParallelism());
    assert.ok(run.machine.cpu && run.machine.memory_bytes > 0);
    const status = await rigJson<{ config_hash: string }>(["gateway", "status"], { home: home.root });
    assert.equal(run.configHash, status.config_hash);

    const history = await rigJson<Array<{ id: number; server: string; runtime_version: string }>>(
      ["bench", "--history", "tiny"],
      { home: home.root },
    );
    assert.deepEqual(
      history.map((row) => [row.id, row.server, row.runtime_version]),
      [[run.id, "tiny", run.runtimeVersion]],
    );
    const listed = await rig(["bench", "--history", "tiny"], { home: home.root });
    assert.match(listed.stdout, /rig bench tiny --context 512 --concurrency 1,2/);

    const stack = readFileSync(join(home.root, "docs", "STACK.md"), "utf8");
    const date = new Date().toISOString().slice(0, 10);
    assert.ok(
      stack.includes(`- measured ${date} by \`rig bench tiny --context 512 --concurrency 1,2\`:`),
      stack,
    );
    assert.match(
      stack,
      / {2}- 512 ×1: first token [\d.]+ ms, prompt \d+ tok\/s, generation \d+ tok\/s; through the gateway [+-]?[\d.]+ ms to first token \(median of the rounds' differences\)/,
    );
  });

  test("--vary starts each variant through the daemon, one at a time, in interleaved rounds, and compares them with their spread", async () => {
    const home = await newHome(await tinyServers());
    const yaml = readFileSync(join(home.root, "rig.yaml"), "utf8");
    const run = await rigJson<BenchJson>(
      [
        "bench",
        "tiny",
        "--context",
        "512",
        "--vary",
        "--threads 1 | --threads 2",
        "--rounds",
        "3",
        "--tokens",
        "16",
      ],
      { home: home.root, timeoutMs: 300_000 },
    );
    assert.deepEqual(run.settings.subjects, [
      { name: "tiny~a", vary: ["--threads", "1"] },
      { name: "tiny~b", vary: ["--threads", "2"] },
    ]);
    assert.deepEqual(
      run.results.rounds.map((round) => round.order),
      [
        ["tiny~a", "tiny~b"],
        ["tiny~b", "tiny~a"],
        ["tiny~a", "tiny~b"],
      ],
    );
    for (const round of run.results.rounds)
      assert.deepEqual(round.steps.map((step) => `${step.subject} ${step.path}`).sort(), [
        "tiny~a direct",
        "tiny~a gateway",
        "tiny~b direct",
        "tiny~b gateway",
      ]);
    const metrics = run.results.comparisons.map(
      (comparison) => `${comparison.subject}/${comparison.against} ${comparison.metric}`,
    );
    assert.deepEqual(metrics, [
      "tiny~b/tiny~a ttft_ms",
      "tiny~b/tiny~a prompt_tps",
      "tiny~b/tiny~a gen_tps",
      "tiny~b/tiny~a throughput_tps",
    ]);
    for (const comparison of run.results.comparisons) {
      assert.ok(comparison.spread[0]! <= comparison.ratio && comparison.ratio <= comparison.spread[1]!);
      assert.match(comparison.verdict, /^(better|worse|within noise)$/);
    }

    // Each variant ran as its own process with its own flags, swapped in whenever the other ran before
    // it: a b | b a | a b starts each twice (a round's first subject may still be running from the last).
    for (const [name, threads] of [
      ["tiny~a", "1"],
      ["tiny~b", "2"],
    ] as const) {
      const launches = await rigJson<Array<{ argv: string[] }>>(["history", name], { home: home.root });
      assert.equal(launches.length, 2, `${name} swapped in twice`);
      for (const { argv } of launches) {
        const at = argv.indexOf("--threads");
        assert.equal(argv[at + 1], threads);
        assert.equal(argv.indexOf("--threads", at + 1), -1, "the profile's --threads replaced, not repeated");
      }
    }
    // The variants are gone once the run ends; rig.yaml was never written.
    const ps = await rigJson<PsRow[]>(["ps", "--all"], { home: home.root });
    assert.deepEqual(
      ps.map((row) => row.name),
      ["tiny"],
    );
    assert.equal(readFileSync(join(home.root, "rig.yaml"), "utf8"), yaml);
    const stack = readFileSync(join(home.root, "docs", "STACK.md"), "utf8");
    assert.match(
      stack,
      /`--threads 2` vs `--threads 1`, 512 ×1: first token [\d.]+× \([\d.]+–[\d.]+, (better|worse|within noise)\)/,
    );
  });

  test("two profiles of the tiny model side by side: every round measures both, in a rotating order, on the same prompts", async () => {
    // The same model at one thread and at two: two profiles, started as each says.
    const yaml = await tinyServers({ "tiny-a": "", "tiny-b": "aliases: [tb]" });
    const at = yaml.indexOf("  tiny-b:");
    const home = await newHome(yaml.slice(0, at) + yaml.slice(at).replace("--threads, 1", "--threads, 2"));
    const sideBySide = (run: SideBySideJson) => {
      assert.deepEqual(
        run.servers.map((server) => server.server),
        ["tiny-a", "tiny-b"],
      );
      for (const [index, round] of run.results.rounds.entries()) {
        assert.deepEqual(
          round.order,
          index % 2 ? ["tiny-b", "tiny-a"] : ["tiny-a", "tiny-b"],
          "rotating order",
        );
        assert.deepEqual(
          [...new Set(round.steps.map((step) => step.subject))],
          round.order,
          "both, in that order",
        );
        assert.ok(round.steps.every((step) => step.path === "direct"));
        assert.deepEqual(Object.keys(round.ready_ms).sort(), ["tiny-a", "tiny-b"]);
      }
      for (const result of run.results.results) {
        assert.deepEqual(result.errors, [], JSON.stringify(result));
        assert.ok(result.ttft_ms > 0 && result.prompt_tps > 0, JSON.stringify(result));
      }
      const ratios = run.results.comparisons.filter((comparison) => comparison.metric === "ttft_ms");
      assert.ok(ratios.length > 0);
      for (const comparison of ratios) {
        assert.equal(`${comparison.subject}/${comparison.against}`, "tiny-b/tiny-a");
        assert.ok(comparison.spread[0]! <= comparison.ratio && comparison.ratio <= comparison.spread[1]!);
      }
    };

    // The built-in set, the second server by its alias.
    const builtIn = await rigJson<SideBySideJson>(
      ["bench", "tiny-a", "tb", "--context", "512", "--rounds", "2", "--tokens", "16"],
      { home: home.root, timeoutMs: 300_000 },
    );
    sideBySide(builtIn);
    assert.equal(builtIn.settings.prompts, "built-in");
    assert.deepEqual(
      [...new Set(builtIn.results.results.map((result) => result.prompt))],
      ["short chat", "long prefill", "tool call"],
    );
    for (const result of builtIn.results.results) {
      if (result.prompt === "tool call") {
        assert.equal(result.tool_calls!.answers, 2, "whether a well-formed call came back, every round");
        assert.ok(result.tool_calls!.well_formed >= 0 && result.tool_calls!.well_formed <= 2);
      } else assert.equal(result.tool_calls, undefined);
      if (result.prompt === "long prefill") {
        assert.equal(result.prompt_target, 512 - 16);
        assert.ok(Math.abs(result.prompt_tokens! - 496) <= 14, `${result.prompt_tokens} prompt tokens`);
      }
      if (result.prompt !== "tool call") assert.ok(result.gen_tps > 0, JSON.stringify(result));
    }

    // The user's own requests, one a line.
    const file = home.write(
      "prompts.jsonl",
      [
        '{"messages": [{"role": "user", "content": "Name three rivers."}], "ignore_eos": true}',
        "# a longer turn",
        '{"messages": [{"role": "system", "content": "You answer in one line."}, {"role": "user", "content": "Why is the sky blue?"}], "max_tokens": 8, "ignore_eos": true}',
      ].join("\n"),
    );
    const own = await rigJson<SideBySideJson>(
      ["bench", "tiny-a", "tiny-b", "--prompts", file, "--rounds", "3", "--tokens", "16"],
      { home: home.root, timeoutMs: 300_000 },
    );
    sideBySide(own);
    assert.equal(own.results.rounds.length, 3);
    assert.deepEqual(
      own.results.results.map((result) => `${result.subject} ${result.prompt} ${result.completion_tokens}`),
      [`tiny-a ${file}:1 48`, `tiny-a ${file}:3 24`, `tiny-b ${file}:1 48`, `tiny-b ${file}:3 24`],
      "each line as written: its own max_tokens, else --tokens, in each of 3 rounds",
    );

    // Each server's history holds the runs it was part of.
    for (const name of ["tiny-a", "tiny-b"]) {
      const history = await rigJson<Array<{ id: number }>>(["bench", "--history", name], { home: home.root });
      assert.deepEqual(
        history.map((row) => row.id),
        [own, builtIn].map((run) => run.servers.find((server) => server.server === name)!.id),
      );
    }
    const listed = await rig(["bench", "--history", "tiny-b"], { home: home.root });
    assert.ok(
      listed.stdout.includes(`rig bench tiny-a tiny-b --context 1k --concurrency 1 --prompts "${file}"`),
      listed.stdout,
    );
    assert.match(listed.stdout, /tiny-b vs tiny-a, .*prompts\.jsonl:1 ×1: first token [\d.]+×/);
  });

  test("across runtimes and swaps: an MLX profile against the GGUF one, in one group, both measured every round", async () => {
    // MLX cannot run here: its stand-in takes mlx_lm.server's command line and streams 16 tokens.
    const home = await newHome();
    const script = home.write(
      "script.json",
      JSON.stringify([{ deltas: Array.from({ length: 16 }, () => ({ content: " w" })), chunk_delay_ms: 2 }]),
    );
    const gguf = (await tinyServers({ gguf: "group: one" })).replace(/^runtimes:\n/, "");
    home.write(
      "rig.yaml",
      [
        "runtimes:",
        `  mlx: { command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(SCRIPTED_UPSTREAM)}] }`,
        gguf.trimEnd(),
        "  mlx-same:",
        "    runtime: mlx",
        "    model: mlx-community/tiny-4bit",
        `    env: { SCRIPT: ${JSON.stringify(script)} }`,
        "    group: one",
        "",
      ].join("\n"),
    );
    const run = await rigJson<SideBySideJson>(
      ["bench", "gguf", "mlx-same", "--context", "512", "--rounds", "2", "--tokens", "16"],
      { home: home.root, timeoutMs: 300_000 },
    );
    assert.deepEqual(
      run.results.rounds.map((round) => round.order),
      [
        ["gguf", "mlx-same"],
        ["mlx-same", "gguf"],
      ],
    );
    for (const round of run.results.rounds)
      assert.deepEqual(Object.keys(round.ready_ms).sort(), ["gguf", "mlx-same"], "each started for its turn");
    for (const result of run.results.results) assert.deepEqual(result.errors, [], JSON.stringify(result));
    assert.ok(
      run.results.comparisons.some(
        (comparison) => comparison.subject === "mlx-same" && comparison.against === "gguf",
      ),
    );
    const ps = await rigJson<PsRow[]>(["ps"], { home: home.root });
    assert.ok(ps.length <= 1, "the group never ran both at once");
  });

  test("side-by-side mistakes say what to fix before anything starts", async () => {
    const home = await newHome(await tinyServers({ "tiny-a": "", "tiny-b": "" }));
    const bad = home.write(
      "bad.jsonl",
      '{"messages": [{"role": "user", "content": "ok"}]}\nnot json\n{"messages": []}\n',
    );
    const badFile = await rig(["bench", "tiny-a", "tiny-b", "--prompts", bad], { home: home.root });
    assert.equal(badFile.code, 2);
    assert.match(badFile.stderr, new RegExp(`${bad}:2: not JSON`));
    assert.match(badFile.stderr, new RegExp(`${bad}:3: needs a non-empty \`messages\` list`));
    const unknown = await rig(["bench", "tiny-a", "tiny-c"], { home: home.root });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no server named `tiny-c`/);
    const twice = await rig(["bench", "tiny-a", "tiny-a"], { home: home.root });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /named twice/);
    const varied = await rig(["bench", "tiny-a", "tiny-b", "--vary", "-t 1 | -t 2"], { home: home.root });
    assert.equal(varied.code, 2);
    assert.match(varied.stderr, /--vary varies one server/);
    const ps = await rigJson<PsRow[]>(["ps"], { home: home.root });
    assert.deepEqual(ps, [], "nothing was started");
  });

  test("a runtime that reports no timings is timed from the arrival of its tokens", async () => {
    // 21 tokens, 10 ms apart: 20 tokens after the first in at least 200 ms, so at most 100 tokens/s.
    const home = await newHome();
    const script = home.write(
      "script.json",
      JSON.stringify([{ deltas: Array.from({ length: 21 }, () => ({ content: " w" })), chunk_delay_ms: 10 }]),
    );
    home.write(
      "rig.yaml",
      `${readFileSync(join(home.root, "rig.yaml"), "utf8")}servers:\n${scriptedServer("scripted", { SCRIPT: script })}`,
    );
    const run = await rigJson<BenchJson>(
      ["bench", "scripted", "--context", "512", "--rounds", "1", "--tokens", "21"],
      {
        home: home.root,
      },
    );
    for (const result of run.results.results) {
      assert.equal(result.timed_by, "client");
      assert.ok(result.gen_tps > 50 && result.gen_tps <= 100, `${result.gen_tps} tokens/s`);
      assert.ok(result.ttft_ms > 0);
    }
    assert.equal(run.results.prompt.scales.scripted!.reported, false, "its fixed usage is no prompt size");
    assert.equal(run.runtimeVersion, "0.0.0", "the version the server reports, not its launcher's (node)");
  });
});
