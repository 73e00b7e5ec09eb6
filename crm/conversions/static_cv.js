/* LINE CRM conversion script (/cv.js), loaded by the shop's own pages.
   On any page: a `crm_click` query parameter (put there by a conversion-tracking link) is kept in this site's
   own localStorage (first-party: no cookie, nothing on the CRM's domain) for 30 days.
   On the thank-you page: <script src="https://crm.example/cv.js" data-point="1" data-value="3980"
   data-order="A-1001"></script>, or call window.crmConversion({point: 1, value: 3980, order: "A-1001"}),
   reports the conversion to the CRM (CORS, no credentials). Without a stored click id nothing is sent. */
(function () {
  "use strict";
  var KEY = "crm_click", PARAM = "crm_click", DAYS = 30;
  var script = document.currentScript;
  var endpoint = new URL("/cv/collect", script ? script.src : location.href).href;

  function remember() {
    var url = new URL(location.href), value = url.searchParams.get(PARAM);
    if (!value) return;
    try {
      localStorage.setItem(KEY, JSON.stringify({ id: value, at: Date.now() }));
    } catch (e) { /* storage refused (private mode): the click is not kept */ }
    url.searchParams.delete(PARAM);
    if (history.replaceState) history.replaceState(history.state, "", url.href);
  }

  function storedClick() {
    try {
      var found = JSON.parse(localStorage.getItem(KEY) || "null");
      if (found && found.id && Date.now() - found.at < DAYS * 86400000) return found.id;
    } catch (e) { /* unreadable: none */ }
    return null;
  }

  function report(details) {
    var click = storedClick();
    if (!click || !details || !details.point) return Promise.resolve(null);
    var body = { point_id: Number(details.point), click_id: click };
    if (details.value !== undefined && details.value !== "") body.value = Number(details.value);
    if (details.order) body.order_id = String(details.order);
    return fetch(endpoint, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      keepalive: true,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) { return response.json(); });
  }

  remember();
  window.crmConversion = report;
  if (script && script.dataset.point) {
    window.crmConversionResult = report({
      point: script.dataset.point, value: script.dataset.value, order: script.dataset.order
    });
  }
})();
