// msdash fast map: a scatter map of up to millions of points drawn with Canvas 2D.
// The data arrive as one binary buffer written by msdash/app/fastmap.py::pack_map: a little-endian uint32
// header length, a JSON header, then typed arrays at 4-byte aligned offsets (from the end of the header).
const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
  "#b5de2b", "#fde725"];
const MISSING = "#b0b0b0";
const BINS = 64;       // numeric colours are drawn in this many bins: one fill per bin keeps drawing fast
const HIT_PX = 8;      // hover and click pick the nearest point within this many CSS pixels
const HEIGHT = 520;    // CSS pixels

function decode(bytes) {
  const buf = bytes.slice().buffer; // a copy starts at offset 0, so typed-array views are aligned
  const length = new DataView(buf).getUint32(0, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, length)));
  const arr = {}, start = 4 + length;
  for (const [name, [at, n, type]] of Object.entries(head.arrays)) {
    const offset = start + at;
    arr[name] = type === "i4" ? new Int32Array(buf, offset, n)
      : type === "u1" ? new Uint8Array(buf, offset, n) : new Float32Array(buf, offset, n);
  }
  return {head, arr};
}

function mix(a, b, t) {
  const p = (h, i) => parseInt(h.slice(1 + 2 * i, 3 + 2 * i), 16);
  return "rgb(" + [0, 1, 2].map((i) => Math.round(p(a, i) + (p(b, i) - p(a, i)) * t)).join(",") + ")";
}

function viridis(t) {
  const s = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1), i = Math.min(Math.floor(s), VIRIDIS.length - 2);
  return mix(VIRIDIS[i], VIRIDIS[i + 1], s - i);
}

function niceTicks(a, b, count) {
  const raw = (b - a) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const ticks = [];
  for (let k = Math.ceil(a / step); k * step <= b; k++) ticks.push([k * step, (k * step).toFixed(digits)]);
  return ticks;
}

const fmt = (v) => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : "—");

