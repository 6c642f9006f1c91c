/** The models `cosim,model` can name without a path (each documented in its module and in README.md). */
import type { DeviceDefinition } from './device.js';
import { dma } from './dma.js';
import { ipiMailbox } from './ipi-mailbox.js';
import { pci16550 } from './pci-serial.js';
import { ram } from './ram.js';
import { timer } from './timer.js';
import { uart16550 } from './uart16550.js';
import { virtioConsole } from './virtio-console.js';
import { virtioRng } from './virtio-rng.js';

const MODELS = [uart16550, timer, ram, dma, virtioRng, virtioConsole, pci16550, ipiMailbox] as unknown as DeviceDefinition[];

export const BUILTIN_MODELS: ReadonlyMap<string, DeviceDefinition> = new Map(MODELS.map((m) => [m.name, m]));
