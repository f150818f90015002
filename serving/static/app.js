// HelloHome search page: calls /api/v1/search and /api/v1/autocomplete; no framework, no external assets.
"use strict";
const $ = (id) => document.getElementById(id);
const MULTI = ["city", "area", "neighbourhood", "room_type", "property_type", "host_role", "amenities"];
const FACET_TITLES = {city: "City", area: "Area", neighbourhood: "Neighbourhood", room_type: "Room type",
  property_type: "Property type", amenities: "Amenities", price: "Price", review_score: "Rating",
  bedrooms: "Bedrooms", bathrooms: "Bathrooms", accommodates: "Guests", minimum_nights: "Minimum nights",
  availability_365: "Availability (days)", host_role: "Host role", superhost: "Superhost"};
const state = {q: "", sort: "relevance", page: 1, size: 10, interpret: true, filters: {}};
let last = null;

function esc(s) { return String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
// highlights arrive HTML-encoded by OpenSearch with only <mark> added
function marked(s) { return String(s).replace(/<(?!\/?mark>)/g, "&lt;"); }

async function api(path, body) {
  const res = await fetch(path, body ? {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)} : {});
  const data = await res.json();
  if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText);
  return data;
}

// paging or re-sorting keeps the query and the filters, so the facets and the total already shown
// still hold: such a request skips the aggregations (most of a search's cost on large result sets)
async function search(sameResults = false) {
  const keep = sameResults && last && last.facets;
  const body = {q: state.q, sort: state.sort, page: state.page, size: state.size, interpret: state.interpret,
    filters: state.filters, facets: !keep};
  let r;
  try { r = await api("/api/v1/search", body); } catch (e) { $("summary").textContent = "Search failed: " + e.message; return; }
  if (keep) Object.assign(r, {facets: last.facets, total: last.total, total_is_exact: last.total_is_exact});
  last = r;
  render(r);
}

function render(r) {
  $("summary").textContent = `${r.total.toLocaleString()}${r.total_is_exact === false ? "+" : ""} listings · ${r.took_ms.total} ms`;
  $("results").innerHTML = r.hits.map((h) => `
    <li class="card" data-id="${esc(h.id)}"><div class="photo" title="${esc(h.image || "no photo")}"></div><div>
      <h2>${h.highlight.title ? marked(h.highlight.title[0]) : esc(h.title)}</h2>
      <div class="meta">${h.price != null ? esc(h.currency) + " " + h.price : "price n/a"} · ${esc(h.room_type)} ·
        ${esc(h.neighbourhood)}${h.area ? ", " + esc(h.area) : ""} · ${esc(h.city)}
        ${h.review_score != null ? " · ★ " + h.review_score : ""}</div>
      ${h.highlight.description ? `<div class="meta">${marked(h.highlight.description[0])}</div>` : ""}
      <a href="#" class="similar" data-id="${esc(h.id)}">similar</a></div></li>`).join("");
  $("page").textContent = `page ${r.page}`;
  $("prev").disabled = r.page <= 1;
  $("next").disabled = r.page * r.size >= Math.min(r.total, 1000);
  renderChips(r);
  renderFacets(r.facets || {});
  renderMap(r.hits);
}

function renderChips(r) {
  const chips = r.interpretation.map((i) => `<span class="chip" data-field="${esc(i.field)}">${esc(i.field)}: ${esc(JSON.stringify(i.value))}
    <button type="button" aria-label="remove ${esc(i.field)}">×</button></span>`);
  $("chips").innerHTML = chips.join("");
}

function renderFacets(facets) {
  const out = [];
  for (const [name, buckets] of Object.entries(facets)) {
    if (!Array.isArray(buckets) || !buckets.length) continue;
    const items = buckets.filter((b) => b.count > 0).slice(0, 12).map((b) => {
      const selected = facetSelected(name, b);
      return `<label><input type="checkbox" data-facet="${esc(name)}" data-value="${esc(b.value)}"
        data-from="${b.from ?? ""}" data-to="${b.to ?? ""}" ${selected ? "checked" : ""}> ${esc(b.value)} (${b.count})</label>`;
    });
    if (items.length) out.push(`<h3>${esc(FACET_TITLES[name] || name)}</h3>${items.join("")}`);
  }
  if (facets.price_stats && facets.price_stats.count) {
    const s = facets.price_stats;
    out.push(`<h3>Price</h3><div>min ${s.min} · avg ${Math.round(s.avg)} · max ${s.max}</div>`);
  }
  $("facets").innerHTML = out.join("");
}

function facetSelected(name, b) {
  const f = state.filters;
  if (MULTI.includes(name)) return (f[name] || []).includes(String(b.value));
  if (name === "price") return f.price_min === b.from && f.price_max === b.to;
  if (name === "review_score") return f.review_score_min === b.from;
  return false;
}

