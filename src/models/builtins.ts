/** The models `cosim,model` can name without a path. */
import type { ModelDefinition } from './api.js';

const MODELS: ModelDefinition[] = [];

export const BUILTIN_MODELS: ReadonlyMap<string, ModelDefinition> = new Map(MODELS.map((m) => [m.name, m]));
