// msdash hover images: the atlas of a data set's thumbnails (msdash/atlas.py::build_atlas), decoded once per
// browser tab and kept in window.__msdashAtlas under its token, which the canvas map (fastmap.js) and the plotly
// maps draw from. Two mounts share this script: data = the atlas bytes (registers it), or data = {plotly: …}
// (shows the hovered point's micrograph beside a plotly map in the same column).
const KEEP = 4;        // atlases kept per tab (the oldest is dropped)
const THUMB_PX = 96;   // CSS pixels of the longer side of a hover image

function formatLength(um) {  // as msdash.data.pixelsize.format_length
  const g = (v) => String(Number(v.toPrecision(3)));
  return um < 1 ? `${g(um * 1e3)} nm` : um >= 1000 ? `${g(um / 1e3)} mm` : `${g(um)} µm`;
}

function barLength(widthUm, fraction = 0.25) {  // as msdash.data.pixelsize.scale_bar_length
  const target = widthUm * fraction, e = Math.pow(10, Math.floor(Math.log10(target)));
  return Math.max(...[1, 2, 5].map((m) => m * e).filter((v) => v <= target * (1 + 1e-12)));
}

function registry() {
  if (!window.__msdashAtlas) {
    const atlases = new Map();
    window.__msdashAtlas = {
      atlases,
      // Draw cell `index` of atlas `key` into `canvas` (THUMB_PX on its longer side) with a scale bar when
      // `pixelUm` is known; returns {name, width} (width: the picture's width in µm as text) or null.
      draw(canvas, key, index, pixelUm) {
        const a = atlases.get(key);
        if (!a || !a.bitmaps || !(index >= 0 && index < a.head.n)) return null;
        const {cell, columns, per_sheet: per} = a.head, j = index % per;
        const h = a.size[2 * index], w = a.size[2 * index + 1], scale = THUMB_PX / Math.max(h, w, 1);
        const W = Math.max(1, Math.round(w * scale)), H = Math.max(1, Math.round(h * scale));
        const dpr = window.devicePixelRatio || 1;
        if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
          canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
        }
        canvas.style.width = W + "px"; canvas.style.height = H + "px";
        const ctx = canvas.getContext("2d");
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        ctx.imageSmoothingEnabled = false; // as the thumbnails enlarge small images: single pixels stay crisp
        ctx.drawImage(a.bitmaps[Math.floor(index / per)], (j % columns) * cell, Math.floor(j / columns) * cell, w, h,
          0, 0, W, H);
        canvas.dataset.index = String(index);
        let width = null;
        delete canvas.dataset.bar;
        if (pixelUm > 0 && a.widthPx[index] > 0) {
          const widthUm = a.widthPx[index] * pixelUm, length = barLength(widthUm), bar = length / widthUm * W;
          const thick = 3, x1 = W - 4, y1 = H - 4, label = formatLength(length);
          ctx.fillStyle = "#000"; ctx.fillRect(x1 - bar - 1, y1 - thick - 1, bar + 2, thick + 2);
          ctx.fillStyle = "#fff"; ctx.fillRect(x1 - bar, y1 - thick, bar, thick);
          ctx.font = "bold 10px sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "bottom";
          ctx.lineWidth = 2; ctx.lineJoin = "round"; ctx.strokeStyle = "#000"; ctx.strokeText(label, x1, y1 - thick - 2);
          ctx.fillText(label, x1, y1 - thick - 2);
          canvas.dataset.bar = label;
          width = formatLength(widthUm);
        }
        return {name: a.names ? a.names[index] : null, width};
      },
      // Row of sample `name` in atlas `key` (for plotly maps, whose points carry names), or -1.
      indexOf(key, name) {
        const a = atlases.get(key);
        if (!a) return -1;
        if (!a.index) { a.index = new Map(); a.names.forEach((n, i) => a.index.set(n, i)); }
        return a.index.get(name) ?? -1;
      },
    };
  }
  return window.__msdashAtlas;
}

function decode(bytes) {
  const buf = bytes.slice().buffer, length = new DataView(buf).getUint32(0, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, length)));
  const start = 4 + length, span = (k) => [start + head.arrays[k][0], head.arrays[k][1]];
  return {
    head,
    size: new Uint8Array(buf, ...span("size")),
    widthPx: new Int32Array(buf, ...span("width_px")),
    names: new TextDecoder().decode(new Uint8Array(buf, ...span("names"))).split("\x1f"),
    sheets: head.sheets.map(([at, n]) => new Blob([new Uint8Array(buf, start + at, n)], {type: head.mime})),
  };
}

