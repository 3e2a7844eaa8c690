// elkjs in a web worker, one per page and shared by every ModelGraph on it. It starts when the bundle is imported
// (index.ts; where cores are to spare) or once the first graph is on screen, and a small warm-up layout makes it
// parse, initialise and compile elkjs's GWT code then, not on the first real layout.
// The worker runs elkjs's own worker script, bundled gzipped (js/build.mjs) and started from a Blob URL: no
// network, no extra file to serve (JupyterLab, Notebook, Voila, VS Code alike). Where no worker can be made (a
// Content-Security-Policy without blob: workers, no Worker at all), the same script runs on the main thread as
// elkjs's in-thread stand-in for a worker.

import ELK from 'elkjs/lib/elk-api.js';
import packedWorker from 'elkjs/lib/elk-worker.min.js?gzip';
import { LAYOUT_OPTIONS, type Layouter } from './layout';

export type Engine = 'worker' | 'main thread';

export interface SharedElk {
  engine: Engine;
  elk: Layouter;
  /** Why the worker could not be used ('' when it is). */
  why: string;
  /** performance.now() when the warm-up layout came back. */
  readyAt: number;
}

// anywidget imports the bundle afresh for every widget: the page-wide slot is on globalThis, keyed by the script.
const SLOT = Symbol.for(`nbviz.model_graph.elk.${packedWorker.length}`);
type Slot = { [SLOT]?: { started: Promise<SharedElk>; done?: SharedElk } };

/** Two small layered groups (a fork, a join, a long edge) batched as GroupLayouts batches them: every phase of a
 * real layout runs, compound nodes included. */
const WARM_UP = {
  id: 'warm-up',
  layoutOptions: LAYOUT_OPTIONS,
  children: [0, 1].map((k) => ({
    id: `w${k}`,
    layoutOptions: LAYOUT_OPTIONS,
    children: ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id: `${id}${k}`, width: 120, height: 34 })),
    edges: [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd'], ['d', 'e'], ['a', 'e'], ['e', 'f']]
      .map(([s, t], i) => ({ id: `w${k}.${i}`, sources: [`${s}${k}`], targets: [`${t}${k}`] })),
  })),
};

/** Only the layered algorithm is registered: the others cost start-up time (a third of it) and are never used. */
const ALGORITHMS = ['layered'];
/** Seconds the worker has to start before the main thread takes over. */
const WAIT_S = 20;

function blobUrl(text: string): string {
  return URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
}

/** elkjs's worker script, unpacked once a page. */
async function workerScript(): Promise<string> {
  const bin = atob(packedWorker);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
}

async function inWorker(source: string): Promise<SharedElk> {
  const url = blobUrl(source);
  let timer = 0;
  let worker: Worker | undefined;
  try {
    let failed: (why: unknown) => void = () => undefined;
    const broken = new Promise<never>((_, reject) => {
      failed = reject;
    });
    // A worker that neither answers nor fails (seen nowhere yet) must not leave the graph on its stand-in layout.
    timer = window.setTimeout(() => failed(new Error(`the layout worker did not answer in ${WAIT_S} s`)),
      WAIT_S * 1000);
    const elk = new ELK({
      algorithms: ALGORITHMS,
      workerFactory: () => {
        worker = new Worker(url);
        // A worker the page may not run (or whose script fails) reports here, not to elkjs's promises.
        worker.addEventListener('error', (ev) => failed(new Error(ev.message || 'the layout worker failed to start')));
        return worker;
      },
    });
    await Promise.race([elk.layout(WARM_UP), broken]);
    return { engine: 'worker', elk, why: '', readyAt: performance.now() };
  } catch (err) {
    worker?.terminate();
    throw err;
  } finally {
    window.clearTimeout(timer);
    URL.revokeObjectURL(url); // the worker has its script by now (it answered, or it failed)
  }
}

async function onMainThread(source: string, why: string): Promise<SharedElk> {
  // The worker script exports elkjs's in-thread worker when it finds a CommonJS `module`; give it one.
  const url = blobUrl(`const module = { exports: {} }; const exports = module.exports;\n${source}\n`
    + 'export default module.exports.Worker;');
  try {
    const FakeWorker = (await import(/* @vite-ignore */ url)).default as new () => Worker;
    const elk = new ELK({ algorithms: ALGORITHMS, workerFactory: () => new FakeWorker() });
    await elk.layout(WARM_UP);
    return { engine: 'main thread', elk, why, readyAt: performance.now() };
  } finally {
    URL.revokeObjectURL(url);
  }
}

type Entry = NonNullable<Slot[typeof SLOT]>;

/** The page's entry; started (worker script unpacked, worker made) only when `start`. */
function entry(start: boolean): Entry | undefined {
  const page = globalThis as Slot;
  if (!page[SLOT] && start) {
    const started = workerScript().then((source) => (typeof Worker === 'undefined'
      ? Promise.reject(new Error('no Worker in this page')) : inWorker(source))
      .catch((err: unknown) => onMainThread(source, String(err instanceof Error ? err.message : err))));
    const made: Entry = { started };
    started.then((done) => {
      made.done = done;
    }, () => undefined);
    page[SLOT] = made;
  }
  return page[SLOT];
}

/** The page's elkjs, started on the first call. */
export function sharedElk(): Promise<SharedElk> {
  return entry(true)!.started;
}

/** After the next frame: what is drawn now reaches the screen before elkjs's start-up takes the main thread. */
function afterNextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
}

/** A layouter that waits for the page's elkjs (worker or main thread) before each layout. */
export function pageLayouter(): Layouter {
  const done = () => entry(false)?.done;
  return {
    get engine() {
      const d = done();
      return !d ? '' : d.why ? `${d.engine} (${d.why})` : d.engine;
    },
    get readyAt() {
      return done()?.readyAt;
    },
    ready: () => done() !== undefined,
    prepare() {
      if (!entry(false)) void afterNextFrame().then(() => sharedElk().catch(() => undefined));
    },
    async layout(graph) {
      if (!entry(false)) await afterNextFrame(); // the stand-in layout first
      return (await sharedElk()).elk.layout(graph);
    },
  };
}
