import type { LaunchInput } from "./types.ts";

/** True when any of the flags (e.g. `-c`, `--ctx-size`) already appears in argv, alone or as `--flag=value`. */
export function hasFlag(args: readonly string[], ...flags: string[]): boolean {
  return args.some((arg) => flags.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));
}

export function localUrl(host: string, port: string): string {
  const reachable = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
}

/** `[flag, context]` unless there is no context or the user's args already set the flag. */
export function contextArgs(input: LaunchInput, flag: string, ...aliases: string[]): string[] {
  return input.context && !hasFlag(input.args, flag, ...aliases) ? [flag, String(input.context)] : [];
}

/** The address flags every HTTP runtime takes, then the profile name as the served model name. */
export function listenArgs(
  input: LaunchInput,
  servedNameFlag?: string,
  ...otherSpellings: string[]
): string[] {
  const served =
    servedNameFlag && !hasFlag(input.args, servedNameFlag, ...otherSpellings)
      ? [servedNameFlag, input.name]
      : [];
  return ["--host", input.host, "--port", input.port, ...served];
}

/** Every value given to one of the flags, in order: `--flag value` and `--flag=value`. */
export function flagValues(args: readonly string[], ...flags: string[]): string[] {
  const values: string[] = [];
  args.forEach((arg, index) => {
    for (const flag of flags) {
      if (arg === flag && index + 1 < args.length) values.push(args[index + 1]!);
      else if (arg.startsWith(`${flag}=`)) values.push(arg.slice(flag.length + 1));
    }
  });
  return values;
}

/** The value a flag ends up with: runtimes read argv in order, so the last one given wins. */
export function flagValue(args: readonly string[], ...flags: string[]): string | undefined {
  return flagValues(args, ...flags).at(-1);
}
