import * as fs from 'node:fs';
import * as path from 'node:path';
import { onPath } from '../../qemu/binaries.js';
import { defineRule } from '../rule.js';
import { optionString } from '../../models/binding.js';

/** The program a `cosim,peer-command` starts must exist and be executable. */
export default defineRule({
  id: 'bind-peer-command',
  severity: 'error',
  summary: 'cosim,peer-command is not a string, or its program is not an executable file: the external peer could not start',
  run(ctx) {
    for (const adaptor of ctx.platform.peerServed) {
      const prop = adaptor.cosim.get('cosim,peer-command');
      if (!prop || ctx.serving.peerOverrides.has(adaptor.node)) continue;
      const command = optionString(prop.value.bytes);
      if (command === undefined || command.trim() === '') {
        ctx.report({ node: adaptor.node, prop, message: 'cosim,peer-command must be a non-empty string: the command line that starts the peer' });
        continue;
      }
      const program = command.trim().split(/\s+/)[0].replace(/^(["'])(.*)\1$/, '$2');
      if (/[{}$`|;&<>()]/.test(program)) continue; // shell syntax: only a shell can tell
      const dir = path.dirname(path.resolve(ctx.platform.instanceOf(adaptor).file));
      const found = program.includes('/') ? path.resolve(dir, program) : onPath(program);
      let ok = false;
      try {
        if (found) {
          fs.accessSync(found, fs.constants.X_OK);
          ok = fs.statSync(found).isFile();
        }
      } catch {
        ok = false;
      }
      if (!ok) {
        ctx.report({
          node: adaptor.node,
          prop,
          message: program.includes('/') ? `the peer program ${program} is not an executable file (looked for ${found})` : `the peer program ${program} is not on the PATH`,
          hint: 'placeholders: {socket} {quantum} {machine-path} {adaptor}',
        });
      }
    }
  },
});
