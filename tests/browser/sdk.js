/* A stand-in for the Returning.AI widget SDK, for the browser tests
 * (tests/integration/test_browser.py): custom elements for the widget names
 * that record every change of their embed-token, show who the token names,
 * fire rai-error on command (el.fail()), and window.ReturningAIWidget.reload()
 * that counts its calls.  window.__sdk holds what happened, and the
 * console.warn messages and CSP violations of the page. */
(function () {
    "use strict";
    var log = window.__sdk = {changes: [], reloads: 0, warnings: [], violations: []};
    var warn = console.warn;
    console.warn = function () {
        log.warnings.push(Array.prototype.join.call(arguments, " "));
        return warn.apply(console, arguments);
    };
    document.addEventListener("securitypolicyviolation", function (e) {
        log.violations.push(e.violatedDirective + " " + e.blockedURI);
    });

    function claims(token) {
        try {
            var p = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
            while (p.length % 4) { p += "="; }
            return JSON.parse(atob(p));
        } catch (e) {
            return null;
        }
    }

    class Widget extends HTMLElement {
        static get observedAttributes() { return ["embed-token"]; }
        connectedCallback() { this.render(); }
        attributeChangedCallback(name, old, value) {
            log.changes.push({element: this.localName, old: old, value: value,
                              at: Date.now()});
            this.render();
        }
        /* what a widget does when the API refuses its token */
        fail() {
            this.dispatchEvent(new CustomEvent("rai-error", {bubbles: false}));
        }
        render() {
            var token = this.getAttribute("embed-token"), c = token && claims(token);
            var who = this.getAttribute("data-customer-id");
            var text = this.localName + ": ";
            if (c) {
                if (this.firstToken === undefined) {
                    this.firstToken = c.n;
                }
                text += "signed in as " + c.sub + ", token #" + c.n + ", expires in "
                    + Math.round(c.exp - Date.now() / 1000) + " s";
                if (c.n !== this.firstToken) {
                    text += ", renewed (the page came with #" + this.firstToken + ")";
                }
            } else if (who) {
                text += "Attribute Auth, data-customer-id=" + who;
            } else {
                text += "signed out (no token)";
            }
            this.textContent = text + " (reloads: " + log.reloads + ")";
        }
    }
    ["rai-widget", "rai-store-widget", "rai-channel-widget", "rai-milestone-widget",
     "rai-currency-widget"].forEach(function (name) {
        customElements.define(name, class extends Widget {});
    });
    window.ReturningAIWidget = {
        reload: function () {
            log.reloads++;
            document.querySelectorAll("[embed-token]").forEach(function (w) {
                if (w.render) { w.render(); }
            });
        }
    };
}());
