import { isIP } from "node:net";

/**
 * Loopback by name or address: 127.0.0.0/8, ::1, localhost and *.localhost (which resolve only to
 * loopback). Nothing beyond this machine reaches such an address, and a DNS-rebinding page can never
 * present one as its own Host.
 */
export function isLoopbackHost(name: string): boolean {
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  return name === "::1" || name === "0:0:0:0:0:0:0:1";
}
