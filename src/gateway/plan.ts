import type { Agent, Config, Peer, Server } from "../config/loader.ts";
import { didYouMean } from "../config/problems.ts";
import { TRANSLATORS } from "../dialects/index.ts";
import type { ChatEvent, Json, TranslationContext, Translator } from "../dialects/types.ts";
import { peerDialects, resolveTarget, type Target } from "../peers/hop.ts";
import type { PeerKind } from "../peers/registry.ts";
import { runtimeFor } from "../runtimes/index.ts";
import type { ToolChoiceForcer } from "../runtimes/types.ts";
import { NAME_MAX_LENGTH, type Route } from "./routes.ts";
import { applyRules } from "./rules.ts";

/** A translator with what it remembered from the request, needed to render the answer. */
export interface Translation {
  translator: Translator;
  context: TranslationContext;
}

/** A request bound for a peer: sent to its url with its key, `model` renamed to what the peer calls it. */
export interface PeerHop {
  peer: Peer;
  model: string;
}

/**
 * What the gateway does with one request, decided from the request, the config and the runtime's
 * capabilities alone. `payload` is exactly what the runtime receives (its `model` is set once the
 * server is leased). A plan with `peer` goes to that peer instead: nothing is leased.
 */
export type ExchangePlan =
  | { kind: "refuse"; status: number; message: string; server?: Server }
  /** Answered by rig without the runtime: a JSON body as is, or events rendered in the client's dialect. */
  | { kind: "local"; server: Server; body: Json }
  | { kind: "local-events"; server: Server; events: ChatEvent[]; translation: Translation; stream: boolean }
  | { kind: "native"; server: Server; payload: Json; upstreamPath: string; stream: boolean; peer?: PeerHop }
  | {
      kind: "translated";
      server: Server;
      payload: Json;
      translation: Translation;
      stream: boolean;
      peer?: PeerHop;
    }
  /** A required tool call enforced by rig (the runtime's own endpoint would not). */
  | {
      kind: "forced";
      server: Server;
      payload: Json;
      forcer: ToolChoiceForcer;
      translation?: Translation;
      stream: boolean;
    };

export interface ExchangeRequest {
  route: Route;
  body: Json;
  /** Set on `/agents/<agent>/` routes: the agent's server serves, whatever model the body names. */
  agent?: Agent;
  config: Config;
  /** A server or `<peer>/<model>` of a fallback chain, planned instead of what the body or agent names. */
  target?: string;
  /** What each peer is, as its last listing said (unknown peers are taken as OpenAI-compatible). */
  peerKind?(peer: string): PeerKind | undefined;
}

/** The request body as a JSON object, or the reason it is not one. */
export function parseJsonBody(raw: Buffer): { body: Json } | { error: string } {
  try {
    const body = JSON.parse(raw.toString("utf8"));
    if (typeof body !== "object" || body === null || Array.isArray(body))
      return { error: "invalid JSON body: the body must be a JSON object" };
    return { body };
  } catch (error) {
    return { error: `invalid JSON body: ${(error as Error).message}` };
  }
}

/** The name a request is routed by: a fallback target, the agent's server, or the body's model. */
export function requestedName({ body, agent, target, route }: ExchangeRequest): unknown {
  return target ?? agent?.server ?? route.model ?? body.model;
}

function resolveRequest(request: ExchangeRequest): Target | ExchangePlan {
  const { agent, config } = request;
  const model = requestedName(request);
  if (typeof model !== "string" || !model) {
    return {
      kind: "refuse",
      status: 400,
      message: `the request has no "model"; use one of: ${Object.keys(config.servers).join(", ")}`,
    };
  }
  if (model.length > NAME_MAX_LENGTH) {
    return {
      kind: "refuse",
      status: 400,
      message: `"model" is ${model.length} characters long; model names have at most ${NAME_MAX_LENGTH}`,
    };
  }
  const target = resolveTarget(config, model);
  if (target) return target;
  if (agent && request.target === undefined)
    return {
      kind: "refuse",
      status: 500,
      message: `agent ${agent.name} points at a server that does not exist`,
    };
  const names = Object.values(config.servers).flatMap((candidate) => [candidate.name, ...candidate.aliases]);
  const peers = Object.keys(config.peers).map((peer) => `${peer}/<model>`);
  return {
    kind: "refuse",
    status: 404,
    message: `unknown model \`${model}\`${didYouMean(model, names)}; this gateway serves: ${[...names, ...peers].join(", ") || "nothing yet (add a server to rig.yaml)"}`,
  };
}