function mountAtlas(component) {
  const {data, parentElement} = component;
  parentElement.querySelector(".msdash-plotly-hover")?.remove(); // the other mount's part of the shared HTML
  const status = parentElement.querySelector(".msdash-atlas");
  const length = new DataView(data.buffer, data.byteOffset).getUint32(0, true);
  const head = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + length)));
  const reg = registry(), key = head.token;
  const shown = (text, ready) => {
    status.textContent = text;
    Object.assign(status.dataset, {key, token: head.token, ready: ready ? "1" : "0"});
  };
  const have = reg.atlases.get(key);
  if (have && have.head.token === head.token) { // a rerun: nothing to decode
    if (have.bitmaps) shown(have.text, true);
    else have.waiting.push(() => shown(have.text, true));
    return;
  }
  const entry = decode(data);
  entry.text = `Micrographs on hover: ${head.n.toLocaleString("en")} thumbnails of ${head.cell} px ` +
    `(${(data.byteLength / 1e6).toFixed(1)} MB, sent once)`;
  entry.waiting = [];
  reg.atlases.set(key, entry);
  while (reg.atlases.size > KEEP) {
    const [oldest, old] = reg.atlases.entries().next().value;
    (old.bitmaps || []).forEach((b) => b.close());
    reg.atlases.delete(oldest);
  }
  shown("Micrographs on hover: decoding…", false);
  Promise.all(entry.sheets.map((blob) => createImageBitmap(blob))).then((bitmaps) => {
    entry.bitmaps = bitmaps; entry.sheets = null;
    shown(entry.text, true);
    entry.waiting.forEach((f) => f());
  }, (error) => shown(`Micrographs on hover could not be decoded: ${error}`, false));
}

// A plotly map in the same column: its plotly_hover events draw the hovered sample beside the pointer.
function mountPlotlyHover(component) {
  const {data, parentElement} = component;
  const state = parentElement.__msdashPlotlyHover || (parentElement.__msdashPlotlyHover = {gd: null});
  state.key = data.plotly.atlas; state.pixelUm = data.plotly.pixel_um;
  parentElement.querySelector(".msdash-atlas")?.remove(); // the other mount's part of the shared HTML
  const stop = () => { clearInterval(state.timer); delete parentElement.__msdashPlotlyHover; };
  if (state.timer) return stop;
  const box = parentElement.querySelector(".msdash-plotly-hover");
  const canvas = box.querySelector("canvas"), caption = box.querySelector(".caption");
  const host = parentElement.getRootNode().host || parentElement;
  const column = host.closest('[data-testid="stColumn"]') || host.closest('[data-testid="stVerticalBlock"]');
  const hide = () => { box.hidden = true; };
  const hover = (event) => {
    const point = event.points && event.points[0], name = point && point.customdata && point.customdata[0];
    const reg = window.__msdashAtlas, index = reg && name != null ? reg.indexOf(state.key, String(name)) : -1;
    const drawn = index >= 0 && reg.draw(canvas, state.key, index, state.pixelUm);
    if (!drawn) { hide(); return; }
    caption.textContent = drawn.width ? `${drawn.name} · ${drawn.width} wide` : drawn.name;
    box.hidden = false;
    const e = event.event || {}, x = e.clientX ?? 0, y = e.clientY ?? 0, w = box.offsetWidth, h = box.offsetHeight;
    // Above the pointer: plotly's own label opens beside the point, level with it.
    box.style.left = Math.max(4, Math.min(x - w / 2, window.innerWidth - w - 4)) + "px";
    box.style.top = (y - h - 40 >= 4 ? y - h - 40 : y + 40) + "px";
  };
  state.hover = hover; state.hide = hide;
  const attach = () => {
    const gd = column && column.querySelector(".js-plotly-plot");
    if (!gd || typeof gd.on !== "function") return;
    if (!gd.__msdashHover) { // one pair of listeners per chart element, whatever the reruns
      gd.on("plotly_hover", (event) => gd.__msdashHover.hover(event));
      gd.on("plotly_unhover", () => gd.__msdashHover.hide());
    }
    gd.__msdashHover = state; box.dataset.attached = "1";
  };
  attach();
  state.timer = setInterval(attach, 500); // a new figure may come with a new chart element
  return stop;
}

export default function (component) {
  const {data} = component;
  if (!data) return undefined;
  if (data.plotly) return mountPlotlyHover(component);
  mountAtlas(component);
  return undefined;
}
