// mod_rai_embed demo: a tiny single-page app.  Each route renders a widget
// element without a token, some time after load; the refresh script of
// mod_rai_embed gives it one.  This script only shows what the widget got.
(function () {
  "use strict";
  var routes = {
    "#/store": "rai-store-widget",
    "#/channel": "rai-channel-widget",
    "#/milestones": "rai-milestone-widget"
  };
  var out = document.getElementById("rai-claims");

  function claims(token) {
    var p = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    while (p.length % 4) {
      p += "=";
    }
    return JSON.parse(atob(p));
  }

  function show(widget) {
    var token = widget.getAttribute("embed-token");
    out.textContent = token
      ? widget.localName + " got a token for " + JSON.stringify(claims(token), null, 2)
      : widget.localName + ": waiting for a token...";
  }

  function render() {
    var name = routes[location.hash] || "rai-store-widget";
    var route = document.getElementById("route");
    var widget = document.createElement(name);
    widget.setAttribute("community-id", "demo-community");
    widget.className = "demo-widget";
    widget.textContent = name + " (rendered by the app at " +
      new Date().toLocaleTimeString() + ")";
    route.textContent = "";
    route.appendChild(widget);
    show(widget);
    new MutationObserver(function () { show(widget); })
      .observe(widget, {attributes: true, attributeFilter: ["embed-token"]});
  }

  window.addEventListener("hashchange", render);
  setTimeout(render, 500);
}());