/**
 * The body as its dialect's translator reads it: a route that names the model in its path and streams
 * by its method (Gemini's) puts both into the body, so that every later step reads them in one place.
 */
export function bodyOf(route: Route, body: Json): Json {
  if (route.model === undefined) return body;
  return { ...body, model: route.model, ...(route.stream ? { stream: true } : {}) };
}

/** Decides native, translated, forced or local, and builds the exact upstream payload. */
export function planExchange(request: ExchangeRequest): ExchangePlan {
  const { route, agent } = request;
  const body = bodyOf(route, request.body);
  const resolved = resolveRequest({ ...request, body });
  if (resolved.kind !== "server" && resolved.kind !== "peer") return resolved;
  const { server } = resolved;
  const peer = resolved.kind === "peer" ? { peer: resolved.peer, model: resolved.model } : undefined;
  const runtime = runtimeFor(server.runtime);
  // A peer enforces a required tool call itself, on its own runtime.
  const forcer = peer ? undefined : runtime.forceToolChoice;
  const dialectTranslator = TRANSLATORS[route.dialect];
  const dialects = peer ? peerDialects(request.peerKind?.(peer.peer.name)) : runtime.dialects;
  const speaks = dialects.includes(route.dialect);
  // `always` translates what rig can translate (Messages, Responses); Chat, completions and
  // embeddings are what translation targets, so they pass through.
  let passthrough =
    server.translate === "never" || (speaks && (server.translate !== "always" || !dialectTranslator));
  // A tool call the client requires is enforced by rig where the runtime's own endpoint would not
  // (llama.cpp): under `auto`, such a request goes through Chat even when the dialect is native.
  // A malformed one stays native: the runtime refuses it in its own words.
  let probed: ReturnType<Translator["toChat"]> | undefined;
  if (
    passthrough &&
    server.translate === "auto" &&
    body.tool_choice !== undefined &&
    route.name !== "count_tokens" &&
    forcer &&
    dialectTranslator &&
    !dialectTranslator.validate(body)
  ) {
    probed = dialectTranslator.toChat(body);
    passthrough = !forcer.forces(probed.chat);
  }
  const translator = passthrough ? undefined : dialectTranslator;
  // What rig translates or answers itself it checks first, as the client's API would: a client's
  // mistake is a 400 naming the field, never a request made valid. Native requests are the runtime's
  // to check.
  const invalid = translator?.validate(body, route.name === "count_tokens" ? "count" : "answer");
  if (invalid) return { kind: "refuse", status: 400, message: invalid.message, server };
  if (!passthrough && route.name === "count_tokens") {
    const counted = dialectTranslator?.countTokens(body);
    if (counted) return { kind: "local", server, body: counted };
  }
  if (!passthrough && !translator) {
    return {
      kind: "refuse",
      status: 501,
      message: `server ${server.name} (${server.runtime}) does not speak ${route.dialect} and rig does not translate it`,
      server,
    };
  }
  if (translator) {
    const local = translator.localAnswer(body);
    if (local) {
      const { context } = probed ?? translator.toChat(body);
      return {
        kind: "local-events",
        server,
        events: local,
        translation: { translator, context },
        stream: body.stream === true,
      };
    }
  }
  const translation = translator ? { translator, ...(probed ?? translator.toChat(body)) } : undefined;
  const upstreamBody =
    translation?.chat ?? (dialectTranslator ? dialectTranslator.nativeRequest(body) : body);
  const payload = applyRules(applyRules(upstreamBody, server.request), agent?.request);
  const stream = payload.stream === true;
  if (forcer && (translation || route.name === "chat") && forcer.forces(payload)) {
    return {
      kind: "forced",
      server,
      payload,
      forcer,
      translation: translation && { translator: translation.translator, context: translation.context },
      stream,
    };
  }
  if (translation) {
    return {
      kind: "translated",
      server,
      payload,
      translation: { translator: translation.translator, context: translation.context },
      stream,
      ...(peer && { peer }),
    };
  }
  return { kind: "native", server, payload, upstreamPath: route.path, stream, ...(peer && { peer }) };
}
