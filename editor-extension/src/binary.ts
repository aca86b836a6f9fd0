/* binary.ts: finds the layerscope executable: the `layerscope.path` setting, else the first
 * `layerscope` on PATH, else the binary bundled in the VSIX (bin/layerscope, copied there by
 * scripts/copy-binary.js at packaging time). Pure apart from the injected file test, so the
 * unit tests can check the order without touching the disk. */
import * as path from 'path';

export type BinarySource = 'setting' | 'PATH' | 'bundled';

export interface BinaryResolution {
  path?: string;
  source?: BinarySource;
  error?: string;
}

export function resolveBinary(setting: string | undefined, envPath: string | undefined, extensionDir: string,
  isExecutable: (p: string) => boolean): BinaryResolution {
  const s = (setting ?? '').trim();
  if (s !== '') {
    if (isExecutable(s)) return { path: s, source: 'setting' };
    return { error: `layerscope.path is set to '${s}', which is not an executable file.` };
  }
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const p = path.join(dir, 'layerscope');
    if (isExecutable(p)) return { path: p, source: 'PATH' };
  }
  const bundled = path.join(extensionDir, 'bin', 'layerscope');
  if (isExecutable(bundled)) return { path: bundled, source: 'bundled' };
  return { error: 'layerscope executable not found: set layerscope.path, put layerscope on PATH, or install a VSIX that bundles it.' };
}
