/* geosvc citizens' app (GET /): search an item, read its guide, go to the nearest venue.
 *
 * Plain script, no build step.  Everything comes from the JSON API of this
 * origin; the page's own data (dataset centre, loaded travel modes, the texts
 * in the page's one language) is the JSON in #geosvc-app-data.  Data is
 * written into the page only as text (textContent / createElement), never
 * as markup.  Positions are kept in WGS-84; they are shifted to the base
 * map's system (GCJ-02 for Amap tiles) only to be drawn, with the formulas
 * of geosvc/coords.py.
 */
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("geosvc-app-data").textContent);
  var S = D.strings;
  var K = 5; // results of a search

  // ------------------------------------------------------------------ helpers

  function fmt(key, values) {
    var text = S[key] || "";
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function $(id) { return document.getElementById(id); }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  function localName(obj) {
    if (!obj) { return ""; }
    return (D.lang === "en" && obj.name_en) ? obj.name_en : (obj.name || obj.code || "");
  }

  // A venue's name in the page's language (its English name on an English page), else its code.
  function venueName(f) { return localName(f.properties) || f.id; }

  // The name on the venue's own sign when the page shows another (English page, Chinese name).
  function signName(f) {
    var p = f.properties, shown = venueName(f);
    return (p.name && p.name !== shown) ? p.name : "";
  }

  // The sign name under a venue's heading, marked as Chinese for screen readers.
  function addSignName(box, f) {
    var sign = signName(f);
    if (sign) {
      var s = el("p", "gs-sign-name", sign);
      s.lang = "zh";
      box.appendChild(s);
    }
  }

  // --------------------------------------------- coordinates (geosvc/coords.py)

  var A = 6378245.0, EE = 0.00669342162296594323, X_PI = Math.PI * 3000.0 / 180.0;

  function outOfChina(x, y) {
    return !(x > 72.004 && x < 137.8347 && y > 0.8293 && y < 55.8271);
  }

  function transformLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320.0 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return r;
  }

  function transformLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return r;
  }

  function wgsToGcj(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    var dlat = transformLat(lon - 105.0, lat - 35.0);
    var dlon = transformLon(lon - 105.0, lat - 35.0);
    var radlat = lat / 180.0 * Math.PI;
    var magic = Math.sin(radlat);
    magic = 1.0 - EE * magic * magic;
    var sqrtmagic = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrtmagic) * Math.PI);
    dlon = (dlon * 180.0) / (A / sqrtmagic * Math.cos(radlat) * Math.PI);
    return [lon + dlon, lat + dlat];
  }

  function gcjToWgs(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    var wx = lon, wy = lat;
    for (var i = 0; i < 30; i++) {
      var g = wgsToGcj(wx, wy), ex = g[0] - lon, ey = g[1] - lat;
      wx -= ex; wy -= ey;
      if (Math.max(Math.abs(ex), Math.abs(ey)) < 1e-10) { break; }
    }
    return [wx, wy];
  }

  function gcjToBd(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    var z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
    var theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
    return [z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006];
  }

  function wgsToBd(lon, lat) { var g = wgsToGcj(lon, lat); return gcjToBd(g[0], g[1]); }

  // Python's urllib.parse.quote(safe=""): also escapes !'()*
  function quote(text) {
    return encodeURIComponent(text).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }

  function g6(x) { return String(parseFloat(x.toPrecision(6))); } // Python "{:.6g}"

  function navLinks(lon, lat, name, mode, origin) {
    var nav = D.nav[mode] || D.nav.walk, label = name.slice(0, 60);
    var g = wgsToGcj(lon, lat), b = wgsToBd(lon, lat);
    var amap = "https://uri.amap.com/navigation?to=" +
      quote(g[0].toFixed(6) + "," + g[1].toFixed(6) + "," + label) +
      "&mode=" + quote(nav.amap) + "&coordinate=gaode&callnative=1";
    var baidu = "https://api.map.baidu.com/direction?destination=" +
      quote("latlng:" + b[1].toFixed(6) + "," + b[0].toFixed(6) + "|name:" + label) +
      "&mode=" + quote(nav.baidu) + "&coord_type=bd09ll&output=html&src=geosvc";
    var start = origin ? g6(origin[1]) + "," + g6(origin[0]) : "";
    var osm = "https://www.openstreetmap.org/directions?engine=" + quote(nav.osrm) +
      "&route=" + quote(start + ";" + g6(lat) + "," + g6(lon));
    return {amap: amap, baidu: baidu, osm: osm};
  }

  // ------------------------------------------------------------------ state

  var state = {
    start: null,        // [lon, lat] WGS-84
    startKind: "centre",
    item: null,         // {code, name, name_en}
    bundle: null,       // {code, name, name_en, items: [codes]}
    bundleNames: {},    // item code -> name
    landing: true,
    landingAll: false,  // the landing state found no open hall and shows the nearest one
    features: [],
    selected: null,
    seq: 0
  };

  function mode() {
    var checked = document.querySelector("input[name=mode]:checked");
    return checked ? checked.value : D.modes[0];
  }

  function openNow() { return $("gs-open-now").checked; }

  function channel() { var c = $("gs-channel"); return c ? c.value : ""; }

  // ------------------------------------------------------------------ the map

  var params = new URLSearchParams(location.search);
  var basemap = D.basemaps[params.get("tiles") || "osm"] || D.basemaps.osm || null;
  var mapCrs = basemap ? basemap.crs : "wgs84";

  function toMap(lon, lat) {
    var p = mapCrs === "gcj02" ? wgsToGcj(lon, lat) : [lon, lat];
    return L.latLng(p[1], p[0]);
  }

  function fromMap(latlng) {
    return mapCrs === "gcj02" ? gcjToWgs(latlng.lng, latlng.lat) : [latlng.lng, latlng.lat];
  }

  var map = L.map("gs-map", {zoomControl: true, attributionControl: true});
  if (basemap) {
    var opts = {maxZoom: basemap.max_zoom, attribution: basemap.attribution};
    if (basemap.subdomains) { opts.subdomains = basemap.subdomains; }
    L.tileLayer(basemap.url, opts).addTo(map);
  }
  var b = D.bounds;
  if (b[0] === b[2] && b[1] === b[3]) {
    map.setView(toMap(D.centre[0], D.centre[1]), 15);
  } else {
    map.fitBounds(L.latLngBounds(toMap(b[0], b[1]), toMap(b[2], b[3])), {animate: false});
  }
  var overlay = L.layerGroup().addTo(map);     // the venue pins
  var routeLayer = L.layerGroup().addTo(map);  // the routes to the chosen venue(s)
  var startLayer = L.layerGroup().addTo(map);
  var pins = [];                               // L.marker per state.features entry
  // Pins by keyboard: Enter/Space opens a pin's popup, Escape closes it (geosvc-pins.js).
  window.geosvcPinKeys(map);
  map.on("popupopen", function (e) {
    var btn = e.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (btn) { btn.setAttribute("aria-label", S.close); btn.title = S.close; }
  });

  function drawStart() {
    startLayer.clearLayers();
    if (!state.start) { return; }
    // Under the pins (the overlay pane) and not clickable, so a venue at the start
    // stays reachable; the halo still shows around a pin that covers the dot.
    L.circleMarker(toMap(state.start[0], state.start[1]), {
      radius: 19, stroke: false, fillColor: "#111827", fillOpacity: 0.25,
      className: "gs-start-halo", interactive: false
    }).addTo(startLayer);
    L.circleMarker(toMap(state.start[0], state.start[1]), {
      radius: 9, color: "#ffffff", weight: 3, fillColor: "#111827", fillOpacity: 1,
      className: "gs-start-marker", interactive: false
    }).addTo(startLayer);
  }

  function pin(rank) {
    var box = el("span", "gs-pin-label", rank);
    return L.divIcon({html: box, className: "gs-pin", iconSize: [28, 28], iconAnchor: [14, 14],
                      popupAnchor: [0, -12]});
  }

  // What a screen reader says on a pin: rank, name, kind, open or closed.
  function pinLabel(f, i) {
    var p = f.properties;
    return fmt("pin_label", {n: f.label || (i + 1), name: venueName(f),
                             kind: D.kinds[p.kind] || p.kind || "",
                             open: openWords(p, p.arrives_at || state.ref).text});
  }

  // A pin's popup (a click or Enter on the pin): the venue in brief, its page one step away.
  function pinPopup(f) {
    var p = f.properties, box = el("div", "gs-pin-popup");
    var h = el("h3");
    var a = el("a", "gs-venue-link", venueName(f));
    a.href = "/venues/" + encodeURIComponent(f.id);
    h.appendChild(a);
    box.appendChild(h);
    addSignName(box, f);
    if (D.kinds[p.kind]) { box.appendChild(el("p", "gs-pin-kind", D.kinds[p.kind])); }
    box.appendChild(el("p", "gs-facts", factsText(p)));
    var words = openWords(p, p.arrives_at || state.ref);
    box.appendChild(el("p", "gs-open " + openClass(words), words.text));
    if (p.address) { box.appendChild(el("p", "gs-address", p.address)); }
    return box;
  }

  function lineLatLngs(geometry) {
    if (!geometry || !geometry.coordinates) { return []; }
    var lines = geometry.type === "MultiLineString" ? geometry.coordinates : [geometry.coordinates];
    return lines.map(function (line) {
      return line.map(function (c) { return toMap(c[0], c[1]); });
    });
  }

  // The pins of the results, in rank order (so also in the tab order).
  function drawResults() {
    overlay.clearLayers();
    pins = state.features.map(function (f, i) {
      var c = f.geometry.coordinates;
      var marker = L.marker(toMap(c[0], c[1]), {icon: pin(f.label || (i + 1)),
                                                title: venueName(f),
                                                gsLabel: pinLabel(f, i)});
      marker.on("click", function () { select(f); }); // first: the view settles, then the popup
      marker.bindPopup(pinPopup(f), {maxWidth: Math.max(200, Math.min(300, innerWidth - 80)),
                                     autoPanPadding: [16, 16]});
      return marker.addTo(overlay);
    });
    showSelected();
  }

  // The chosen pin stands out and its route (or both stops' routes) is drawn; the view fits.
  // Pins are changed in place, never drawn anew: the keyboard focus and an open popup stay.
  function showSelected() {
    routeLayer.clearLayers();
    var pts = [];
    if (state.start) { pts.push(toMap(state.start[0], state.start[1])); }
    state.features.forEach(function (f, i) {
      var chosen = isSelected(f), marker = pins[i];
      var icon = marker && marker.getElement();
      if (icon) { icon.classList.toggle("gs-pin-selected", chosen); }
      if (marker) { marker.setZIndexOffset(chosen ? 1000 : 0); pts.push(marker.getLatLng()); }
      if (chosen || f.properties.stop) {
        lineLatLngs(f.route).forEach(function (line) {
          L.polyline(line, {color: "#0b57d0", weight: 5, opacity: 0.85, className: "gs-route",
                            interactive: false}).addTo(routeLayer);
          line.forEach(function (p) { pts.push(p); });
        });
      }
    });
    if (pts.length > 1) {
      // the top-left corner holds the zoom buttons: keep pins clear of them
      map.fitBounds(L.latLngBounds(pts), {paddingTopLeft: [56, 40], paddingBottomRight: [32, 32],
                                          maxZoom: 17, animate: false});
    } else if (pts.length === 1) {
      map.setView(pts[0], Math.max(map.getZoom(), 15), {animate: false});
    }
  }

  map.on("click", function (e) {
    setStart(fromMap(e.latlng), "tapped");
    run();
  });

  // ------------------------------------------------------------------ API

  function api(path, query) {
    var qs = new URLSearchParams();
    Object.keys(query || {}).forEach(function (k) {
      if (query[k] !== null && query[k] !== undefined && query[k] !== "") { qs.set(k, query[k]); }
    });
    var url = path + (qs.toString() ? "?" + qs.toString() : "");
    return fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (resp) {
        return resp.json().then(function (body) {
          if (!resp.ok) { var err = new Error("problem"); err.problem = body; throw err; }
          return body;
        }, function () {
          var err = new Error("http"); err.problem = {status: resp.status}; throw err;
        });
      });
  }

  // ------------------------------------------------------------------ words

  function dayWord(dateText, refText) {
    var d = new Date(dateText.slice(0, 10) + "T00:00:00Z");
    var r = new Date((refText || dateText).slice(0, 10) + "T00:00:00Z");
    var days = Math.round((d - r) / 86400000);
    if (days === 0) { return S.today; }
    if (days === 1) { return S.tomorrow; }
    return S.weekdays.split(",")[d.getUTCDay()];
  }

  function openWords(p, ref) {
    if (p.open === true) {
      if (!p.closes_at) { return {text: S.open_no_close, open: true}; }
      var t = p.closes_at.slice(11, 16);
      if (p.closes_at.slice(0, 10) !== (ref || p.closes_at).slice(0, 10)) {
        t = dayWord(p.closes_at, ref) + " " + t;
      }
      return {text: fmt("open_until", {t: t}), open: true};
    }
    if (p.open === false) {
      if (p.next_open) {
        return {text: fmt("closed_opens", {d: dayWord(p.next_open, ref),
                                           t: p.next_open.slice(11, 16)}), open: false};
      }
      return {text: S.closed, open: false};
    }
    return {text: S.hours_unknown, open: null};
  }

  function distanceWords(m) {
    if (m === null || m === undefined) { return ""; }
    if (m < 1000) { return fmt("metres", {n: Math.round(m)}); }
    return fmt("km", {n: (m / 1000).toFixed(1)});
  }

  function channelNames(codes) {
    return (codes || []).map(function (c) { return D.channels[c] || c; })
      .join(D.lang === "en" ? ", " : "、");
  }

  // ------------------------------------------------------------------ results

  function isSelected(f) { return state.selected !== null && f === state.selected; }

  function setStatus(text) {
    var status = $("gs-status");
    status.textContent = text;
    status.classList.remove("gs-visually-hidden"); // showEmpty hides it: the box says it
  }

  function resetResults() {
    clear($("gs-list"));
    var empty = $("gs-empty");
    clear(empty); empty.hidden = true;
    var two = $("gs-two-stop");
    clear(two); two.hidden = true;
    $("gs-nav").hidden = true;
  }

  function heading() {
    if (state.landing) { return state.landingAll ? S.landing_closed_heading : S.landing_heading; }
    if (state.bundle) { return fmt("results_for_bundle", {name: localName(state.bundle)}); }
    if (state.item) { return fmt("results_for", {name: localName(state.item)}); }
    return S.halls_near;
  }

  function showEmpty(title, advice, detail) {
    var box = $("gs-empty");
    clear(box);
    box.appendChild(el("p", "gs-empty-why", title));
    if (advice) { box.appendChild(el("p", "gs-empty-try", advice)); }
    if (detail) { box.appendChild(el("p", "gs-empty-detail", S.details + detail)); }
    box.hidden = false;
    $("gs-status").classList.add("gs-visually-hidden");
  }

  function showProblem(err) {
    var p = err && err.problem;
    if (!p) {
      setStatus(S.error_network);
      showEmpty(S.error_network, "");
      return;
    }
    var slug = String(p.type || "").split("/").pop();
    var title = S["error_" + slug] || S.error_other;
    var advice = S["try_" + slug] || S.try_error;
    setStatus(title);
    showEmpty(title, advice, D.lang === "en" ? p.detail : "");
  }

  function factsText(p) {
    var facts = [];
    if (p.travel_time_min !== null && p.travel_time_min !== undefined) {
      facts.push(fmt("minutes", {n: Math.max(1, Math.round(p.travel_time_min))}));
      facts.push(distanceWords(p.distance_m));
    } else {
      facts.push(fmt("straight_distance", {d: distanceWords(p.distance_m)}));
    }
    return facts.filter(Boolean).join(" · ");
  }

  function openClass(words) {
    return words.open === true ? "gs-is-open" : words.open === false ? "gs-is-closed"
      : "gs-is-unknown";
  }

  function resultItem(f, i, ref) {
    var p = f.properties;
    var li = el("li", "gs-result");
    li.dataset.id = f.id;
    var h = el("h3", "gs-result-name");
    var rank = el("span", "gs-rank", f.label || (i + 1));
    rank.setAttribute("aria-hidden", "true");
    h.appendChild(rank);
    var a = el("a", "gs-venue-link", venueName(f));
    a.href = "/venues/" + encodeURIComponent(f.id);
    h.appendChild(a);
    li.appendChild(h);
    addSignName(li, f);
    if (p.stop) {
      li.appendChild(el("p", "gs-stop", fmt("stop_n", {n: p.stop})));
      var names = (p.bundle_items || []).map(function (c) {
        return state.bundleNames[c] || c;
      }).join(D.lang === "en" ? ", " : "、");
      li.appendChild(el("p", "gs-stop-items", fmt("stop_items", {items: names})));
    }
    li.appendChild(el("p", "gs-facts", factsText(p)));
    var words = openWords(p, p.arrives_at || ref);
    li.appendChild(el("p", "gs-open " + openClass(words), words.text));
    var chan = el("p", "gs-channel-text");
    if (Array.isArray(p.item_channels)) {
      chan.textContent = fmt("handled_by", {c: channelNames(p.item_channels)});
    } else {
      chan.textContent = fmt("channels_here", {c: channelNames(p.channels)});
    }
    li.appendChild(chan);
    li.appendChild(el("p", "gs-address", p.address || S.no_address));
    var btn = el("button", "gs-button gs-route-button", S.show_route);
    btn.type = "button";
    btn.setAttribute("aria-pressed", isSelected(f) ? "true" : "false");
    btn.addEventListener("click", function () { select(f); });
    li.appendChild(btn);
    if (isSelected(f)) { li.classList.add("gs-selected"); }
    return li;
  }

  function renderList(ref) {
    var list = $("gs-list");
    clear(list);
    state.features.forEach(function (f, i) { list.appendChild(resultItem(f, i, ref)); });
  }

  function select(f) {
    state.selected = f;
    // mark the choice in place: a re-drawn list would lose the keyboard focus
    var cards = $("gs-list").children;
    state.features.forEach(function (g, i) {
      var card = cards[i];
      if (!card) { return; }
      card.classList.toggle("gs-selected", g === f);
      var btn = card.querySelector(".gs-route-button");
      if (btn) { btn.setAttribute("aria-pressed", g === f ? "true" : "false"); }
    });
    showSelected();
    showNav(f);
  }

  function showNav(f) {
    var box = $("gs-nav");
    if (!f) { box.hidden = true; return; }
    var c = f.geometry.coordinates, name = f.properties.name || f.id;  // the sign's, for the map apps
    $("gs-nav-h").textContent = fmt("nav_heading", {name: venueName(f)});
    var links = navLinks(c[0], c[1], name, mode(), state.start);
    var holder = $("gs-nav-links");
    clear(holder);
    [["amap", S.nav_amap], ["baidu", S.nav_baidu], ["osm", S.nav_osm]].forEach(function (pair) {
      var a = el("a", "gs-nav-link gs-nav-" + pair[0], pair[1]);
      a.href = links[pair[0]];
      a.rel = "noopener noreferrer";
      holder.appendChild(a);
    });
    box.hidden = false;
  }

  function nearestQuery() {
    var q = {lon: state.start[0].toFixed(6), lat: state.start[1].toFixed(6),
             mode: mode(), route: "true", k: K};
    if (state.landing) {
      q.kind = "hall"; q.k = 1;
      if (!state.landingAll) { q.open_now = "true"; }
      return q;
    }
    if (openNow()) { q.open_now = "true"; }
    if (channel()) { q.channel = channel(); }
    if (state.bundle) { q.bundle = state.bundle.code; } else if (state.item) {
      q.item = state.item.code;
    } else { q.kind = "hall"; }
    return q;
  }

  function run() {
    if (!state.start) { return; }
    var seq = ++state.seq;
    resetResults();
    $("gs-results-h").textContent = heading();
    setStatus(S.loading);
    $("gs-list").setAttribute("aria-busy", "true");
    saveHash();
    api("/api/v1/nearest", nearestQuery()).then(function (fc) {
      if (seq !== state.seq) { return; }
      $("gs-list").removeAttribute("aria-busy");
      state.ref = fc.query && fc.query.at;
      var features = fc.features || [];
      if (state.landing && !state.landingAll && !features.length && fc.empty_reason === "closed") {
        state.landingAll = true; // every hall is closed now: the nearest one, and when it opens
        run();
        return;
      }
      features.forEach(function (f, i) { f.label = i + 1; });
      var two = fc.two_stop;
      if (!features.length && two && two.stops && two.stops.length) {
        features = two.stops;
        features.forEach(function (f) { f.label = f.properties.stop; });
        var note = $("gs-two-stop");
        note.textContent = fmt("two_stop", {n: Math.round(two.total_time_min),
                                            s: Math.round(two.stop_minutes || 0)});
        note.hidden = false;
      } else if (features.length && state.bundle) {
        var one = $("gs-two-stop");
        one.textContent = S.one_stop;
        one.hidden = false;
      }
      state.features = features;
      state.selected = features.length ? features[0] : null;
      if (!features.length) {
        var reason = fc.empty_reason || "other";
        setStatus(S["empty_" + reason] || S.empty_other);
        showEmpty(S["empty_" + reason] || S.empty_other, S["try_" + reason] || S.try_other);
      } else {
        setStatus(features.length === 1 ? S.count_one : fmt("count", {n: features.length}));
      }
      renderList(state.ref);
      drawResults();
      showNav(state.selected);
    }, function (err) {
      if (seq !== state.seq) { return; }
      $("gs-list").removeAttribute("aria-busy");
      state.features = []; state.selected = null;
      drawResults();
      showProblem(err);
    });
  }

  // ------------------------------------------------------------------ start point

  function setStart(lonlat, kind) {
    state.start = [lonlat[0], lonlat[1]];
    state.startKind = kind;
    if (kind !== "centre") { state.landing = false; }
    var words = {centre: S.start_map_centre, tapped: S.start_tapped, located: S.start_my_location,
                 picked: S.start_picked};
    $("gs-start-text").textContent = S.start_prefix + (words[kind] || kind) + " (" +
      lonlat[1].toFixed(5) + ", " + lonlat[0].toFixed(5) + ")";
    drawStart();
  }

  $("gs-locate").addEventListener("click", function () {
    if (!navigator.geolocation) { setStatus(S.location_failed); return; }
    setStatus(S.locating);
    navigator.geolocation.getCurrentPosition(function (pos) {
      setStart([pos.coords.longitude, pos.coords.latitude], "located");
      run();
    }, function () {
      setStatus(S.location_failed);
    }, {enableHighAccuracy: false, timeout: 15000, maximumAge: 60000});
  });

  // ------------------------------------------------------------------ guide

  function showItemGuide(code) {
    var box = $("gs-guide"), body = $("gs-guide-body");
    api("/api/v1/items/" + encodeURIComponent(code)).then(function (item) {
      if (!state.item || state.item.code !== code) { return; }
      state.item.name = item.name; state.item.name_en = item.name_en;
      if (!input.value) { input.value = localName(item); } // restored from the hash
      $("gs-results-h").textContent = heading();
      $("gs-guide-h").textContent = fmt("guide_heading", {name: localName(item)});
      clear(body);
      var g = item.guide || {};
      var dl = el("dl", "gs-guide-list");
      function row(label, value) {
        if (value === null || value === undefined || value === "" ||
            (Array.isArray(value) && !value.length)) { return; }
        dl.appendChild(el("dt", "", label));
        var dd = el("dd");
        if (Array.isArray(value)) {
          var ul = el("ul");
          value.forEach(function (v) { ul.appendChild(el("li", "", v)); });
          dd.appendChild(ul);
        } else { dd.textContent = String(value); }
        dl.appendChild(dd);
      }
      row(S.guide_department, item.department);
      row(S.guide_materials, g.materials);
      row(S.guide_conditions, g.conditions);
      row(S.guide_fee, g.fee);
      var days = [];
      if (g.legal_days !== null && g.legal_days !== undefined) {
        days.push(fmt("guide_legal", {n: g.legal_days}));
      }
      if (g.promised_days !== null && g.promised_days !== undefined) {
        days.push(fmt("guide_promised", {n: g.promised_days}));
      }
      row(S.guide_days, days.join(D.lang === "en" ? "; " : "；"));
      var flags = [];
      if (g.can_do_online) { flags.push(S.guide_online); }
      if (g.by_post) { flags.push(S.guide_post); }
      if (g.at_kiosk) { flags.push(S.guide_kiosk); }
      if (flags.length) { row(S.guide_ways, flags); }
      if (g.apply_url) {
        dl.appendChild(el("dt", "", S.guide_apply));
        var dd = el("dd");
        dd.appendChild(el("span", "gs-url", g.apply_url)); // text, never a link
        dl.appendChild(dd);
      }
      body.appendChild(dl);
      var hasGuide = (g.materials && g.materials.length) || g.conditions || g.fee ||
        g.legal_days || g.promised_days || g.apply_url || flags.length;
      if (!hasGuide) { body.appendChild(el("p", "gs-guide-none", S.guide_none)); }
      box.hidden = false;
    }, function (err) { showProblem(err); });
  }

  function showBundle(code) {
    var box = $("gs-guide"), body = $("gs-guide-body");
    api("/api/v1/bundles/" + encodeURIComponent(code)).then(function (bundle) {
      if (!state.bundle || state.bundle.code !== code) { return; }
      state.bundle.name = bundle.name; state.bundle.name_en = bundle.name_en;
      if (!input.value) { input.value = localName(bundle); }
      $("gs-guide-h").textContent = localName(bundle);
      clear(body);
      if (bundle.description) { body.appendChild(el("p", "", bundle.description)); }
      var ol = el("ol", "gs-bundle-items");
      (bundle.items || []).forEach(function (it) {
        state.bundleNames[it.code] = localName(it);
        ol.appendChild(el("li", "", localName(it)));
      });
      body.appendChild(ol);
      box.hidden = false;
      renderList(state.ref);
    }, function (err) { showProblem(err); });
  }

  // ------------------------------------------------------------------ search box

  var input = $("gs-q"), listbox = $("gs-suggest");
  var options = [], active = -1, suggestSeq = 0, timer = null;

  function closeSuggest() {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function setActive(i) {
    var nodes = listbox.querySelectorAll("[role=option]");
    nodes.forEach(function (n, j) { n.setAttribute("aria-selected", j === i ? "true" : "false"); });
    active = i;
    if (i >= 0 && nodes[i]) {
      input.setAttribute("aria-activedescendant", nodes[i].id);
      nodes[i].scrollIntoView({block: "nearest"});
    } else { input.removeAttribute("aria-activedescendant"); }
  }

  function normalise(found) {
    var out = [];
    (found.items || []).forEach(function (it) { out.push({kind: "item", data: it}); });
    (found.bundles || []).forEach(function (bd) { out.push({kind: "bundle", data: bd}); });
    (found.venues || []).forEach(function (v) { out.push({kind: "venue", data: v}); });
    (found.places || []).forEach(function (p) { out.push({kind: "place", data: p}); });
    return out;
  }

  function lookup(q) {
    var near = state.start ? {lon: state.start[0].toFixed(6), lat: state.start[1].toFixed(6)} : {};
    return api("/api/v1/search", Object.assign({q: q, limit: 5}, near)).then(normalise);
  }

  function optionNode(o, i) {
    var li = el("li", "gs-option gs-option-" + o.kind);
    li.id = "gs-opt-" + i;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    li.dataset.kind = o.kind;
    li.dataset.code = o.data.code || o.data.id || "";
    li.appendChild(el("span", "gs-tag", S["kind_" + o.kind]));
    li.appendChild(el("span", "gs-option-name", localName(o.data)));
    var more = o.kind === "venue" ? (o.data.address || D.kinds[o.data.kind] || "")
      : o.kind === "item" ? (o.data.department || "")
      : o.kind === "place" ? (S["place_" + o.data.kind] || "") : "";
    if (more) { li.appendChild(el("span", "gs-option-more", more)); }
    li.addEventListener("mousedown", function (e) { e.preventDefault(); });
    li.addEventListener("click", function () { pick(i); });
    return li;
  }

  function showSuggest(found) {
    options = found;
    clear(listbox);
    if (!found.length) {
      var none = el("li", "gs-option-none", S.no_suggestions);
      none.setAttribute("role", "option");
      none.setAttribute("aria-disabled", "true");
      none.setAttribute("aria-selected", "false");
      none.id = "gs-opt-none";
      listbox.appendChild(none);
    }
    found.forEach(function (o, i) { listbox.appendChild(optionNode(o, i)); });
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
  }

  function suggest() {
    var q = input.value.trim();
    if (!q) { closeSuggest(); return; }
    var seq = ++suggestSeq;
    lookup(q).then(function (found) {
      if (seq === suggestSeq && input.value.trim() === q) { showSuggest(found); }
    }, function () { if (seq === suggestSeq) { showSuggest([]); } });
  }

  function pick(i) {
    var o = options[i];
    if (!o) { return; }
    closeSuggest();
    input.value = localName(o.data);
    var guide = $("gs-guide");
    if (o.kind === "item") {
      state.item = {code: o.data.code, name: o.data.name, name_en: o.data.name_en};
      state.bundle = null; state.landing = false;
      guide.hidden = true;
      showItemGuide(o.data.code);
    } else if (o.kind === "bundle") {
      state.bundle = {code: o.data.code, name: o.data.name, name_en: o.data.name_en};
      state.item = null; state.landing = false;
      guide.hidden = true;
      showBundle(o.data.code);
    } else {
      setStart([Number(o.data.lon), Number(o.data.lat)], "picked");
      var startText = $("gs-start-text");
      startText.textContent = S.start_prefix + localName(o.data);
      if (o.kind === "venue") { // the venue itself: its page is one step away
        var a = el("a", "gs-start-venue", S.venue_page);
        a.href = "/venues/" + encodeURIComponent(o.data.id);
        startText.appendChild(document.createTextNode(" · "));
        startText.appendChild(a);
      }
      state.landing = false;
    }
    run();
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });

  input.addEventListener("keydown", function (e) {
    var n = options.length;
    if (e.key === "ArrowDown") {
      e.preventDefault();
      if (listbox.hidden) { suggest(); return; }
      if (n) { setActive((active + 1) % n); }
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      if (n && !listbox.hidden) { setActive(active <= 0 ? n - 1 : active - 1); }
    } else if (e.key === "Enter") {
      if (!listbox.hidden && active >= 0) { e.preventDefault(); pick(active); }
    } else if (e.key === "Escape") {
      if (!listbox.hidden) { e.preventDefault(); closeSuggest(); } else { input.value = ""; }
    }
  });

  input.addEventListener("blur", function () { setTimeout(closeSuggest, 150); });

  $("gs-search").addEventListener("submit", function (e) {
    e.preventDefault();
    var q = input.value.trim();
    if (!q) { return; }
    if (!listbox.hidden && options.length) { pick(active >= 0 ? active : 0); return; }
    lookup(q).then(function (found) {
      options = found;
      if (found.length) { pick(0); } else { showSuggest([]); }
    });
  });

  // ------------------------------------------------------------------ choices

  document.querySelectorAll("input[name=mode]").forEach(function (r) {
    r.addEventListener("change", run);
  });
  $("gs-open-now").addEventListener("change", function () { state.landing = false; run(); });
  if ($("gs-channel")) { $("gs-channel").addEventListener("change", function () {
    state.landing = false; run();
  }); }

  // ------------------------------------------------------------------ the URL's hash

  function saveHash() {
    var h = new URLSearchParams();
    if (state.item) { h.set("item", state.item.code); }
    if (state.bundle) { h.set("bundle", state.bundle.code); }
    if (state.start && state.startKind !== "centre") {
      h.set("start", state.start[0].toFixed(6) + "," + state.start[1].toFixed(6));
    }
    var text = h.toString();
    if (history.replaceState) { history.replaceState(null, "", text ? "#" + text : location.pathname + location.search); }
    ["gs-lang", "gs-elder"].forEach(function (id) {
      var a = $(id);
      if (a) { a.href = a.href.split("#")[0] + (text ? "#" + text : ""); }
    });
  }

  function restore() {
    var h = new URLSearchParams(location.hash.slice(1));
    var start = (h.get("start") || "").split(",").map(Number);
    if (start.length === 2 && isFinite(start[0]) && isFinite(start[1]) && h.get("start")) {
      setStart(start, "tapped");
    } else {
      setStart(D.centre, "centre");
    }
    if (h.get("item")) {
      state.item = {code: h.get("item"), name: h.get("item")};
      state.landing = false;
      showItemGuide(state.item.code);
    } else if (h.get("bundle")) {
      state.bundle = {code: h.get("bundle"), name: h.get("bundle")};
      state.landing = false;
      showBundle(state.bundle.code);
    }
  }

  restore();
  run();

  window.geosvcApp = {map: map, state: state, navLinks: navLinks, wgsToGcj: wgsToGcj,
                      wgsToBd: wgsToBd, gcjToWgs: gcjToWgs};
}());
