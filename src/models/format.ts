/** `0x1f` style hex for messages. */
export function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}
