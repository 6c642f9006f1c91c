import { defineRule } from '../rule.js';
import { reportOverlaps } from './overlaps.js';

export default defineRule({
  id: 'addr-overlap',
  severity: 'warning',
  summary: 'two regions of one address space overlap at the same priority: which one answers depends on the order QEMU maps them',
  run: (ctx) => reportOverlaps(ctx, false),
});
