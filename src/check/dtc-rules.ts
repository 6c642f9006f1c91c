/**
 * dtc 1.6.1's checks as `cosim check` rules, with dtc's names, levels and verdicts: the
 * compiler runs them (src/dts/checks), and a tree dtc accepts cleanly is clean here too.
 *
 * One known dtc false positive is dropped: dtc's gpios_property takes every property
 * ending in "-gpios" for a GPIO list, so `num-gpios = <3>` on a remote-port-gpio is read
 * as "phandle 3, then #gpio-cells arguments" and draws one or two warnings. On that node
 * QEMU reads `num-gpios` as the line count, and cosim's rp-gpio-* rules check it as one.
 */
import { CHECKS } from '../dts/checks/index.js';
import type { Diagnostic } from '../dts/diagnostics.js';
import { nodeByPath } from '../dts/tree.js';
import type { Instance } from '../graph/instance.js';
import type { Rule } from './rule.js';

/** Checks that also fix the tree up (resolve references, record phandles): they cannot be turned off. */
export const FIXUP_CHECKS: ReadonlySet<string> = new Set(['explicit_phandles', 'phandle_references', 'path_references', 'omit_unused_nodes']);

/** Every check dtc runs by default, as a rule (the compiler does the work, so `run` is empty). */
export const DTC_RULES: readonly Rule[] = CHECKS.filter((c) => c.level !== 'off').map((c) => ({
  id: c.name,
  severity: c.level === 'error' ? 'error' : 'warning',
  summary: c.description,
  source: 'dtc',
  run: () => {},
}));

/** True for dtc's gpios_property complaints about `num-gpios` on a remote-port-gpio. */
export function isNumGpiosFalsePositive(d: Diagnostic, inst: Instance): boolean {
  if (d.code !== 'gpios_property' || !d.path) return false;
  if (!d.message.startsWith(`${d.path}:num-gpios:`) && !d.message.includes('(referred from num-gpios[')) return false;
  const node = nodeByPath(inst.root, d.path);
  return node !== undefined && inst.deviceOf.get(node)?.kind === 'gpio';
}
