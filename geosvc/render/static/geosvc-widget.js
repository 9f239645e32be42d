/*! geosvc venue-finder widget. No dependencies. MIT licence.
 *
 * Include on any page:
 *   <div id="finder"></div>
 *   <script src="http://HOST/static/geosvc-widget.js" data-target="#finder"
 *           data-item="ITEM_CODE" data-lon="24.94" data-lat="60.17" data-lang="zh"></script>
 * or call  GeosvcWidget.mount(element, {base: "http://HOST", lon, lat, item, k, mode, lang}).
 *
 * The widget searches items (/api/v1/items?q=), lists the nearest venues that
 * handle the chosen item (/api/v1/nearest): each a link to the venue's page,
 * with its address, minutes and distance, whether it is open (in words) and
 * the channel(s) for the item; and shows them on a map (an iframe of /embed).
 * The start is set by typing a place or venue (/api/v1/search) or by the
 * browser's location.  One language at a time: zh or en (option `lang`,
 * default from the browser).  Text from the server is only ever set with
 * textContent.
 */
(function (global) {
  "use strict";

  var STYLE = [
    ".gsw{font:14px/1.45 sans-serif;color:#222;background:#fff;border:1px solid #bbb;border-radius:6px;padding:10px;max-width:640px;box-sizing:border-box}",
    ".gsw-top{display:flex;justify-content:space-between;align-items:center;gap:8px;margin-bottom:6px}",
    ".gsw-title{font-weight:bold;font-size:15px}",
    ".gsw-lang{font:inherit;padding:4px 10px;min-height:32px;border:1px solid #767676;border-radius:4px;background:#f4f4f4;color:#222;cursor:pointer}",
    ".gsw label{display:block;font-size:13px;color:#444;margin:6px 0 2px}",
    ".gsw input{width:100%;box-sizing:border-box;padding:7px;font-size:14px;border:1px solid #767676;border-radius:4px}",
    ".gsw-row{display:flex;gap:6px;align-items:stretch}",
    ".gsw-row input{flex:1 1 auto;min-width:0}",
    ".gsw-locate{font:inherit;white-space:nowrap;padding:4px 10px;min-height:34px;border:1px solid #1f5fa8;border-radius:4px;background:#1f5fa8;color:#fff;cursor:pointer}",
    ".gsw-sugg,.gsw-psugg{list-style:none;margin:2px 0;padding:0}",
    ".gsw-sugg button,.gsw-psugg button{all:unset;cursor:pointer;display:block;padding:8px 4px;min-height:28px;width:100%;box-sizing:border-box}",
    ".gsw-sugg button:hover,.gsw-sugg button:focus,.gsw-psugg button:hover,.gsw-psugg button:focus{background:#e8eefb;outline:2px solid #1f5fa8}",
    ".gsw-en{color:#555;font-size:90%;margin-left:6px}",
    ".gsw-start{color:#444;font-size:13px;margin:4px 0}",
    ".gsw-item{margin:8px 0 4px;font-weight:bold}",
    ".gsw-results{margin:4px 0 8px;padding-left:22px}",
    ".gsw-results li{margin:0 0 8px}",
    ".gsw-results a{color:#1f5fa8;font-weight:bold;text-decoration:underline}",
    ".gsw-addr,.gsw-meta{display:block;color:#444;font-size:13px}",
    ".gsw-open{color:#1a6b30}.gsw-closed{color:#a3141e}",
    ".gsw-chan{display:inline-block;margin-left:6px;padding:0 6px;border-radius:3px;background:#eef3e8;color:#2d4a14;font-size:12px}",
    ".gsw-status{color:#444;font-size:90%}",
    ".gsw iframe{width:100%;height:320px;border:0;border-radius:4px}",
    "@media (max-width:480px){.gsw{padding:8px}.gsw iframe{height:240px}}"
  ].join("\n");

  var CHANNELS = {window: ["窗口", "counter"], self_service: ["自助终端", "self-service"],
                  smart_teller: ["智能柜员机", "smart teller"]};
  var KINDS = {district: ["区域", "district"], street: ["街道", "street"], poi: ["地点", "place"],
               venue: ["场所", "venue"]};
  var DAYS = [["周日", "Sun"], ["周一", "Mon"], ["周二", "Tue"], ["周三", "Wed"],
              ["周四", "Thu"], ["周五", "Fri"], ["周六", "Sat"]];

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

  function pickLang(value) {
    var v = String(value || "").toLowerCase();
    if (v === "zh" || v === "en") { return v; }
    var nav = (global.navigator && (global.navigator.language || "")) || "";
    return nav.toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  }

  /** "HH:MM" and "YYYY-MM-DD" of an ISO time with offset (the dataset's local time). */
  function clock(iso) { return typeof iso === "string" ? iso.slice(11, 16) : ""; }
  function day(iso) { return typeof iso === "string" ? iso.slice(0, 10) : ""; }
  function weekday(iso) {
    var d = day(iso).split("-");
    if (d.length !== 3) { return -1; }
    return new Date(Date.UTC(+d[0], +d[1] - 1, +d[2])).getUTCDay();
  }

  function mount(target, options) {
    var root = typeof target === "string" ? document.querySelector(target) : target;
    if (!root) { throw new Error("geosvc widget: no element " + target); }
    var opt = options || {};
    var base = (opt.base || "").replace(/\/$/, "");
    var hasPoint = opt.lon !== undefined && opt.lat !== undefined && opt.lon !== null &&
      !isNaN(opt.lon) && !isNaN(opt.lat);
    var state = {item: opt.item || null, itemDoc: null, lon: hasPoint ? opt.lon : null,
                 lat: hasPoint ? opt.lat : null, start: null,
                 k: opt.k || 5, mode: opt.mode || "straight", tiles: opt.tiles || "osm",
                 lang: pickLang(opt.lang), last: null};
    var uid = "gsw" + Math.random().toString(36).slice(2, 8);

    function T(zh, en) { return state.lang === "zh" ? zh : en; }
    function pair(p) { return p ? T(p[0], p[1]) : ""; }

    if (!document.getElementById("gsw-style")) {
      var style = el("style");
      style.id = "gsw-style";
      style.textContent = STYLE;
      document.head.appendChild(style);
    }
    root.textContent = "";
    var box = el("section", "gsw");
    var top = el("div", "gsw-top");
    var title = el("h2", "gsw-title");
    title.id = uid + "-title";
    box.setAttribute("aria-labelledby", title.id);
    var langBtn = el("button", "gsw-lang");
    langBtn.type = "button";
    top.appendChild(title);
    top.appendChild(langBtn);

    var itemLabel = el("label");
    var input = el("input", "gsw-q");
    input.type = "search";
    input.id = uid + "-item";
    itemLabel.htmlFor = input.id;
    var sugg = el("ul", "gsw-sugg");

    var locLabel = el("label");
    var row = el("div", "gsw-row");
    var loc = el("input", "gsw-loc");
    loc.type = "search";
    loc.id = uid + "-loc";
    locLabel.htmlFor = loc.id;
    var locate = el("button", "gsw-locate");
    locate.type = "button";
    row.appendChild(loc);
    row.appendChild(locate);
    var places = el("ul", "gsw-psugg");
    var start = el("div", "gsw-start");
    start.setAttribute("aria-live", "polite");

    var chosen = el("div", "gsw-item");
    var status = el("div", "gsw-status");
    status.setAttribute("role", "status");
    var results = el("ol", "gsw-results");
    var frame = el("iframe");
    frame.loading = "lazy";
    [top, itemLabel, input, sugg, locLabel, row, places, start, chosen, status, results, frame]
      .forEach(function (n) { box.appendChild(n); });
    root.appendChild(box);

    function texts() {
      box.lang = state.lang === "zh" ? "zh-CN" : "en";
      title.textContent = T("就近办事", "Where to get it done");
      langBtn.textContent = T("English", "中文");
      langBtn.lang = state.lang === "zh" ? "en" : "zh-CN";
      langBtn.setAttribute("aria-label", T("Switch to English", "切换到中文"));
      itemLabel.textContent = T("办事事项", "Service item");
      input.placeholder = T("搜索事项：社保 / shebao / sb", "Search an item: social security, sb");
      locLabel.textContent = T("起点", "Start");
      loc.placeholder = T("地点、街道或场所", "Place, street or venue");
      locate.textContent = T("使用我的位置", "Use my location");
      frame.title = T("办事场所地图", "Map of the venues");
      showStart();
      showItem(state.itemDoc);
    }

    function showStart() {
      if (state.lon === null || state.lat === null) {
        start.textContent = T("未设置起点：按名称列出场所", "No start set: venues listed by name");
        return;
      }
      var where = state.start ? pair(state.start) : (Number(state.lon).toFixed(4) + ", " +
                                                    Number(state.lat).toFixed(4));
      start.textContent = T("起点：", "Start: ") + where;
    }

    function showItem(item) {
      chosen.textContent = "";
      if (!item) { return; }
      var name = state.lang === "en" && item.name_en ? item.name_en : (item.name || item.code);
      chosen.appendChild(el("span", null, name));
    }

    function mapUrl() {
      var p = {item: state.item, k: state.k, mode: state.mode, tiles: state.tiles,
               lang: state.lang};
      if (state.lon !== null && state.lat !== null) { p.lon = state.lon; p.lat = state.lat; }
      // The widget lists the results itself: the map page need not (results=off).
      return base + "/embed?" + query(p) + "#results=off";
    }

    function openWords(p, at) {
      if (p.open === true) {
        var until = clock(p.closes_at);
        return [until ? T("营业中，至 " + until, "open until " + until) : T("营业中", "open"),
                "gsw-open"];
      }
      if (p.open === false) {
        var when = "";
        if (typeof p.next_open === "string") {
          var wd = weekday(p.next_open);
          var dayName = day(p.next_open) === day(at) ? T("今天", "today")
            : (wd >= 0 ? pair(DAYS[wd]) : day(p.next_open));
          when = dayName + " " + clock(p.next_open);
        }
        return [when ? T("已关闭，" + when + " 开门", "closed, opens " + when)
                     : T("已关闭", "closed"), "gsw-closed"];
      }
      return [T("营业时间未知", "hours unknown"), "gsw-status"];
    }

    function venueLine(f, at) {
      var p = f.properties || {};
      var li = el("li");
      var a = el("a", "gsw-name");
      a.textContent = state.lang === "en" && p.name_en ? p.name_en : (p.name || f.id);
      a.href = base + "/venues/" + encodeURIComponent(f.id) + "?" + query({lang: state.lang});
      a.target = "_blank";
      a.rel = "noopener";
      li.appendChild(a);
      if (p.address) { li.appendChild(el("span", "gsw-addr", p.address)); }
      var meta = el("span", "gsw-meta");
      var bits = [];
      if (p.travel_time_min !== undefined && p.travel_time_min !== null) {
        bits.push(Math.max(1, Math.round(p.travel_time_min)) + T(" 分钟", " min"));
      }
      if (p.distance_m !== undefined && p.distance_m !== null) {
        bits.push(p.distance_m >= 1000 ? (p.distance_m / 1000).toFixed(1) + " km"
                                       : Math.round(p.distance_m) + " m");
      }
      if (bits.length) { meta.appendChild(el("span", null, bits.join(" · ") + " · ")); }
      var words = openWords(p, at);
      meta.appendChild(el("span", words[1], words[0]));
      (p.item_channels || []).forEach(function (c) {
        meta.appendChild(el("span", "gsw-chan", pair(CHANNELS[c]) || c));
      });
      li.appendChild(meta);
      return li;
    }

    function render() {
      results.textContent = "";
      var fc = state.last;
      if (!fc) { return; }
      var feats = fc.features || [];
      var at = fc.query && fc.query.at;
      status.textContent = feats.length ? "" : T("附近没有可办理的场所", "No venue found nearby");
      feats.forEach(function (f) { results.appendChild(venueLine(f, at)); });
    }

    function refresh() {
      results.textContent = "";
      status.textContent = T("正在查找…", "Searching…");
      var p = {item: state.item, k: state.k, mode: state.mode};
      var url;
      if (state.lon !== null && state.lat !== null) {
        p.lon = state.lon; p.lat = state.lat;
        url = base + "/api/v1/nearest?" + query(p);
      } else {
        url = base + "/api/v1/venues?" + query({item: state.item, limit: state.k});
      }
      frame.src = mapUrl();
      return getJSON(url).then(function (fc) {
        state.last = fc;
        render();
        root.dispatchEvent(new CustomEvent("geosvc:results",
                                           {detail: {count: (fc.features || []).length}}));
      }).catch(function (err) { status.textContent = err.message; });
    }

    function choose(item) {
      state.item = item.code;
      state.itemDoc = item;
      sugg.textContent = "";
      input.value = "";
      showItem(item);
      return refresh();
    }

    /** Set the start to a WGS-84 point; ``label`` is [zh, en] (one language shown). */
    function setStart(lon, lat, label) {
      state.lon = lon;
      state.lat = lat;
      state.start = label;
      places.textContent = "";
      loc.value = "";
      showStart();
      return refresh();
    }

    function suggestion(list, main, extra, onPick) {
      var li = el("li");
      var b = el("button", null, main);
      b.type = "button";
      if (extra) { b.appendChild(el("span", "gsw-en", extra)); }
      b.addEventListener("click", onPick);
      li.appendChild(b);
      list.appendChild(li);
    }

    function debounce(fn) {
      var timer = null;
      return function () { clearTimeout(timer); timer = setTimeout(fn, 200); };
    }

    input.addEventListener("input", debounce(function () {
      var q = input.value.trim();
      if (!q) { sugg.textContent = ""; return; }
      getJSON(base + "/api/v1/items?" + query({q: q, limit: 8})).then(function (doc) {
        sugg.textContent = "";
        (doc.items || []).forEach(function (item) {
          var name = state.lang === "en" && item.name_en ? item.name_en : (item.name || item.code);
          suggestion(sugg, name, null, function () { choose(item); });
        });
        if (!(doc.items || []).length) { sugg.appendChild(el("li", "gsw-status", T("无结果", "No match"))); }
      }).catch(function (err) { status.textContent = err.message; });
    }));

    loc.addEventListener("input", debounce(function () {
      var q = loc.value.trim();
      if (!q) { places.textContent = ""; return; }
      var p = {q: q, limit: 5};
      if (state.lon !== null && state.lat !== null) { p.lon = state.lon; p.lat = state.lat; }
      getJSON(base + "/api/v1/search?" + query(p)).then(function (doc) {
        places.textContent = "";
        (doc.places || []).forEach(function (pl) {
          suggestion(places, pl.name, pair(KINDS[pl.kind]),
                     function () { setStart(pl.lon, pl.lat, [pl.name, pl.name]); });
        });
        (doc.venues || []).forEach(function (v) {
          var names = [v.name, v.name_en || v.name];
          suggestion(places, pair(names), pair(KINDS.venue),
                     function () { setStart(v.lon, v.lat, names); });
        });
        if (!places.childNodes.length) {
          places.appendChild(el("li", "gsw-status", T("没有找到这个地点", "No such place")));
        }
      }).catch(function (err) { status.textContent = err.message; });
    }));

    locate.addEventListener("click", function () {
      var geo = global.navigator && global.navigator.geolocation;
      if (!geo) { status.textContent = T("浏览器不支持定位", "This browser cannot locate you"); return; }
      status.textContent = T("正在定位…", "Locating…");
      geo.getCurrentPosition(function (pos) {
        setStart(Math.round(pos.coords.longitude * 1e6) / 1e6,
                 Math.round(pos.coords.latitude * 1e6) / 1e6, ["我的位置", "my location"]);
      }, function (err) {
        status.textContent = T("无法获取位置：", "Cannot get your location: ") + err.message;
      }, {timeout: 10000, maximumAge: 60000});
    });

    function setLang(lang) {
      state.lang = pickLang(lang);
      texts();
      render();
      frame.src = mapUrl();
    }
    langBtn.addEventListener("click", function () { setLang(state.lang === "zh" ? "en" : "zh"); });

    texts();
    if (state.item) {
      getJSON(base + "/api/v1/items/" + encodeURIComponent(state.item))
        .then(function (item) { state.itemDoc = item; showItem(item); })
        .catch(function () { state.itemDoc = {code: state.item}; showItem(state.itemDoc); });
    }
    refresh();
    return {root: box, refresh: refresh, choose: choose, setStart: setStart, setLang: setLang,
            state: state};
  }

  global.GeosvcWidget = {mount: mount};

  var me = document.currentScript;
  if (me && me.getAttribute("data-target")) {
    var ds = me.dataset;
    var opts = {base: ds.base || scriptBase(), item: ds.item, k: ds.k ? Number(ds.k) : undefined,
                mode: ds.mode, tiles: ds.tiles, lang: ds.lang,
                lon: ds.lon !== undefined ? Number(ds.lon) : undefined,
                lat: ds.lat !== undefined ? Number(ds.lat) : undefined};
    var begin = function () { mount(ds.target, opts); };
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", begin);
    } else { begin(); }
  }
})(window);