function toggleFacet(box) {
  const name = box.dataset.facet, value = box.dataset.value, f = state.filters;
  if (MULTI.includes(name)) {
    const values = new Set(f[name] || []);
    box.checked ? values.add(value) : values.delete(value);
    f[name] = [...values];
  } else if (name === "price") {
    f.price_min = box.checked ? Number(box.dataset.from) : null;
    f.price_max = box.checked && box.dataset.to !== "" ? Number(box.dataset.to) : null;
  } else if (name === "review_score") {
    f.review_score_min = box.checked ? Number(box.dataset.from) : null;
  } else if (["bedrooms", "bathrooms", "accommodates"].includes(name)) {
    f[name + "_min"] = box.checked ? Number(value) : null;
  } else return;
  state.page = 1;
  search();
}

function removeChip(field) {
  // apply the interpretation explicitly, minus the removed piece, and stop re-reading the text
  const f = {...last.filters};
  if (field === "price_range") { delete f.price_min; delete f.price_max; } else delete f[field];
  state.filters = f;
  state.interpret = false;
  state.q = last.query;
  if (field === "sort") state.sort = "relevance";
  else state.sort = last.sort;
  $("q").value = state.q;
  $("sort").value = state.sort;
  state.page = 1;
  search();
}

function renderMap(hits) {
  const pts = hits.filter((h) => h.location).map((h) => [h.location.lon, h.location.lat, h.title]);
  if (!pts.length) { $("map").innerHTML = ""; return; }
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x) => 20 + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * 360, sy = (y) => 180 - (y1 > y0 ? (y - y0) / (y1 - y0) : 0.5) * 160;
  $("map").innerHTML = pts.map((p) => `<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="4" fill="#d33"><title>${esc(p[2])}</title></circle>`).join("");
}

async function showSimilar(id) {
  try {
    const r = await api(`/api/v1/properties/${id}/similar?size=10`);
    render({...last, hits: r.hits.map((h) => ({...h, highlight: {}})), total: r.hits.length, interpretation: last.interpretation});
    $("summary").textContent = `Listings similar to ${id}`;  // after render(), which writes the search's summary
  } catch (e) { $("summary").textContent = "Similar listings: " + e.message; }
}

// autocomplete: debounced, keyboard and mouse
let timer = null, active = -1, options = [], generation = 0;
async function suggest() {
  const prefix = $("q").value.trim(), asked = generation;
  if (prefix.length < 2) { $("suggestions").hidden = true; return; }
  let r;
  try { r = await api(`/api/v1/autocomplete?q=${encodeURIComponent(prefix)}&size=5`); } catch (e) { return; }
  if (asked !== generation) return;  // the user searched meanwhile: a late list would cover the page
  options = [...r.places.map((p) => ({text: p.name, kind: p.kind, place: p})),
             ...r.listings.map((l) => ({text: l.title, kind: "listing"}))];
  $("suggestions").innerHTML = options.map((o, i) => `<li role="option" data-i="${i}">${esc(o.text)}<span class="kind">${esc(o.kind)}</span></li>`).join("");
  $("suggestions").hidden = !options.length;
  active = -1;
}
function pick(i) {
  const o = options[i];
  $("suggestions").hidden = true;
  if (o.place) { $("q").value = ""; submit({[o.place.kind]: [o.place.name]}); }
  else { $("q").value = o.text; submit(); }
}
// a new search starts from no filters (or from the picked place); facets then narrow it
function submit(filters = {}) {
  generation += 1; clearTimeout(timer); $("suggestions").hidden = true;
  state.filters = filters;
  state.q = $("q").value; state.sort = $("sort").value; state.page = 1; state.interpret = true;
  search();
}

$("q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 120); });
$("q").addEventListener("keydown", (e) => {
  const items = $("suggestions").querySelectorAll("li");
  if ($("suggestions").hidden || !items.length) return;
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    active = (active + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
    items.forEach((li, i) => li.classList.toggle("active", i === active));
  } else if (e.key === "Enter" && active >= 0) { e.preventDefault(); pick(active); }
});
$("q").addEventListener("blur", () => setTimeout(() => { $("suggestions").hidden = true; }, 150));
$("suggestions").addEventListener("mousedown", (e) => { const li = e.target.closest("li"); if (li) pick(Number(li.dataset.i)); });
$("search-form").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
$("sort").addEventListener("change", () => { state.sort = $("sort").value; state.page = 1; search(true); });
$("facets").addEventListener("change", (e) => { if (e.target.dataset.facet) toggleFacet(e.target); });
$("chips").addEventListener("click", (e) => { if (e.target.tagName === "BUTTON") removeChip(e.target.parentElement.dataset.field); });
$("results").addEventListener("click", (e) => { if (e.target.classList.contains("similar")) { e.preventDefault(); showSimilar(e.target.dataset.id); } });
$("prev").addEventListener("click", () => { state.page -= 1; search(true); });
$("next").addEventListener("click", () => { state.page += 1; search(true); });
search();
