// Builds one self-contained ESM bundle (+ CSS) per widget: src/<widget>/index.ts -> ../nbviz/static/<widget>.{js,css}.
// `node build.mjs --dev` also builds the standalone dev page into dist/ (gitignored).
// `node build.mjs --watch` builds, then rebuilds whatever a changed source feeds until stopped (Ctrl-C): with
// ANYWIDGET_HMR=1 in the kernel, anywidget then swaps the new bundle into live views (CONTRIBUTING.md). A widget
// folder added while watching needs a restart.

import { readdirSync, existsSync, mkdirSync, copyFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const outdir = join(here, '..', 'nbviz', 'static');
const dev = process.argv.includes('--dev');
const watch = process.argv.includes('--watch');

const widgets = readdirSync(src, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'lib' && existsSync(join(src, d.name, 'index.ts')))
  .map((d) => d.name);

// Fails the build on any URL import: bundles must work with no network (DESIGN.md).
const noUrlImports = {
  name: 'no-url-imports',
  setup(build) {
    build.onResolve({ filter: /^(https?:)?\/\// }, (args) => ({
      errors: [{ text: `URL import ${JSON.stringify(args.path)} is not allowed; add the package to package.json` }],
    }));
  },
};

// `import packed from 'pkg/file.js?gzip'` bundles the file gzipped, as a base64 string: big text needed once a page
// (elkjs's worker script, 1.6 MB) costs ~60 ms to import as text, ~25 ms packed, and anywidget imports a bundle for
// every widget.
const gzipImports = {
  name: 'gzip-imports',
  setup(build) {
    build.onResolve({ filter: /\?gzip$/ }, async (args) => {
      const found = await build.resolve(args.path.slice(0, -'?gzip'.length), { kind: args.kind, resolveDir: args.resolveDir });
      return found.errors.length ? { errors: found.errors } : { path: found.path, namespace: 'gzip' };
    });
    build.onLoad({ filter: /.*/, namespace: 'gzip' }, async (args) => ({
      contents: gzipSync(await readFile(args.path), { level: 9 }).toString('base64'), loader: 'text',
    }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  splitting: false,
  minify: true,
  target: 'es2020',
  sourcemap: false,
  platform: 'browser',
  // Some UMD code paths probe `define.amd`; blank it so nothing registers with a host's AMD loader.
  define: { 'define.amd': 'undefined', 'process.env.NODE_ENV': '"production"' },
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [noUrlImports, gzipImports],
};

// Each build: its esbuild options and what to say once it is written.
const builds = [
  {
    options: {
      ...common,
      entryPoints: Object.fromEntries(widgets.map((w) => [w, join(src, w, 'index.ts')])),
      outdir,
      entryNames: '[name]',
    },
    done: `built ${widgets.map((w) => `${w}.js`).join(', ')} -> ${outdir}`,
  },
  // The stand-in model every standalone HTML page inlines next to a widget's bundle (nbviz/widgets/html_page.py).
  {
    options: { ...common, entryPoints: { standalone: join(src, 'lib', 'standalone.ts') }, outdir, entryNames: '[name]' },
    done: `built standalone.js -> ${outdir}`,
  },
];
mkdirSync(outdir, { recursive: true });
if (dev) {
  const distdir = join(here, 'dist');
  mkdirSync(distdir, { recursive: true });
  copyFileSync(join(here, 'dev', 'index.html'), join(distdir, 'index.html'));
  builds.push({
    options: {
      ...common,
      minify: false,
      sourcemap: 'inline',
      entryPoints: { dev: join(here, 'dev', 'main.ts') },
      outdir: distdir,
      entryNames: '[name]',
    },
    done: `built dev page -> ${join(distdir, 'index.html')}`,
  });
}

if (watch) {
  // esbuild logs a failed rebuild's errors itself (logLevel) and keeps watching; the last good bundle stays.
  const report = (done) => ({
    name: 'report',
    setup(build) {
      build.onEnd((result) => {
        const time = new Date().toLocaleTimeString();
        console.log(result.errors.length ? `${time} build failed (${result.errors.length} errors)` : `${time} ${done}`);
      });
    },
  });
  for (const { options, done } of builds) {
    const ctx = await esbuild.context({ ...options, plugins: [...options.plugins, report(done)] });
    await ctx.watch();
  }
  console.log('watching js/src and js/dev for changes (Ctrl-C stops)');
} else {
  for (const { options, done } of builds) {
    await esbuild.build(options);
    console.log(done);
  }
}
