import { randomUUID } from "node:crypto";

/** A fresh id in an API's style: its prefix, an underscore, 32 hex digits (`msg_…`, `resp_…`). */
export const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, "")}`;

/**
 * A runtime's id carrying the prefix the client's API gives such ids (`toolu_`, `call_`). Ids that
 * have it already stay as they are; clients send them back unchanged, so the runtime always sees
 * the same id for the same call within a conversation.
 */
export const prefixedId = (prefix: string, id: string) => (id.startsWith(prefix) ? id : `${prefix}${id}`);
