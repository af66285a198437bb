// The gateway reads usage with the dialects' reader; what it records is the ledger's Usage.

export { usageFromSse, usageOf } from "../dialects/usage.ts";
export type { Usage } from "../ledger/ledger.ts";
