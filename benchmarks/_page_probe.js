// Installed in every benchmark page before any of its scripts (page.add_init_script).
// Library-neutral: it watches what every WebGL scatter library does in a browser (2-D canvases,
// WebGL contexts and draws, websocket messages, long tasks) and times it all with performance.now().
// Everything lands in window.__bench; benchmarks/embedding_render.py reads it.
(() => {
  const THRESHOLD = __THRESHOLD__; // share of sampled canvas pixels that must differ from the background
  const MIN_W = 300; // canvases smaller than this (backing pixels) are not the plot
  const MIN_H = 200;
  const STRIDE = 3; // sample every 3rd pixel in x and y: 1/9 of the work, same answer
  const now = () => performance.now();
  const B = (window.__bench = {
    canvases: [],
    paint: null, // ms: first rAF in which a plot-sized canvas shows points
    paintFraction: 0,
    paintCanvas: null,
    ready: null, // ms: .nbviz-root got data-nbviz-ready="true" (nbviz only)
    webgl: null, // ms: first WebGL context created
    wsOpen: null, // ms: first websocket constructed
    ws: [], // [ms, bytes] per message received, in arrival order (before the page's handlers run)
    draws: [], // [ms, count] per WebGL drawArrays/drawElements of >= 1000 primitives
    longtasks: [], // [startMs, durationMs]
  });

  // --- canvases and WebGL ---------------------------------------------------------------------
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
    const ctx = getContext.call(this, type, ...rest);
    if (ctx && type === '2d' && !B.canvases.includes(this)) B.canvases.push(this);
    if (ctx && /webgl/.test(String(type)) && B.webgl === null) B.webgl = now();
    return ctx;
  };
  for (const proto of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
    if (!proto) continue;
    const p = proto.prototype;
    const drawArrays = p.drawArrays;
    p.drawArrays = function (mode, first, count) {
      if (count >= 1000) B.draws.push([now(), count]);
      return drawArrays.call(this, mode, first, count);
    };
    const drawElements = p.drawElements;
    p.drawElements = function (mode, count, type, offset) {
      if (count >= 1000) B.draws.push([now(), count]);
      return drawElements.call(this, mode, count, type, offset);
    };
  }

  // Share of sampled pixels that differ from the top-left pixel (the background: data never reaches a corner).
  const painted = (canvas) => {
    const ctx = getContext.call(canvas, '2d');
    if (!ctx) return 0;
    const { width: w, height: h } = canvas;
    const d = ctx.getImageData(0, 0, w, h).data;
    const r0 = d[(2 * w + 2) * 4];
    const g0 = d[(2 * w + 2) * 4 + 1];
    const b0 = d[(2 * w + 2) * 4 + 2];
    const a0 = d[(2 * w + 2) * 4 + 3];
    let hit = 0;
    let all = 0;
    for (let y = 0; y < h; y += STRIDE) {
      for (let x = 0; x < w; x += STRIDE) {
        const i = (y * w + x) * 4;
        all++;
        if (Math.abs(d[i] - r0) > 40 || Math.abs(d[i + 1] - g0) > 40 || Math.abs(d[i + 2] - b0) > 40
            || Math.abs(d[i + 3] - a0) > 40) hit++;
      }
    }
    return all ? hit / all : 0;
  };
  B.painted = painted;

  const poll = () => {
    for (const c of B.canvases) {
      if (!c.isConnected || c.width < MIN_W || c.height < MIN_H) continue;
      const f = painted(c);
      if (f > THRESHOLD) {
        B.paint = now();
        B.paintFraction = f;
        B.paintCanvas = c;
        return; // found: stop polling, so it costs nothing later
      }
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);

  // --- nbviz's own readiness flag -------------------------------------------------------------
  new MutationObserver((muts) => {
    if (B.ready !== null) return;
    for (const m of muts) {
      if (m.target.dataset && m.target.dataset.nbvizReady === 'true') {
        B.ready = now();
        return;
      }
    }
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-nbviz-ready'] });

  // --- websocket arrivals ---------------------------------------------------------------------
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      if (B.wsOpen === null) B.wsOpen = now();
      // Registered before the page's own onmessage, so this sees the arrival, not the end of handling.
      this.addEventListener('message', (e) => {
        const d = e.data;
        const size = typeof d === 'string' ? d.length : d.byteLength ?? d.size ?? 0;
        B.ws.push([now(), size]);
      });
    }
  };

  // --- main-thread long tasks -----------------------------------------------------------------
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) B.longtasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (err) {
    /* longtask timing unsupported: the profile shows none */
  }

  // --- frame recorder for the zoom ------------------------------------------------------------
  window.__startFrames = () => {
    window.__frames = [];
    window.__wheels = [];
    B.recording = true;
    const tick = (t) => {
      if (!B.recording) return;
      window.__frames.push(t);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    window.addEventListener('wheel', () => window.__wheels.push(now()), { capture: true, passive: true });
  };
  window.__stopFrames = () => {
    B.recording = false;
  };
})();
