/* mod_rai_embed: keeps the embed tokens of Returning.AI widgets valid.
 *
 * Licensed under the Apache License, Version 2.0; see the LICENSE file at
 * the top of this tree.
 *
 * The module adds this script, as one external element
 *
 *   <script src="ENDPOINT?script=VERSION" defer data-endpoint="ENDPOINT">
 *
 * to pages whose widgets got a token (RaiEmbedRefreshScript).  ENDPOINT is a
 * refresh endpoint (SetHandler rai-embed-token): GET answers
 * {"embedToken": "...", "expiresIn": N} for the visitor.  The script asks it
 *
 *   - shortly before the token runs out (RENEW_BEFORE seconds ahead, or
 *     MIN_GAP after it was issued for short-lived tokens), from the answer's
 *     expiresIn, for the page's own token from its JWT exp and iat claims;
 *   - when a widget fires rai-error;
 *   - when a widget element (rai-widget, rai-*-widget) appears without a
 *     token and the script has none that is still good (an SPA rendering a
 *     route); with a good one, the new widget gets it at once.
 *
 * and then sets embed-token on every widget and calls
 * window.ReturningAIWidget.reload() when there is one.
 *
 * Bounded: one request at a time, MIN_GAP seconds at least between two, a
 * back-off that doubles on every failure (and honours Retry-After) and on
 * rai-error after rai-error; no reload when the token did not change.  It
 * never throws; a renewal that fails says why in console.warn.
 *
 * This file is built into the module (rai_refresh_js.h, made by
 * scripts/js2h.sh): edit it here, then run make.
 */
