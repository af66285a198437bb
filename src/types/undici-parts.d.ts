// The gateway imports only the parts of undici it uses: the package's index also loads fetch,
// WebSocket, the caches and the mocks, about 9 MB more resident memory in a daemon left running.
declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici";

  const AgentClass: typeof Agent;
  export default AgentClass;
}

declare module "undici/lib/core/errors.js" {
  import type { errors } from "undici";

  const undiciErrors: typeof errors;
  export default undiciErrors;
}

declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";

  /** The package's `Dispatcher.prototype.request`, called on a dispatcher. */
  const request: (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
  export default request;
}
