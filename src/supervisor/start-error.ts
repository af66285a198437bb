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
