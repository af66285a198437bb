#!/usr/bin/env node
// A stand-in agent CLI for `rig run` tests: it speaks to the model the way Claude Code is configured
// to (ANTHROPIC_BASE_URL + ANTHROPIC_AUTH_TOKEN), prints the answer, and exits with FAKE_EXIT.
const base = process.env.ANTHROPIC_BASE_URL;
const response = await fetch(`${base}/v1/messages`, {
  method: "POST",
  headers: {
    "content-type": "application/json",
    authorization: `Bearer ${process.env.ANTHROPIC_AUTH_TOKEN}`,
  },
  body: JSON.stringify({
    model: "claude-sonnet-4-5",
    max_tokens: 16,
    messages: [{ role: "user", content: process.argv.slice(2).join(" ") || "hi" }],
  }),
});
const message = await response.json();
console.log(
  JSON.stringify({
    argv: process.argv.slice(2),
    status: response.status,
    text: message.content?.map((block) => block.text ?? "").join(""),
  }),
);
process.exit(Number(process.env.FAKE_EXIT ?? 0));