// Everything about one mounted map; kept on the parent element so reruns update it instead of rebuilding.
function createMap(root) {
  const box = root.querySelector(".msdash-fastmap");
  const base = box.querySelector("canvas.base"), over = box.querySelector("canvas.over");
  const tip = box.querySelector(".tip"), thumb = document.createElement("canvas");
  thumb.className = "thumb";
  const m = {box, data: null, token: null, images: null, view: null, sel: new Set(), hover: -1, drag: null, mode: "pan",
    send: null, frame: 0, baseDirty: true, width: 600};
  const style = () => getComputedStyle(box);
  const colour = (name, fallback) => style().getPropertyValue(name).trim() || fallback;

  function layout() {
    const d = m.data;
    const right = d && d.head.color.kind !== "none" ? Math.min(150, Math.max(80, 0.22 * m.width)) : 20;
    return {l: 70, t: 34, w: Math.max(50, m.width - 70 - right), h: HEIGHT - 34 - 52, key: right - 26};
  }
  const sx = (p, v) => p.l + (v - m.view[0]) / (m.view[1] - m.view[0]) * p.w;
  const sy = (p, v) => p.t + (1 - (v - m.view[2]) / (m.view[3] - m.view[2])) * p.h;
  const dx = (p, px) => m.view[0] + (px - p.l) / p.w * (m.view[1] - m.view[0]);
  const dy = (p, py) => m.view[2] + (1 - (py - p.t) / p.h) * (m.view[3] - m.view[2]);

  function setData(head, arr) {
    const n = head.n, x = arr.x, y = arr.y, ids = arr.id;
    const names = new TextDecoder().decode(arr.names).split("\x1f");
    const c = head.color, bins = c.kind === "numeric" ? BINS : c.kind === "category" ? c.categories.length : 1;
    const binColour = [];
    for (let b = 0; b < bins; b++) {
      binColour.push(c.kind === "numeric" ? viridis(b / (BINS - 1)) : c.palette[b % c.palette.length]);
    }
    binColour.push(MISSING);
    // Bin of every point (the last bin holds missing values), then a counting sort by bin.
    const bin = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = c.kind === "none" ? 0 : arr.color[i];
      bin[i] = c.kind === "numeric" ? (Number.isFinite(v) ? Math.round((v - c.min) / ((c.max - c.min) || 1) * (BINS - 1)) : bins)
        : c.kind === "category" ? (v >= 0 ? v : bins) : 0;
    }
    const binStart = new Int32Array(bins + 2), order = new Int32Array(n);
    for (let i = 0; i < n; i++) binStart[bin[i] + 1]++;
    for (let b = 0; b <= bins; b++) binStart[b + 1] += binStart[b];
    const fill = binStart.slice();
    for (let i = 0; i < n; i++) order[fill[bin[i]]++] = i;
    // Uniform grid over the data extent: hover and click look at a few cells, not at every point.
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      x0 = Math.min(x0, x[i]); x1 = Math.max(x1, x[i]); y0 = Math.min(y0, y[i]); y1 = Math.max(y1, y[i]);
    }
    if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
    if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
    const g = Math.max(1, Math.ceil(Math.sqrt(n / 4)));
    const cell = (v, a, b) => Math.min(g - 1, Math.max(0, Math.floor((v - a) / (b - a) * g)));
    const cellStart = new Int32Array(g * g + 1), cellItems = new Int32Array(n), cellOf = new Int32Array(n);
    for (let i = 0; i < n; i++) { cellOf[i] = cell(x[i], x0, x1) + g * cell(y[i], y0, y1); cellStart[cellOf[i] + 1]++; }
    for (let k = 0; k < g * g; k++) cellStart[k + 1] += cellStart[k];
    const next = cellStart.slice();
    for (let i = 0; i < n; i++) cellItems[next[cellOf[i]]++] = i;
    const index = new Map();
    for (let i = 0; i < n; i++) index.set(ids[i], i);
    const px = 0.04 * (x1 - x0), py = 0.04 * (y1 - y0);
    const home = [x0 - px, x1 + px, y0 - py, y1 + py];
    if (!m.home || home.some((v, k) => v !== m.home[k])) m.view = home.slice(); // new colours keep the view
    m.home = home;
    m.data = {head, x, y, ids, names, hover: head.hover.map((_, k) => arr["hover" + k]), color: arr.color,
      binColour, binStart, order, bin, g, cell, ext: [x0, x1, y0, y1], cellStart, cellItems, index,
      size: n <= 1000 ? 8 : n <= 10000 ? 5 : 3};
  }

  function nearest(px, py) {
    const d = m.data, p = layout();
    if (!d || px < p.l || px > p.l + p.w || py < p.t || py > p.t + p.h) return -1;
    const cx = dx(p, px), cy = dy(p, py);
    const rx = HIT_PX / p.w * (m.view[1] - m.view[0]), ry = HIT_PX / p.h * (m.view[3] - m.view[2]);
    const [x0, x1, y0, y1] = d.ext;
    let best = -1, bestD = 1;
    for (let gy = d.cell(cy - ry, y0, y1); gy <= d.cell(cy + ry, y0, y1); gy++) {
      for (let gx = d.cell(cx - rx, x0, x1); gx <= d.cell(cx + rx, x0, x1); gx++) {
        const k = gx + d.g * gy;
        for (let j = d.cellStart[k]; j < d.cellStart[k + 1]; j++) {
          const i = d.cellItems[j], e = ((d.x[i] - cx) / rx) ** 2 + ((d.y[i] - cy) / ry) ** 2;
          if (e <= bestD) { bestD = e; best = i; }
        }
      }
    }
    return best;
  }

  function insideSelection(drag) {
    const d = m.data, p = layout(), chosen = [];
    if (drag.mode === "box") {
      const xa = dx(p, Math.min(drag.x0, drag.x)), xb = dx(p, Math.max(drag.x0, drag.x));
      const ya = dy(p, Math.max(drag.y0, drag.y)), yb = dy(p, Math.min(drag.y0, drag.y));
      box.dataset.box = [xa, xb, ya, yb].join(","); // the last box in data units, for tests
      for (let i = 0; i < d.head.n; i++) if (d.x[i] >= xa && d.x[i] <= xb && d.y[i] >= ya && d.y[i] <= yb) chosen.push(i);
      return chosen;
    }
    const poly = drag.path.map(([a, b]) => [dx(p, a), dy(p, b)]);
    for (let i = 0; i < d.head.n; i++) {
      let inside = false;
      for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
        const [xa, ya] = poly[a], [xb, yb] = poly[b];
        if ((ya > d.y[i]) !== (yb > d.y[i]) && d.x[i] < (xb - xa) * (d.y[i] - ya) / (yb - ya) + xa) inside = !inside;
      }
      if (inside) chosen.push(i);
    }
    return chosen;
  }

  function select(indices) {
    const next = new Set(indices);
    if (next.size === m.sel.size && indices.every((i) => m.sel.has(i))) return; // nothing new: no rerun
    m.sel = next;
    m.send("selection", {ids: indices.map((i) => m.data.ids[i]), seq: Date.now()});
    schedule(false);
  }

  function sizeCanvas(canvas) {
    const dpr = window.devicePixelRatio || 1, w = Math.round(m.width * dpr), h = Math.round(HEIGHT * dpr);
    if (canvas.width !== w || canvas.height !== h) { // resizing reallocates: only when the size changed
      canvas.width = w; canvas.height = h;
      canvas.style.width = m.width + "px"; canvas.style.height = HEIGHT + "px";
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, m.width, HEIGHT);
    return ctx;
  }

  function drawBase() {
    const d = m.data, p = layout(), ctx = sizeCanvas(base), text = colour("--st-text-color", "#31333F");
    const font = colour("--st-font", "sans-serif");
    ctx.font = `12px ${font}`; ctx.fillStyle = text; ctx.strokeStyle = "rgba(128,128,128,0.25)";
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const [v, label] of niceTicks(m.view[0], m.view[1], Math.max(3, Math.round(p.w / 90)))) {
      const px = sx(p, v); ctx.beginPath(); ctx.moveTo(px, p.t); ctx.lineTo(px, p.t + p.h); ctx.stroke();
      ctx.fillText(label, px, p.t + p.h + 6);
    }
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const [v, label] of niceTicks(m.view[2], m.view[3], Math.max(2, Math.round(p.h / 70)))) {
      const py = sy(p, v); ctx.beginPath(); ctx.moveTo(p.l, py); ctx.lineTo(p.l + p.w, py); ctx.stroke();
      ctx.fillText(label, p.l - 6, py);
    }
    ctx.textAlign = "center"; ctx.textBaseline = "alphabetic"; ctx.font = `13px ${font}`;
    ctx.fillText(d.head.axis[0], p.l + p.w / 2, HEIGHT - 10);
    ctx.save(); ctx.translate(16, p.t + p.h / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(d.head.axis[1], 0, 0); ctx.restore();
    ctx.font = `bold 14px ${font}`; ctx.textAlign = "left"; wrap(ctx, d.head.title, p.l, 20, p.w, 1);
    ctx.save(); ctx.beginPath(); ctx.rect(p.l, p.t, p.w, p.h); ctx.clip(); ctx.globalAlpha = 0.8;
    const s = d.size, h = s / 2, round = d.head.n <= 20000;
    const bins = d.binColour.length;
    for (let k = 0; k < bins; k++) {
      const b = (k + bins - 1) % bins; // missing values first, underneath
      ctx.fillStyle = d.binColour[b]; ctx.beginPath();
      for (let j = d.binStart[b]; j < d.binStart[b + 1]; j++) {
        const i = d.order[j], px = sx(p, d.x[i]), py = sy(p, d.y[i]);
        if (px < p.l - s || px > p.l + p.w + s || py < p.t - s || py > p.t + p.h + s) continue;
        if (round) { ctx.moveTo(px + h, py); ctx.arc(px, py, h, 0, 2 * Math.PI); } else ctx.rect(px - h, py - h, s, s);
      }
      ctx.fill();
    }
    ctx.restore();
    ctx.strokeStyle = "rgba(128,128,128,0.6)"; ctx.strokeRect(p.l, p.t, p.w, p.h);
    drawKey(ctx, p, text, font);
  }

  // Text on at most `most` lines of `width` pixels (longer text ends in "…").
  function wrap(ctx, label, x, y, width, most = 2) {
    const lines = [""];
    for (const word of String(label).split(" ")) {
      const next = lines[lines.length - 1] ? lines[lines.length - 1] + " " + word : word;
      if (ctx.measureText(next).width <= width || !lines[lines.length - 1]) lines[lines.length - 1] = next;
      else lines.push(word);
    }
    lines.slice(0, most).forEach((line, k) => {
      let t = k === most - 1 && lines.length > most ? line + " …" : line;
      while (t.length > 1 && ctx.measureText(t).width > width) t = t.slice(0, -2) + "…";
      ctx.fillText(t, x, y + 15 * k);
    });
  }

  function drawKey(ctx, p, text, font) {
    const c = m.data.head.color, left = p.l + p.w + 20;
    ctx.font = `12px ${font}`; ctx.fillStyle = text; ctx.textAlign = "left"; ctx.textBaseline = "middle";
    if (c.kind === "numeric") {
      const top = p.t + 30, height = Math.min(260, p.h - 30), grad = ctx.createLinearGradient(0, top + height, 0, top);
      VIRIDIS.forEach((v, i) => grad.addColorStop(i / (VIRIDIS.length - 1), v));
      ctx.fillStyle = grad; ctx.fillRect(left, top, 16, height); ctx.fillStyle = text;
      ctx.fillText(fmt(c.max), left + 22, top + 4); ctx.fillText(fmt(c.min), left + 22, top + height - 4);
      wrap(ctx, c.label, left - 4, p.t - 6, p.key);
    } else if (c.kind === "category") {
      wrap(ctx, c.label, left - 4, p.t - 6, p.key);
      const rows = Math.floor((p.h - 36) / 18), shown = c.categories.length > rows ? rows - 1 : c.categories.length;
      c.categories.slice(0, shown).forEach((name, k) => {
        ctx.fillStyle = c.palette[k % c.palette.length]; ctx.fillRect(left, p.t + 30 + 18 * k, 12, 12);
        ctx.fillStyle = text; wrap(ctx, name, left + 18, p.t + 36 + 18 * k, p.key - 18, 1);
      });
      if (shown < c.categories.length) ctx.fillText(`+${c.categories.length - shown} more`, left, p.t + 36 + 18 * shown);
    }
  }

  function drawOverlay() {
    const d = m.data, p = layout(), ctx = sizeCanvas(over);
    ctx.save(); ctx.beginPath(); ctx.rect(p.l, p.t, p.w, p.h); ctx.clip();
    const many = m.sel.size > 300, r = d.size / 2 + (many ? 1.5 : 3); // many outlines would merge into a blot
    ctx.lineWidth = many ? 0.75 : 1.5; ctx.strokeStyle = "#000";
    for (const i of m.sel) {
      ctx.fillStyle = d.binColour[d.bin[i]];
      ctx.beginPath(); ctx.arc(sx(p, d.x[i]), sy(p, d.y[i]), r, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
    if (m.hover >= 0) {
      ctx.strokeStyle = colour("--st-primary-color", "#ff4b4b"); ctx.lineWidth = 2; ctx.beginPath();
      ctx.arc(sx(p, d.x[m.hover]), sy(p, d.y[m.hover]), r + 2, 0, 2 * Math.PI); ctx.stroke();
    }
    const g = m.drag;
    ctx.setLineDash([4, 3]); ctx.strokeStyle = "#444"; ctx.lineWidth = 1; ctx.fillStyle = "rgba(100,120,255,0.12)";
    if (g && g.mode === "box") {
      ctx.fillRect(g.x0, g.y0, g.x - g.x0, g.y - g.y0); ctx.strokeRect(g.x0, g.y0, g.x - g.x0, g.y - g.y0);
    } else if (g && g.mode === "lasso") {
      ctx.beginPath(); g.path.forEach(([a, b], k) => (k ? ctx.lineTo(a, b) : ctx.moveTo(a, b)));
      ctx.closePath(); ctx.fill(); ctx.stroke();
    }
    ctx.restore();
  }

  function render() {
    cancelAnimationFrame(m.frame);
    m.frame = 0;
    if (!m.data) return;
    if (m.baseDirty) drawBase();
    drawOverlay();
    m.baseDirty = false;
    const v = m.view.map((t) => t.toPrecision(10)).join(","), p = layout();
    Object.assign(box.dataset, {drawn: "1", n: String(m.data.head.n), view: v, plot: [p.l, p.t, p.w, p.h].join(",")});
  }

  // Mouse moves and wheel turns redraw at most once per frame.
  function schedule(all) {
    m.baseDirty = m.baseDirty || all;
    if (!m.frame) m.frame = requestAnimationFrame(render);
  }

  // The tooltip: the hovered sample's micrograph (when the page sent an atlas, see hoverimages.js) beside its
  // name and numbers.
  function showTip(i, px, py) {
    m.hover = i; tip.replaceChildren(); tip.hidden = i < 0;
    if (i >= 0) {
      const d = m.data, reg = window.__msdashAtlas, spec = m.images;
      const shown = spec && reg ? reg.draw(thumb, spec.atlas, d.ids[i], spec.pixel_um) : null;
      let lines = tip;
      if (shown) { lines = document.createElement("div"); lines.className = "lines"; tip.append(thumb, lines); }
      tip.classList.toggle("with-image", Boolean(shown));
      const line = (t, bold) => {
        const e = document.createElement(bold ? "b" : "div"); e.textContent = t; lines.appendChild(e);
      };
      line(d.names[i], true);
      d.head.hover.forEach((name, k) => line(`${name}: ${fmt(d.hover[k][i])}`));
      if (d.head.color.kind === "numeric") line(`${d.head.color.label}: ${fmt(d.color[i])}`);
      if (d.head.color.kind === "category") line(`${d.head.color.label}: ${d.head.color.categories[d.color[i]] ?? "missing"}`);
      line(`${d.head.axis[0]}: ${fmt(d.x[i])}`); line(`${d.head.axis[1]}: ${fmt(d.y[i])}`);
      if (shown && shown.width) line(`width: ${shown.width}`);
      tip.style.left = Math.max(0, Math.min(px + 14, m.width - (shown ? 440 : 330))) + "px"; tip.style.top = py + 14 + "px";
    }
    schedule(false);
  }

  const at = (e) => { const r = over.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  const handlers = {
    pointerdown(e) {
      if (e.button !== 0 || !m.data) return;
      const [x, y] = at(e), mode = e.shiftKey ? "box" : e.altKey ? "lasso" : m.mode;
      m.drag = {mode, x0: x, y0: y, x, y, path: [[x, y]], view: m.view.slice()};
      over.setPointerCapture(e.pointerId);
      showTip(-1, 0, 0);
    },
    pointermove(e) {
      const [x, y] = at(e), g = m.drag;
      if (!g) { showTip(nearest(x, y), x, y); return; }
      g.x = x; g.y = y;
      if (g.mode === "pan") {
        const p = layout(), ox = (x - g.x0) / p.w * (g.view[1] - g.view[0]), oy = (y - g.y0) / p.h * (g.view[3] - g.view[2]);
        m.view = [g.view[0] - ox, g.view[1] - ox, g.view[2] + oy, g.view[3] + oy];
        schedule(true);
      } else {
        if (g.mode === "lasso") g.path.push([x, y]);
        schedule(false);
      }
    },
    pointerup(e) {
      const g = m.drag;
      if (!g) return;
      m.drag = null;
      if (Math.hypot(g.x - g.x0, g.y - g.y0) < 4) {
        const i = nearest(g.x0, g.y0);
        if (i >= 0) select([i]);
      } else if (g.mode === "box" || (g.mode === "lasso" && g.path.length > 2)) {
        select(insideSelection(g));
      }
      schedule(false);
    },
    pointerleave() { if (!m.drag) showTip(-1, 0, 0); },
    wheel(e) {
      const [x, y] = at(e), p = layout();
      if (x < p.l || x > p.l + p.w || y < p.t || y > p.t + p.h) return;
      e.preventDefault();
      const f = Math.exp(Math.max(-1, Math.min(1, e.deltaY * 0.002))), cx = dx(p, x), cy = dy(p, y);
      m.view = [cx + (m.view[0] - cx) * f, cx + (m.view[1] - cx) * f, cy + (m.view[2] - cy) * f, cy + (m.view[3] - cy) * f];
      schedule(true);
    },
    dblclick() { m.view = m.home.slice(); select([]); schedule(true); },
  };
  const stop = new AbortController(), signal = stop.signal;
  for (const [name, fn] of Object.entries(handlers)) over.addEventListener(name, fn, {passive: name !== "wheel", signal});
  box.querySelectorAll("button[data-mode]").forEach((b) => b.addEventListener("click", () => {
    m.mode = b.dataset.mode;
    box.querySelectorAll("button[data-mode]").forEach((o) => o.classList.toggle("on", o === b));
  }, {signal}));
  box.querySelector("button.reset").addEventListener("click", handlers.dblclick, {signal});
  const resize = new ResizeObserver(() => {
    const w = Math.floor(box.clientWidth);
    if (w > 0 && w !== m.width) { m.width = w; schedule(true); }
  });
  resize.observe(box);
  m.width = Math.floor(box.clientWidth) || 600;

  m.update = (bytes, send) => {
    m.send = send;
    const {head, arr} = decode(bytes);
    if (head.token !== m.token) { setData(head, arr); m.token = head.token; m.baseDirty = true; }
    m.images = head.images || null;
    m.sel = new Set(head.selected.map((id) => m.data.index.get(id)).filter((i) => i !== undefined));
    render(); // now, not at the next frame: other elements of the page may keep the browser busy a while
  };
  m.destroy = () => { stop.abort(); resize.disconnect(); cancelAnimationFrame(m.frame); };
  return m;
}

export default function (component) {
  const {data, parentElement, setStateValue} = component;
  if (!data) return undefined;
  // Streamlit calls this again on every rerun with the same parent: keep one map per parent.
  const map = parentElement.__msdashFastMap || (parentElement.__msdashFastMap = createMap(parentElement));
  map.update(data, setStateValue);
  return () => { map.destroy(); delete parentElement.__msdashFastMap; };
}
