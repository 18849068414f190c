// mod_rai_embed demo: shows the payload of the embed token the server put into the
// page's widgets.  Convenience only: the signature is not checked here.
(function () {
  "use strict";
  var out = document.getElementById("rai-claims");
  if (!out) {
    return;
  }

  function decodePart(part) {
    var b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bytes = atob(b64);
    // UTF-8 bytes to a JS string
    var escaped = "";
    for (var i = 0; i < bytes.length; i++) {
      escaped += "%" + ("0" + bytes.charCodeAt(i).toString(16)).slice(-2);
    }
    return JSON.parse(decodeURIComponent(escaped));
  }

  var widgets = document.querySelectorAll("[embed-token]");
  if (!widgets.length) {
    out.textContent = "No widget on this page carries an embed-token: the request was " +
      "anonymous, or the token API could not be reached (see the error log).";
    return;
  }
  var tokens = {};
  for (var i = 0; i < widgets.length; i++) {
    tokens[widgets[i].getAttribute("embed-token")] = true;
  }
  var distinct = Object.keys(tokens);
  var token = distinct[0];
  var lines = [];
  lines.push(widgets.length + " widget(s) carry " + distinct.length + " distinct token(s).");
  try {
    var claims = decodePart(token.split(".")[1]);
    lines.push("payload: " + JSON.stringify(claims, null, 2));
    if (typeof claims.exp === "number") {
      lines.push("expires: " + new Date(claims.exp * 1000).toString());
    }
  } catch (e) {
    lines.push("the token's payload is not JSON: " + e);
  }
  lines.push("token: " + token);
  out.textContent = lines.join("\n");
})();
