import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { BUILTIN_MODELS } from '../../models/builtins.js';
import { defineRule, eachInstance } from '../rule.js';
import { optionString } from '../../models/binding.js';
import { modelModulePath } from './bindings.js';

/**
 * `cosim,model` must name a built-in model or a module that exists and compiles, and a
 * built-in model must fit its device's kind (a memory model cannot serve a gpio channel).
 */
export default defineRule({
  id: 'bind-model',
  severity: 'error',
  summary: 'cosim,model names no built-in model and no module that compiles, or a model that does not fit the device kind: cosim up would stop at start',
  run(ctx) {
    eachInstance(ctx, (inst) => {
      for (const d of inst.devices) {
        const prop = d.cosim.get('cosim,model');
        if (!prop || ctx.serving.modelOverrides.has(d.node)) continue;
        // Served by a --peer program in this run: its models are not loaded.
        if (d.pairs.length > 0 && d.pairs.every((p) => p.adaptor && ctx.serving.peerOverrides.has(p.adaptor.node))) continue;
        const spec = optionString(prop.value.bytes);
        if (spec === undefined || spec === '') {
          ctx.report({ node: d.node, prop, message: 'cosim,model must be a string: a built-in model name or a module path' });
          continue;
        }
        const builtin = BUILTIN_MODELS.get(spec);
        if (builtin) {
          if (!builtin.kinds.includes(d.kind)) ctx.report({ node: d.node, prop, message: `model "${spec}" serves ${builtin.kinds.join('/')} devices, but this is a ${d.kind} (${d.type})` });
          continue;
        }
        if (!/[./]/.test(spec)) {
          ctx.report({ node: d.node, prop, message: `no built-in model "${spec}"`, hint: `built-in models: ${[...BUILTIN_MODELS.keys()].join(', ')}; a module path starts with ./ or /` });
          continue;
        }
        const file = modelModulePath(inst, spec);
        if (!fs.existsSync(file)) {
          ctx.report({ node: d.node, prop, message: `model module ${spec} does not exist (looked for ${file})` });
          continue;
        }
        const problem = compileProblem(file);
        if (problem) ctx.report({ node: d.node, prop, message: `model module ${spec} does not compile: ${problem}` });
      }
    });
  },
});

/** The first syntax or type-stripping error esbuild finds in a module, if any. */
function compileProblem(file: string): string | undefined {
  // esbuild's synchronous API keeps the rule synchronous like every other rule.
  const { transformSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  try {
    transformSync(fs.readFileSync(file, 'utf8'), { loader: file.endsWith('.ts') || file.endsWith('.mts') ? 'ts' : 'js', format: 'esm', sourcefile: file });
    return undefined;
  } catch (e) {
    const err = (e as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } }> }).errors?.[0];
    return err ? `${err.location ? `${err.location.file}:${err.location.line}:${err.location.column + 1}: ` : ''}${err.text}` : (e as Error).message;
  }
}

