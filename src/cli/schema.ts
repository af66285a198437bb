import { defineCommand } from "citty";
import { configJsonSchema } from "../config/schema.ts";

export default defineCommand({
  meta: {
    name: "schema",
    description: "print the JSON Schema of rig.yaml (for editor completion and validation)",
  },
  run() {
    process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  },
});
