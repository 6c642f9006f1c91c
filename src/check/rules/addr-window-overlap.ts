import { defineRule } from '../rule.js';
import { reportOverlaps } from './overlaps.js';

export default defineRule({
  id: 'addr-window-overlap',
  severity: 'error',
  summary: 'an RP memory-master window must not overlap another region (aliases aside) of its address space at the same priority: QEMU shows the one mapped later, so accesses meant for the peer go elsewhere, or the reverse',
  run: (ctx) => reportOverlaps(ctx, true),
});
