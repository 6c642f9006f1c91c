/**
 * The pci-16550 UART behind Xilinx QEMU's remote-port-pci-device with remote-config=on on
 * `-M virt`, with Debian's arm64 Linux as the guest (COSIM_QEMU and COSIM_LINUX_DIR, prepared
 * with scripts/linux-guest/prepare.sh). The platform is the one cosim generates
 * (qemu/pcie-args.ts): the adaptor, a remote-port-pcie-root-port on it (whose reset starts
 * the adaptor's Remote Port thread; its slot is empty) and the function at 00:03.0 on channel
 * 32. The guest reads the function's own config space (its first capability is power
 * management at 0x40, where QEMU's copy has its PCI Express capability); Linux's 8250_pci
 * takes it by class as a /dev/ttyS*, a line goes each way, and its interrupt is INTx (counted
 * in /proc/interrupts, not polled). This test wires QEMU and the peer by hand.
 */
import { describe, expect, it } from 'vitest';
import { pci16550 } from '../../src/models/pci-serial.js';
import { servePciDeviceFunction } from '../../src/pci/serve-pci-device.js';
import { serveEmptyRootPortSlot } from '../../src/pci/serve-rp.js';
import { bootLinuxGuest, linuxGuestMissing as why } from '../helpers/linux-guest.js';

/** Reports the function, its tty and its interrupt; a line each way once the port is raw. */
const SNIPPET = `
d=/sys/bus/pci/devices/0000:00:03.0
echo "pci: class=$(cat $d/class) driver=$(basename "$(readlink $d/driver)")"
echo "cap:$(od -An -tx1 -j52 -N1 $d/config)$(od -An -tx1 -j64 -N1 $d/config)"
t=$(ls $d/tty)
echo "tty: $t"
dmesg | grep "$t at" | sed 's/^/dmesg: /'
sed 's/^/serial: /' /proc/tty/driver/serial
exec 3<>/dev/$t
stty raw -echo <&3
echo "hello from the guest" >&3
echo "guest: listening"
read -t 10 line <&3; echo "guest read: $line"
grep "$t" /proc/interrupts | sed 's/^/irq: /'
exec 3<&-
`;

describe.skipIf(why !== undefined)(`the pci-16550 UART under Linux on Xilinx QEMU's remote-port-pci-device${why ? ` (skipped: ${why})` : ''}`, () => {
  it('8250_pci takes it as /dev/ttyS*, a line goes each way, interrupts by INTx; QEMU exits cleanly', async () => {
    // QEMU's copy of config space needs the IDs, the BAR layout and the pin; the peer answers the guest.
    const props = ['vendor-id=0x10ee', 'device-id=0x7011', 'class-id=0x700', 'prog-if=0x2', 'irq-pin=1', 'nr-io-bars=1', 'nr-mm-bars=0', 'bar-size0=0x8', 'remote-config=on'];
    const { out, code, console: text, logs } = await bootLinuxGuest({
      snippet: SNIPPET,
      qemuArgs: [
        ...['-device', 'remote-port-pci-adaptor,id=rp0,addr=0x1f'],
        ...['-device', 'remote-port-pcie-root-port,id=rprootport,slot=0,rp-adaptor0=rp,rp-chan0=0'],
        ...['-device', ['remote-port-pci-device,id=pcidev1,addr=0x3,rp-adaptor0=rp,rp-chan0=32', ...props].join(',')],
      ],
      peers: [
        {
          serve: (peer, env) => {
            serveEmptyRootPortSlot(peer);
            return servePciDeviceFunction(peer, pci16550, { path: '/pci/uart', options: [] }, env('/pci/uart'), 32);
          },
        },
      ],
      // Type only once the guest holds the port raw, so the line is neither echoed nor cooked.
      when: { marker: 'guest: listening', then: (input) => input.deliver(Buffer.from('typed at the console\n')) },
    });

    expect(out).toContain('cosim-guest: snippet exit 0');
    expect(code, out).toBe(0);
    expect(out).toContain('pci: class=0x070002 driver=serial');
    expect(out).toContain('cap: 40 01'); // the function's capability list (QEMU's would start with 0x10, PCI Express)
    const tty = /tty: (ttyS\d+)/.exec(out)?.[1];
    expect(tty, out).toBeDefined();
    expect(out).toMatch(new RegExp(`dmesg: .*0000:00:03.0: ${tty} at I/O 0x[0-9a-f]+ \\(irq = [1-9]\\d*, base_baud = 115200\\) is a 16550A`));
    const port = new RegExp(`serial: ${tty!.slice(4)}: uart:16550A port:[0-9A-F]+ irq:(\\d+)`).exec(out);
    expect(Number(port?.[1] ?? 0), out).toBeGreaterThan(0);
    expect(text).toContain('hello from the guest');
    expect(out).toContain('guest read: typed at the console');
    const irq = new RegExp(`irq: +\\d+: +(\\d+) .*${tty}`).exec(out);
    expect(Number(irq?.[1] ?? 0), out).toBeGreaterThan(0);
    expect(logs).toEqual([]);
  }, 120_000);
});
