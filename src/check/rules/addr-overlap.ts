import { defineRule } from '../rule.js';
import { reportOverlaps } from './overlaps.js';

export default defineRule({
  id: 'addr-overlap',
  severity: 'warning',
  summary: 'two regions of one address space (aliases aside) overlap at the same priority: QEMU shows the one mapped later, and the other is unreachable there',
  run: (ctx) => reportOverlaps(ctx, false),
});
