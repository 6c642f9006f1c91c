import { Args, Command, Flags } from '@oclif/core';
import { addressMap, addressMapJson, formatAddressMap } from '../../graph/views/address-map.js';
import { ATTACHED_VALUE_FLAGS, loadForView, platformFlags } from '../platform-flags.js';
import { normalizeArgv } from '../shared.js';

export default class MapCommand extends Command {
  static override summary = 'Print the address map of every address space QEMU will build from the boards.';
  static override description = `One table per address space (system memory, and every memory region that is the root of its
own space, such as a bus a CPU selects with mr): start, end, size, priority, kind (ram, rom,
alias, mmio, rp-window), node, and for RP windows the channel and socket that serve them.
Addresses are where QEMU puts things: containers add up, and \`ranges\` is not used (QEMU ignores it).`;
  static override examples = ['<%= config.bin %> map dts/demo-board.dts', '<%= config.bin %> map dts/demo-board.dts --json'];

  static override strict = false;
  static override args = { boards: Args.string({ description: 'Board files (.dts or .dtb); several are the QEMU instances of one platform.' }) };
  static override flags = {
    ...platformFlags,
    json: Flags.boolean({ description: 'Print the map as JSON (addresses as hex strings).' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(MapCommand, normalizeArgv(this.argv, ATTACHED_VALUE_FLAGS));
    const spaces = addressMap(loadForView(this, argv as string[], flags));
    process.stdout.write(flags.json ? JSON.stringify(addressMapJson(spaces), null, 2) + '\n' : formatAddressMap(spaces));
  }
}
