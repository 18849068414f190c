/* A single-page app's route: renders a widget (with no token) some time after
 * the page loaded, as a framework would. */
setTimeout(function () {
    "use strict";
    var w = document.createElement("rai-currency-widget");
    w.setAttribute("community-id", "c1");
    w.className = "demo-widget";
    document.getElementById("route").appendChild(w);
    window.__routeRendered = Date.now();
}, 300);
