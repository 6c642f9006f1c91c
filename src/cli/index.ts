/** The oclif command table (explicit strategy: no directory scan at start-up). */
export const COMMANDS = {};
