/** A failure the user can act on: printed as one message, no stack. */
export class RigError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "RigError";
  }
}

/** Wrong words on the command line: exit 2. */
export class UsageError extends RigError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}
