<?php
// The PHP twin of identity_app.py for mod_rai_embed's header:NAME tests, run by
// php-fpm behind mod_proxy_fcgi: ?u=VALUE names the user in X-Rai-Customer-Id,
// ?kind= picks the response (page, flush, nowidget, json, missing, redirect, etag).
$widgets = "<html><body>\n<rai-store-widget community-id=\"c1\"></rai-store-widget>\n"
         . "<p>text</p><rai-widget></rai-widget>\n</body></html>\n";
if (isset($_GET['u'])) {
    header('X-Rai-Customer-Id: ' . $_GET['u']);
}
switch ($_GET['kind'] ?? 'page') {
case 'flush':
    // The start of the page leaves before the widget exists.
    echo "<html><body><p>before the widget</p>\n", str_repeat(' ', 9000), "\n";
    while (ob_get_level()) { ob_end_flush(); }
    flush();
    usleep(300000);
    echo $widgets;
    break;
case 'nowidget':
    echo "<html><body><p>no widget here</p></body></html>\n";
    break;
case 'json':
    header('Content-Type: application/json');
    echo json_encode(['user' => $_GET['u'] ?? null]), "\n";
    break;
case 'missing':
    http_response_code(404);
    echo $widgets;
    break;
case 'redirect':
    header('Location: /app.php?kind=page');
    echo "<p>moved</p>\n";
    break;
case 'etag':
    // httpd answers If-None-Match: "v1" with a 304 itself (not for HTML it may
    // rewrite: there RAI_EMBED turns 304s from validators off)
    header('Content-Type: application/json');
    header('ETag: "v1"');
    echo "{}\n";
    break;
case 'notmodified':
    // the script's own 304
    http_response_code(304);
    break;
default:
    echo $widgets;
}
