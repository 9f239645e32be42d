/*! geosvc venue-finder widget. No dependencies. MIT licence.
 *
 * Include on any page:
 *   <div id="finder"></div>
 *   <script src="http://HOST/static/geosvc-widget.js" data-target="#finder"
 *           data-item="ITEM_CODE" data-lon="24.94" data-lat="60.17"></script>
 * or call  GeosvcWidget.mount(element, {base: "http://HOST", lon, lat, item, k, mode}).
 *
 * The widget searches items (/api/v1/items?q=), lists the nearest venues that
 * handle the chosen item (/api/v1/nearest) and shows them on a map (an iframe
 * of /embed).  Text from the server is only ever set with textContent.
 */
(function (global) {
  "use strict";

  var STYLE = [
    ".gsw{font:14px/1.4 sans-serif;border:1px solid #ccc;border-radius:6px;padding:8px;max-width:640px}",
    ".gsw input{width:100%;box-sizing:border-box;padding:6px;font-size:14px}",
    ".gsw-sugg{list-style:none;margin:2px 0;padding:0}",
    ".gsw-sugg button{all:unset;cursor:pointer;display:block;padding:8px 4px;min-height:28px;width:100%;box-sizing:border-box}",
    ".gsw-sugg button:hover,.gsw-sugg button:focus{background:#eef}",
    ".gsw-en{color:#666;font-size:90%;margin-left:4px}",
    ".gsw-item{margin:6px 0;font-weight:bold}",
    ".gsw-results{margin:4px 0 8px 20px;padding:0}",
    ".gsw-results li{margin:2px 0}",
    ".gsw-open{color:#1a7837}.gsw-closed{color:#b2182b}",
    ".gsw-status{color:#666;font-size:90%}",
    ".gsw iframe{width:100%;height:320px;border:0;border-radius:4px}"
  ].join("\n");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function scriptBase() {
    var s = document.currentScript;
    if (s && s.src) { return s.src.replace(/\/static\/geosvc-widget\.js.*$/, ""); }
    return "";
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== undefined && v !== null && v !== "") {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(String(v)));
      }
    });
    return parts.join("&");
  }

  function getJSON(url) {
    return fetch(url, {headers: {"Accept": "application/json"}}).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body && body.detail ? body.detail : ("HTTP " + r.status)); }
        return body;
      });
    });
  }

  function mount(target, options) {
    var root = typeof target === "string" ? document.querySelector(target) : target;
    if (!root) { throw new Error("geosvc widget: no element " + target); }
    var opt = options || {};
    var base = (opt.base || "").replace(/\/$/, "");
    var state = {item: opt.item || null, lon: opt.lon, lat: opt.lat,
                 k: opt.k || 5, mode: opt.mode || "straight", tiles: opt.tiles || "osm"};

    if (!document.getElementById("gsw-style")) {
      var style = el("style");
      style.id = "gsw-style";
      style.textContent = STYLE;
      document.head.appendChild(style);
    }
    root.textContent = "";
    var box = el("div", "gsw");
    var input = el("input");
    input.type = "search";
    input.placeholder = "搜索办事事项 Search a service item (社保 / shebao / sb)";
    input.setAttribute("aria-label", "Search a service item");
    var sugg = el("ul", "gsw-sugg");
    var chosen = el("div", "gsw-item");
    var status = el("div", "gsw-status");
    var results = el("ol", "gsw-results");
    var frame = el("iframe");
    frame.title = "geosvc map";
    frame.loading = "lazy";
    [input, sugg, chosen, status, results, frame].forEach(function (n) { box.appendChild(n); });
    root.appendChild(box);

    function showItem(item) {
      chosen.textContent = "";
      if (!item) { return; }
      chosen.appendChild(el("span", null, item.name || item.code));
      if (item.name_en) { chosen.appendChild(el("span", "gsw-en", item.name_en)); }
    }

    function mapUrl() {
      var p = {item: state.item, k: state.k, mode: state.mode, tiles: state.tiles};
      if (state.lon !== undefined && state.lat !== undefined && state.lon !== null) {
        p.lon = state.lon; p.lat = state.lat;
      }
      // The widget lists the results itself: the map page need not (results=off).
      return base + "/embed?" + query(p) + "#results=off";
    }

    function venueLine(f) {
      var p = f.properties || {};
      var li = el("li");
      li.appendChild(el("span", "gsw-name", p.name || f.id));
      var bits = [];
      if (p.travel_time_min !== undefined && p.travel_time_min !== null) {
        bits.push(Math.max(1, Math.round(p.travel_time_min)) + " 分钟 min");
      }
      if (p.distance_m !== undefined && p.distance_m !== null) {
        bits.push(Math.round(p.distance_m) + " m");
      }
      if (bits.length) { li.appendChild(el("span", "gsw-en", bits.join(" · "))); }
      if (p.open === true) {
        var until = typeof p.closes_at === "string" ? p.closes_at.slice(11, 16) : "";
        li.appendChild(el("span", "gsw-en gsw-open",
                          until ? "营业中，至 " + until + " open until " + until : "营业中 open"));
      }
      if (p.open === false) { li.appendChild(el("span", "gsw-en gsw-closed", "已关闭 closed")); }
      return li;
    }

    function refresh() {
      results.textContent = "";
      status.textContent = "…";
      var p = {item: state.item, k: state.k, mode: state.mode};
      var url;
      if (state.lon !== undefined && state.lat !== undefined && state.lon !== null) {
        p.lon = state.lon; p.lat = state.lat;
        url = base + "/api/v1/nearest?" + query(p);
      } else {
        url = base + "/api/v1/venues?" + query({item: state.item, limit: state.k});
      }
      frame.src = mapUrl();
      return getJSON(url).then(function (fc) {
        var feats = fc.features || [];
        status.textContent = feats.length ? "" : "附近没有可办理的场所 No venue found";
        feats.forEach(function (f) { results.appendChild(venueLine(f)); });
        root.dispatchEvent(new CustomEvent("geosvc:results", {detail: {count: feats.length}}));
      }).catch(function (err) { status.textContent = err.message; });
    }

    function choose(item) {
      state.item = item.code;
      sugg.textContent = "";
      input.value = "";
      showItem(item);
      return refresh();
    }

    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q) { sugg.textContent = ""; return; }
      timer = setTimeout(function () {
        getJSON(base + "/api/v1/items?" + query({q: q, limit: 8})).then(function (doc) {
          sugg.textContent = "";
          (doc.items || []).forEach(function (item) {
            var li = el("li");
            var b = el("button", null, item.name || item.code);
            b.type = "button";
            if (item.name_en) { b.appendChild(el("span", "gsw-en", item.name_en)); }
            b.addEventListener("click", function () { choose(item); });
            li.appendChild(b);
            sugg.appendChild(li);
          });
          if (!(doc.items || []).length) { sugg.appendChild(el("li", "gsw-status", "无结果 No match")); }
        }).catch(function (err) { status.textContent = err.message; });
      }, 200);
    });

    if (state.item) {
      getJSON(base + "/api/v1/items/" + encodeURIComponent(state.item))
        .then(showItem).catch(function () { showItem({code: state.item}); });
    }
    refresh();
    return {root: box, refresh: refresh, choose: choose, state: state};
  }

  global.GeosvcWidget = {mount: mount};

  var me = document.currentScript;
  if (me && me.getAttribute("data-target")) {
    var ds = me.dataset;
    var opts = {base: ds.base || scriptBase(), item: ds.item, k: ds.k ? Number(ds.k) : undefined,
                mode: ds.mode, tiles: ds.tiles,
                lon: ds.lon !== undefined ? Number(ds.lon) : undefined,
                lat: ds.lat !== undefined ? Number(ds.lat) : undefined};
    var start = function () { mount(ds.target, opts); };
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else { start(); }
  }
})(window);
