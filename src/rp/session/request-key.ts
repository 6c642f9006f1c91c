/**
 * The one number that names a request in flight: ids are unique per channel while a request
 * is outstanding (§11.3), so (dev, id) identifies it. Both books of requests in flight (ours
 * awaiting a response, the other side's awaiting ours) key on it, so it lives apart from both.
 */
const TWO_32 = 4294967296;

/** One key per (dev, id). */
export function requestKey(dev: number, id: number): number {
  return dev * TWO_32 + id;
}
