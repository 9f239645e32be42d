/* geosvc map pins for the keyboard and screen readers (every geosvc map page).
 *
 * window.geosvcPinKeys(map, {cluster: "{n} venues"}) makes the pins of a
 * Leaflet map work without a mouse:
 *
 * - a pin (an L.marker with `keyboard: true`, Leaflet's default: a
 *   role=button element in the tab order) is named by its `gsLabel` option
 *   (plain text: name, kind, open or closed), set as aria-label each time
 *   the pin is drawn (clusters take pins off the map and put them back);
 *   a cluster of pins is named from `cluster` ("{n}": how many);
 * - Enter or Space on a pin does what a click does (opens its popup; a
 *   cluster zooms in, and the focus goes to the map so Tab goes on to its pins);
 * - a popup opened from the keyboard takes the focus, so its text is read
 *   and its links come next in the tab order;
 * - Escape anywhere in the map closes the open popup, and the focus goes
 *   back to where it was when the popup opened (the pin, or the row of a
 *   results list) if it was inside the popup or lost with it.
 *
 * Plain script, no data: labels are set with setAttribute, never as markup.
 */
(function (global) {
  "use strict";

  function isPin(el) {
    return !!(el && el.classList && el.classList.contains("leaflet-marker-icon") &&
              el.getAttribute("role") === "button");
  }

  function pinKeys(map, texts) {
    var box = map.getContainer(), words = texts || {};
    var open = null, opener = null, byKeys = false;

    function name(layer) {
      var el = layer.getElement && layer.getElement();
      if (!el) { return; }
      if (layer.options && layer.options.gsLabel) {
        el.setAttribute("aria-label", layer.options.gsLabel);
      } else if (words.cluster && typeof layer.getChildCount === "function") {
        el.setAttribute("aria-label", words.cluster.split("{n}").join(layer.getChildCount()));
      }
    }

    map.eachLayer(name);
    map.on("layeradd", function (e) { name(e.layer); });

    box.addEventListener("keydown", function (e) {
      var key = e.key;
      if ((key === "Enter" || key === " " || key === "Spacebar") && isPin(e.target)) {
        // Leaflet opens a popup on Enter's keypress only, and ignores Space:
        // both become the click a mouse would give (no keypress follows).
        e.preventDefault();
        e.stopPropagation();
        var pin = e.target;
        if (pin.classList.contains("marker-cluster")) {
          // A cluster zooms in and is gone: the focus goes to the map, whose next
          // Tab is the first pin, rather than back to the top of the page.
          map.once("moveend", function () {
            setTimeout(function () { // the cluster fades out after the zoom
              var now = document.activeElement;
              if (!pin.isConnected && (!now || now === document.body)) {
                box.focus({preventScroll: true});
              }
            }, 400);
          });
        }
        byKeys = true;
        try { pin.click(); } finally { byKeys = false; }
      } else if ((key === "Escape" || key === "Esc") && open) {
        e.preventDefault();
        map.closePopup(open);
      }
    });

    map.on("popupopen", function (e) {
      open = e.popup;
      var now = document.activeElement, el = open.getElement();
      opener = now && now !== document.body && !(el && el.contains(now)) ? now : null;
      if (byKeys && el) {
        var content = el.querySelector(".leaflet-popup-content") || el;
        content.setAttribute("tabindex", "-1");
        content.focus({preventScroll: true});
      }
    });

    map.on("popupclose", function (e) {
      if (e.popup !== open) { return; }
      var back = opener, el = e.popup.getElement(), now = document.activeElement;
      open = null;
      opener = null;
      var lost = !now || now === document.body || (el && el.contains(now));
      if (lost && back && back.isConnected) { back.focus({preventScroll: true}); }
    });
  }

  global.geosvcPinKeys = pinKeys;
})(window);
