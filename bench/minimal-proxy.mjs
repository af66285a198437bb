// The floor for any Node gateway: a bare node:http server relaying through an undici Agent (the pair
// rig uses), parsing the JSON body as routing needs and doing nothing else. bench/gateway.ts runs it
// beside rig so rig's own cost is what is left above this hop.
import { createServer } from "node:http";
import { Agent } from "undici";

const [port, upstream] = process.argv.slice(2);
const dispatcher = new Agent();
createServer((req, res) => {
  if (req.method === "GET") return res.end("ok");
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    const url = new URL(upstream + req.url);
    // llama-server closes its connection after a stream: a request sent on it just then is retried
    // once on a new one (rig does the same).
    const send = (retry) => {
      let started = false;
      dispatcher.dispatch(
        {
          origin: url.origin,
          path: url.pathname,
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        },
        {
          onRequestStart() {},
          onResponseStart(_controller, status, headers) {
            started = true;
            res.writeHead(status, { "content-type": String(headers["content-type"]) });
          },
          onResponseData(_controller, chunk) {
            res.write(chunk);
          },
          onResponseEnd() {
            res.end();
          },
          onResponseError() {
            if (!started && retry) send(false);
            else res.destroy();
          },
        },
      );
    };
    send(true);
  });
}).listen(Number(port), "127.0.0.1");
