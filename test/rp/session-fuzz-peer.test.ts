/** 100 000 random and mutated QEMU-like streams into live peer sessions; see session-fuzz.ts. */
import { sessionFuzz } from './session-fuzz.js';

sessionFuzz('peer');
