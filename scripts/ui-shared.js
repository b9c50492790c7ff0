// Part of `npm run build`: copies the engine's dependency-free modules that the settings page uses
// (sizes in words, the deletion reasons) next to the page, so the page shows what the CLI and the
// log show, from the same code. The copies are build output (git-ignored), shipped in the package.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = ['retention/format.js', 'retention/reasons.js'];
const target = join(root, 'homebridge-ui', 'public', 'js', 'shared');

mkdirSync(target, { recursive: true });
for (const module of SHARED) {
  const source = join(root, 'dist', module);
  const text = readFileSync(source, 'utf8');
  if (/^\s*import\s/m.test(text)) {
    throw new Error(`${module} imports other modules; the settings page can only load modules that stand alone`);
  }
  // The page has no source maps to point at.
  writeFileSync(join(target, module.split('/').pop()), text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'));
}
