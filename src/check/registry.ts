/** Every rule `cosim check` knows: dtc's checks first (in dtc's order), then cosim's own. */
import { DTC_RULES } from './dtc-rules.js';
import type { Rule } from './rule.js';
import addrOverlap from './rules/addr-overlap.js';
import addrRangesIgnored from './rules/addr-ranges-ignored.js';
import addrSpaceUnviewed from './rules/addr-space-unviewed.js';
import addrWindowOverlap from './rules/addr-window-overlap.js';
import bindModel from './rules/bind-model.js';
import bindOptions from './rules/bind-options.js';
import bindPeerCommand from './rules/bind-peer-command.js';
import bindUnserved from './rules/bind-unserved.js';
import gicNumIrq from './rules/gic-num-irq.js';
import gicSpecifier from './rules/gic-specifier.js';
import gicSpiRange from './rules/gic-spi-range.js';
import irqMapLayout from './rules/irq-map-layout.js';
import irqMapUnmatched from './rules/irq-map-unmatched.js';
import linkChannelMismatch from './rules/link-channel-mismatch.js';
import linkGpioLines from './rules/link-gpio-lines.js';
import linkKindMismatch from './rules/link-kind-mismatch.js';
import linkSocketShared from './rules/link-socket-shared.js';
import memoryMainPhandle from './rules/memory-main-phandle.js';
import memoryTopLevel from './rules/memory-top-level.js';
import pcieBar from './rules/pcie-bar.js';
import pcieEndpoint from './rules/pcie-endpoint.js';
import pcieIdentity from './rules/pcie-identity.js';
import pcieSlots from './rules/pcie-slots.js';
import virtMachine from './rules/virt-machine.js';
import qemuInt64bit from './rules/qemu-int-64bit.js';
import qemuIntLength from './rules/qemu-int-length.js';
import qomPathCollision from './rules/qom-path-collision.js';
import rp7seriesSimpleBus from './rules/rp-7series-simple-bus.js';
import rpAdaptorUnused from './rules/rp-adaptor-unused.js';
import rpChannelDuplicate from './rules/rp-channel-duplicate.js';
import rpChannelRange from './rules/rp-channel-range.js';
import rpGpioLines from './rules/rp-gpio-lines.js';
import rpGpioMaxLines from './rules/rp-gpio-max-lines.js';
import rpGpioReg from './rules/rp-gpio-reg.js';
import rpMasterNoWindow from './rules/rp-master-no-window.js';
import rpMaxAccessSize from './rules/rp-max-access-size.js';
import rpMergedNode from './rules/rp-merged-node.js';
import rpNetChannels from './rules/rp-net-channels.js';
import rpPciBase from './rules/rp-pci-base.js';
import rpPortsFormat from './rules/rp-ports-format.js';
import rpPortsMissing from './rules/rp-ports-missing.js';
import rpPortsTarget from './rules/rp-ports-target.js';
import rpSocketPathLength from './rules/rp-socket-path-length.js';
import rpStreamToQemu from './rules/rp-stream-to-qemu.js';
import rpUnknownType from './rules/rp-unknown-type.js';
import sharedRamSize from './rules/shared-ram-size.js';
import modelLineUnconnected from './rules/model-line-unconnected.js';
import sharedRamUnpaired from './rules/shared-ram-unpaired.js';

/** cosim's co-simulation rules, grouped by subject. */
export const COSIM_RULES: readonly Rule[] = [
  // Remote Port bindings and channels
  rpUnknownType,
  rpPortsMissing,
  rpPortsFormat,
  rpPortsTarget,
  rpChannelDuplicate,
  rpChannelRange,
  rpMergedNode,
  rpNetChannels,
  rpPciBase,
  rpAdaptorUnused,
  // RP device settings
  qemuIntLength,
  qemuInt64bit,
  rpMaxAccessSize,
  rpMasterNoWindow,
  rpGpioReg,
  rpGpioMaxLines,
  rpGpioLines,
  rpStreamToQemu,
  // sockets and QOM names
  rpSocketPathLength,
  rp7seriesSimpleBus,
  qomPathCollision,
  // memory and address spaces
  memoryMainPhandle,
  memoryTopLevel,
  addrWindowOverlap,
  addrOverlap,
  addrRangesIgnored,
  addrSpaceUnviewed,
  // interrupts
  gicSpiRange,
  gicNumIrq,
  gicSpecifier,
  irqMapUnmatched,
  irqMapLayout,
  // several QEMU instances
  linkChannelMismatch,
  linkKindMismatch,
  linkGpioLines,
  linkSocketShared,
  sharedRamSize,
  modelLineUnconnected,
  sharedRamUnpaired,
  // PCIe platforms on virt
  virtMachine,
  pcieEndpoint,
  pcieBar,
  pcieIdentity,
  pcieSlots,
  // who serves what under cosim up (cosim,model, cosim,peer-command)
  bindModel,
  bindOptions,
  bindPeerCommand,
  bindUnserved,
];

export const ALL_RULES: readonly Rule[] = [...DTC_RULES, ...COSIM_RULES];

const BY_ID = new Map(ALL_RULES.map((r) => [r.id, r]));
if (BY_ID.size !== ALL_RULES.length) throw new Error('rule ids are not unique');

export function ruleById(id: string): Rule | undefined {
  return BY_ID.get(id);
}
