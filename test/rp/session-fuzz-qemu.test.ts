/** 100 000 random and mutated peer-like streams into live QEMU-role initiator sessions; see session-fuzz.ts. */
import { sessionFuzz } from './session-fuzz.js';

sessionFuzz('qemu');
