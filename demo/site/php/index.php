<?php
// mod_rai_embed demo: the page itself names its user.
//
// There is no login here: the identity comes from ?user=..., defaulting to "guest-php".
// (A real application would use its own session.)  The script passes it to httpd as the
// request note "rai-user"; the demo's httpd.conf says, for this directory,
//
//     RaiEmbedIdentifier data-customer-id note:rai-user
//
// mod_rai_embed reads the note when it meets the first widget of the response, so
// setting it anywhere before the widget is printed is enough.  No token code in PHP.
$user = isset($_GET['user']) ? (string) $_GET['user'] : 'guest-php';
apache_note('rai-user', $user);

function h($s)
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}
?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mod_rai_embed demo: PHP</title>
<link rel="stylesheet" href="/assets/demo.css">
<!-- A real site also loads the widget script that Returning.AI gives it here. -->
</head>
<body>
<h1>mod_rai_embed demo: PHP</h1>

<p class="explain">
This page is <code>demo/site/php/index.php</code>. It sets the request note
<code>rai-user</code> with <code>apache_note()</code> and prints a widget element; the
module turns the note into the token's <code>data-customer-id</code>.
</p>

<p>Identity of this request: <strong><code><?= $user === '' ? '(empty)' : h($user) ?></code></strong></p>

<form method="get" action="">
  <label>user <input name="user" value="<?= h($user) ?>"></label>
  <button type="submit">reload as this user</button>
</form>
<p class="explain">
Try <a href="?user=carol">carol</a>, <a href="?user=dave%40example.com">dave@example.com</a>,
or <a href="?user=">an empty name</a> (an anonymous request: no token is fetched and the
widget stays as it is, in its signed-out state).
</p>

<rai-store-widget community-id="demo-community" class="demo-widget">
  Store widget for <code><?= h($user) ?></code>
</rai-store-widget>

<h2>The token, decoded in your browser</h2>
<pre id="rai-claims">(needs JavaScript)</pre>

<p><a href="/">Back to the static page</a> (Basic auth).</p>
<script src="/assets/demo.js"></script>
</body>
</html>
