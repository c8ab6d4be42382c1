#!/usr/bin/env node
// The `weft` command runs from the TypeScript sources through tsx (a dev/optional peer dependency).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
