// The machine itself: as an address a server listens on, and as the Host a request to it names.

/** Addresses that only this machine reaches: 127.0.0.0/8, localhost (any case, with its root dot or not), ::1. */
export function isLoopback(address: string): boolean {
  return /^(127(\.\d{1,3}){3}|localhost\.?|::1|\[::1\])$/i.test(address);
}

/**
 * Whether a request's Host header names this machine (any port). A web page of another site that
 * reaches a local server through DNS rebinding names its own host, and is refused by this check.
 */
export function namesLoopback(hostHeader: string | undefined): boolean {
  return isLoopback((hostHeader ?? "").replace(/:\d+$/, ""));
}
