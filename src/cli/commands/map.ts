import { Args, Command, Flags } from '@oclif/core';
import { addressMap, addressMapJson, formatAddressMap } from '../../graph/views/address-map.js';
import { formatPciMap, pciMap } from '../../graph/views/pci-map.js';
import { formatPlatformShares, platformShares } from '../../graph/views/platform-map.js';
import { ATTACHED_VALUE_FLAGS, loadForView, platformFlags } from '../platform-flags.js';
import { normalizeArgv } from '../shared.js';

export default class MapCommand extends Command {
  static override summary = 'Print the address map of every address space QEMU will build from the boards.';
  static override description = `One table per address space (system memory, and every memory region that is the root of its
own space, such as a bus a CPU selects with mr): start, end, size, priority, kind (ram, rom,
alias, mmio, rp-window), node, and for RP windows the channel and socket that serve them.
Addresses are where QEMU puts things: containers add up, and \`ranges\` is not used (QEMU ignores it).
A PCIe platform on QEMU's virt machine also lists its endpoints: slot, IDs, BARs, interrupts,
and which Remote Port PCI device carries each, and why. Several boards (one platform) also get
what their instances share: RAM files with each instance's address, devices spanning
instances (cosim,shared) with each side's window and adaptor, and QEMU↔QEMU links.`;
  static override examples = ['<%= config.bin %> map dts/demo-board.dts', '<%= config.bin %> map dts/demo-board.dts --json'];

  static override strict = false;
  static override args = { boards: Args.string({ description: 'Board files (.dts or .dtb); several are the QEMU instances of one platform.' }) };
  static override flags = {
    ...platformFlags,
    json: Flags.boolean({ description: 'Print the map as JSON (addresses as hex strings).' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(MapCommand, normalizeArgv(this.argv, ATTACHED_VALUE_FLAGS));
    const platform = loadForView(this, argv as string[], flags);
    const spaces = addressMap(platform);
    const pci = pciMap(platform);
    const shares = platformShares(platform);
    if (flags.json) process.stdout.write(JSON.stringify({ ...addressMapJson(spaces), ...(pci.length ? { pcie: pci } : {}), ...(shares.length ? { shared: shares } : {}) }, null, 2) + '\n');
    else process.stdout.write([...(spaces.length ? [formatAddressMap(spaces)] : []), ...(pci.length ? [formatPciMap(pci)] : []), ...(shares.length ? [formatPlatformShares(shares)] : [])].join('\n'));
  }
}
