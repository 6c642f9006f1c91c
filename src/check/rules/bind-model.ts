import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { BUILTIN_MODELS } from '../../models/builtins.js';
import { defineRule, eachInstance } from '../rule.js';
import { optionString } from '../../models/binding.js';
import { kindProblem } from '../../models/validate.js';
import type { Instance } from '../../graph/instance.js';
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
        const problem = modelSpecProblem(inst, spec);
        if (problem) {
          ctx.report({ node: d.node, prop, ...problem });
          continue;
        }
        const kind = kindProblem(spec!, BUILTIN_MODELS.has(spec!) ? BUILTIN_MODELS.get(spec!)!.pci !== undefined : undefined, d.kind, d.type, 'this');
        if (kind) ctx.report({ node: d.node, prop, message: kind });
      }
    });
  },
});

/** What is wrong with a `cosim,model` value before its model is even loaded, if anything. */
export function modelSpecProblem(inst: Instance, spec: string | undefined): { message: string; hint?: string } | undefined {
  if (spec === undefined || spec === '') return { message: 'cosim,model must be a string: a built-in model name or a module path' };
  if (BUILTIN_MODELS.has(spec)) return undefined;
  if (!/[./]/.test(spec)) return { message: `no built-in model "${spec}"`, hint: `built-in models: ${[...BUILTIN_MODELS.keys()].join(', ')}; a module path starts with ./ or /` };
  const file = modelModulePath(inst, spec);
  if (!fs.existsSync(file)) return { message: `model module ${spec} does not exist (looked for ${file})` };
  const problem = compileProblem(file);
  return problem ? { message: `model module ${spec} does not compile: ${problem}` } : undefined;
}
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