(function () {
    "use strict";

    var PREFIX = "mod_rai_embed: ";
    var RENEW_BEFORE = 60;      /* s: renew this long before the token expires */
    var MIN_GAP = 5;            /* s: between two requests, at least */
    var MAX_BACKOFF = 600;      /* s: the longest wait after failures */
    var ERROR_QUIET = 300;      /* s: rai-error after this long starts afresh */
    var MAX_TOKEN = 8192;
    var TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
    var WIDGET_NAME = /^rai-(?:[a-z0-9_.-]+-)?widget$/;

    function warn(message) {
        try {
            if (window.console && console.warn) {
                console.warn(PREFIX + message);
            }
        } catch (e) { /* nothing to do */ }
    }

    function now() {
        return Date.now();
    }

    var script = document.currentScript;
    var endpoint = script && script.getAttribute("data-endpoint");

    if (window.__raiEmbedRefresh) {
        return;                 /* one copy per page */
    }
    if (!endpoint) {
        warn("no data-endpoint on the script element: tokens are not renewed");
        return;
    }
    window.__raiEmbedRefresh = 1;

    var state = {
        token: "",              /* the newest token the widgets were given */
        expires: 0,             /* when it runs out, ms on this clock; 0: unknown */
        lifetime: 0,            /* its lifetime, ms */
        busy: false,            /* a request is under way */
        last: 0,                /* when the last request started */
        earliest: 0,            /* no request before this (gap, back-off) */
        failures: 0,
        errors: 0,              /* rai-error renewals in a row */
        lastError: 0,
        pending: false,         /* a renewal waits for "earliest" */
        timer: null
    };

    /* The endpoint's URL on this page's origin, without user information: a
     * page loaded as http://user:pass@host/ resolves relative URLs to ones
     * that carry it, and fetch() refuses those. */
    function endpointURL() {
        try {
            return new URL(endpoint, location.origin).href;
        } catch (e) {
            return endpoint;
        }
    }

    function isWidget(node) {
        return node && node.nodeType === 1 && node.localName
            && WIDGET_NAME.test(node.localName);
    }

    /* Every widget in the document: the elements by name and any element
     * that already carries an embed-token. */
    function widgets() {
        var found = [], all, i;
        try {
            all = document.getElementsByTagName("*");
            for (i = 0; i < all.length; i++) {
                if (isWidget(all[i]) || all[i].hasAttribute("embed-token")) {
                    found.push(all[i]);
                }
            }
        } catch (e) { /* what was found so far */ }
        return found;
    }

    function widgetsIn(node, out) {
        var list, i;
        if (!node || node.nodeType !== 1) {
            return;
        }
        if (isWidget(node)) {
            out.push(node);
        }
        try {
            list = node.getElementsByTagName("*");
            for (i = 0; i < list.length; i++) {
                if (isWidget(list[i])) {
                    out.push(list[i]);
                }
            }
        } catch (e) { /* nothing to do */ }
    }

    function base64url(text) {
        var s = text.replace(/-/g, "+").replace(/_/g, "/");
        while (s.length % 4) {
            s += "=";
        }
        return atob(s);
    }

    /* The claims of a compact JWS, or null. */
    function claims(token) {
        try {
            var parts = token.split(".");
            var c = JSON.parse(base64url(parts[1]));
            return c && typeof c === "object" ? c : null;
        } catch (e) {
            return null;
        }
    }

    function goodShape(token) {
        return typeof token === "string" && token.length <= MAX_TOKEN
            && TOKEN_SHAPE.test(token);
    }

    /* Remember token as the current one; seconds is its lifetime left as the
     * endpoint said (expiresIn), or null to take it from the JWT. */
    function adopt(token, seconds) {
        var c, t = now(), left = null, life = null;
        if (typeof seconds === "number" && isFinite(seconds) && seconds >= 0) {
            left = seconds * 1000;
        }
        c = claims(token);
        if (c && typeof c.exp === "number") {
            if (typeof c.iat === "number" && c.exp > c.iat) {
                life = (c.exp - c.iat) * 1000;
            }
            if (left === null) {
                /* exp is on the server's clock: never trust it beyond the
                 * token's whole lifetime (this clock is slow), and an exp in
                 * the past (this clock is fast) only means: renew now */
                left = c.exp * 1000 - t;
                if (life !== null && left > life) {
                    left = life;
                }
                if (left < 0) {
                    left = 0;
                }
            }
        }
        if (left === null) {
            left = 900000;      /* the API's default lifetime */
        }
        state.token = token;
        state.expires = t + left;
        state.lifetime = life !== null ? life : Math.max(left, 1);
    }

    /* When to renew: RENEW_BEFORE ahead of expiry (a cached token with less
     * than that left is never handed out again, so the answer is a new one);
     * a token that lives less than that is renewed MIN_GAP after it was
     * issued, or half-way. */
    function renewAt() {
        var life = state.lifetime, margin;
        margin = Math.min(RENEW_BEFORE * 1000,
                          Math.max(life - MIN_GAP * 1000, life / 2));
        return state.expires - margin;
    }

    function stillGood() {
        return state.token && state.expires && now() < renewAt();
    }

    function schedule(at) {
        if (state.timer) {
            clearTimeout(state.timer);
        }
        var delay = Math.max(0, at - now());
        /* setTimeout's limit; a longer wait is a check after that */
        state.timer = setTimeout(tick, Math.min(delay, 2147483000));
    }

    function tick() {
        state.timer = null;
        try {
            if (state.pending || (state.expires && now() >= renewAt())) {
                state.pending = false;
                renew("expiry");
            } else if (state.expires) {
                schedule(renewAt());
            }
        } catch (e) {
            warn("unexpected " + describe(e));
        }
    }

    function describe(e) {
        if (e && e.name) {
            return e.name + (e.message ? ": " + e.message : "");
        }
        return String(e);
    }

    var reloadAt = 0, reloadTimer = null;

    /* Give every widget token; reload them when any changed.  At most one
     * reload a second, however often widgets come. */
    function distribute(token) {
        var list = widgets(), changed = 0, i;
        for (i = 0; i < list.length; i++) {
            try {
                if (list[i].getAttribute("embed-token") !== token) {
                    list[i].setAttribute("embed-token", token);
                    changed++;
                }
            } catch (e) { /* nothing to do */ }
        }
        if (changed) {
            reload();
        }
        return changed;
    }

    function reload() {
        var wait = reloadAt + 1000 - now();
        if (reloadTimer) {
            return;
        }
        if (wait > 0) {
            reloadTimer = setTimeout(function () {
                reloadTimer = null;
                reload();
            }, wait);
            return;
        }
        reloadAt = now();
        try {
            var sdk = window.ReturningAIWidget;
            if (sdk && typeof sdk.reload === "function") {
                sdk.reload();
            }
        } catch (e) {
            warn("ReturningAIWidget.reload() failed: " + describe(e));
        }
    }

    function failed(reason, retryAfter) {
        var wait;
        state.failures++;
        wait = Math.min(MAX_BACKOFF, MIN_GAP * Math.pow(2, state.failures - 1));
        if (retryAfter && retryAfter > wait) {
            wait = Math.min(retryAfter, MAX_BACKOFF * 6);
        }
        state.earliest = Math.max(state.earliest, now() + wait * 1000);
        warn("token renewal failed: " + reason + "; next try in " + wait + " s at the earliest");
        /* the page's token is still running out: try again then */
        if (state.expires) {
            schedule(Math.max(state.earliest, renewAt()));
        }
    }

    /* Ask the endpoint for a token (why: "expiry", "rai-error", "widget"). */
    function renew(why) {
        var t = now(), gap;
        if (state.busy) {
            state.pending = true;
            return;
        }
        if (why === "rai-error") {
            if (t - state.lastError > ERROR_QUIET * 1000) {
                state.errors = 0;
            }
            state.lastError = t;
            /* rai-error after rai-error: each waits twice as long */
            gap = Math.min(MAX_BACKOFF, MIN_GAP * Math.pow(2, state.errors));
            if (state.last && t < state.last + gap * 1000) {
                return;         /* a renewal was just made: that was it */
            }
            state.errors++;
        }
        if (t < state.earliest || (state.last && t < state.last + MIN_GAP * 1000)) {
            if (!state.pending) {
                state.pending = true;
                schedule(Math.max(state.earliest, state.last + MIN_GAP * 1000));
            }
            return;
        }
        state.busy = true;
        state.pending = false;
        state.last = t;
        var request;
        try {
            request = fetch(endpointURL(), {
                method: "GET",
                credentials: "same-origin",
                cache: "no-store",
                headers: { "Accept": "application/json" }
            });
        } catch (e) {
            request = Promise.reject(e);
        }
        request.then(function (response) {
            if (!response.ok) {
                var retry = parseInt(response.headers.get("Retry-After"), 10);
                failed("HTTP " + response.status + " from " + endpoint,
                       isFinite(retry) && retry > 0 ? retry : 0);
                return;
            }
            return response.json().then(function (answer) {
                var token = answer && answer.embedToken;
                if (!goodShape(token)) {
                    failed("the answer from " + endpoint + " has no embedToken");
                    return;
                }
                state.failures = 0;
                state.earliest = 0;
                adopt(token, answer.expiresIn);
                distribute(token);
                schedule(Math.max(renewAt(), state.last + MIN_GAP * 1000));
            }, function (e) {
                failed("bad JSON from " + endpoint + " (" + describe(e) + ")");
            });
        }, function (e) {
            failed("network error (" + describe(e) + ")");
        }).then(null, function (e) {
            warn("unexpected " + describe(e));
        }).then(function () {
            state.busy = false;
            if (state.pending) {
                state.pending = false;
                renew("pending");
            }
        });
    }

    /* New widget elements: give them the token, or get one. */
    function added(nodes) {
        var fresh = [], i, need = false;
        for (i = 0; i < nodes.length; i++) {
            widgetsIn(nodes[i], fresh);
        }
        for (i = 0; i < fresh.length; i++) {
            if (!fresh[i].getAttribute("embed-token")) {
                need = true;
            }
        }
        if (!need) {
            return;
        }
        if (stillGood()) {
            distribute(state.token);
        } else {
            renew("widget");
        }
    }

    function observe() {
        if (typeof MutationObserver !== "function") {
            return;
        }
        new MutationObserver(function (records) {
            try {
                var nodes = [], i, j;
                for (i = 0; i < records.length; i++) {
                    for (j = 0; j < records[i].addedNodes.length; j++) {
                        nodes.push(records[i].addedNodes[j]);
                    }
                }
                added(nodes);
            } catch (e) {
                warn("unexpected " + describe(e));
            }
        }).observe(document, { childList: true, subtree: true });
    }

    function start() {
        var list = widgets(), i, token = "", bare = false;
        for (i = 0; i < list.length; i++) {
            var t = list[i].getAttribute("embed-token");
            if (t && !token && goodShape(t)) {
                token = t;
            } else if (!t) {
                bare = true;
            }
        }
        if (token) {
            adopt(token, null);
            schedule(renewAt());
            if (bare) {
                distribute(token);
            }
        } else if (bare) {
            renew("widget");
        }
        document.addEventListener("rai-error", function () {
            try {
                renew("rai-error");
            } catch (e) {
                warn("unexpected " + describe(e));
            }
        }, true);
        /* timers stop in a sleeping laptop or a frozen tab: look again */
        document.addEventListener("visibilitychange", function () {
            try {
                if (!document.hidden && state.expires && now() >= renewAt()) {
                    renew("expiry");
                }
            } catch (e) { /* nothing to do */ }
        });
        observe();
    }

    try {
        start();
    } catch (e) {
        warn("unexpected " + describe(e));
    }
}());
